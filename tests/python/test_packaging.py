"""`pip install ./client-python` builds a working package: the extension, the
embedded daemon binary and the Python sources, importable outside the
source tree (the rest of the suite uses the development layout)."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import os, sys, tensord as torch
assert torch.__file__.startswith(sys.argv[1]), torch.__file__
assert os.path.exists(os.path.join(os.path.dirname(torch.__file__), "bin", "tensord"))
# run_as_torch's start-up hook for child processes ships with the package.
assert os.path.exists(os.path.join(os.path.dirname(torch.__file__), "_as_torch_site",
                                   "sitecustomize.py"))
x = torch.arange(6).view(2, 3) * 2   # no address: the package's embedded daemon
assert x.tolist() == [[0, 2, 4], [6, 8, 10]], x
assert torch.__version__ == "0.1.0"
print("ok", torch.daemon_info()["devices"])
"""


def test_pip_install_builds_a_self_contained_package():
    with tempfile.TemporaryDirectory(prefix="tensord-wheel-") as target:
        # Build dependencies come from the project's venv, so no index is needed.
        build = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
             "--disable-pip-version-check", "--target", target, str(ROOT / "client-python")],
            capture_output=True, text=True, timeout=1500)
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
        env = {k: v for k, v in os.environ.items() if k != "TENSORD_ADDR"}
        env["PYTHONPATH"] = target
        run = subprocess.run([sys.executable, "-c", SCRIPT, target], capture_output=True,
                             text=True, timeout=120, env=env, cwd=tempfile.gettempdir())
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.startswith("ok")
