"""`python -m tensord.run_as_torch`: unmodified torch code runs on tensord.

Each test runs the launcher as a real subprocess against the test daemon (or
an embedded one), with a small script written to a temporary folder.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest


def launch(tmp_path: Path, source: str, *launcher_args: str, env: dict[str, str] | None = None,
           script_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "tensord.run_as_torch", *launcher_args, str(script), *script_args],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def daemon_env(daemon: Any) -> dict[str, str]:
    return {**os.environ, "TENSORD_ADDR": daemon.address}


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_torch_and_its_submodules_are_tensords(tmp_path: Path, daemon: Any) -> None:
    out = ok(launch(tmp_path, """
        import sys
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torch.optim
        from torch.utils.data import DataLoader
        from torch.nn.modules.linear import Linear
        import tensord
        print(torch is tensord, nn is tensord.nn, F is tensord.nn.functional,
              DataLoader is tensord.utils.data.DataLoader, Linear is tensord.nn.Linear)
        print(sys.modules["torch.optim"] is tensord.optim, tensord.nn.__spec__.name)
        print(F.relu(torch.tensor([-1.0, 2.0])).tolist(), sys.argv[1:])
    """, env=daemon_env(daemon), script_args=("--flag", "x")))
    assert out.splitlines() == ["True True True True True", "True tensord.nn",
                                "[0.0, 2.0] ['--flag', 'x']"]


def test_a_submodule_tensord_lacks_raises_import_error_naming_it(tmp_path: Path,
                                                                 daemon: Any) -> None:
    out = ok(launch(tmp_path, """
        try:
            import torch.no_such_submodule
        except ImportError as e:
            print(type(e).__name__, e.name)
            print(e)
    """, env=daemon_env(daemon)))
    kind, message = out.splitlines()
    assert kind == "ModuleNotFoundError torch.no_such_submodule"
    assert "No module named 'torch.no_such_submodule'" in message
    assert "tensord has no tensord.no_such_submodule module" in message


def test_unpickling_torch_names_finds_tensords_classes(tmp_path: Path, daemon: Any) -> None:
    # A protocol-0 pickle as PyTorch would write the references: by module path.
    out = ok(launch(tmp_path, r"""
        import pickle
        import tensord
        layer = pickle.loads(b"ctorch.nn.modules.linear\nLinear\n.")
        relu = pickle.loads(b"ctorch.nn.functional\nrelu\n.")
        print(layer is tensord.nn.Linear, relu is tensord.nn.functional.relu)
    """, env=daemon_env(daemon)))
    assert out.split() == ["True", "True"]


CHILD_PROCESSES = """
    import multiprocessing as mp
    import subprocess
    import sys

    def child(queue):
        import torch
        import torch.nn as nn
        queue.put((torch.__name__, nn.Linear.__module__, torch.ones(3).sum().item()))

    if __name__ == "__main__":
        for method in ("spawn", "forkserver"):
            ctx = mp.get_context(method)
            queue = ctx.Queue()
            p = ctx.Process(target=child, args=(queue,))
            p.start()
            print(method, *queue.get(timeout=60))
            p.join()
            assert p.exitcode == 0
        plain = subprocess.run([sys.executable, "-c", "import torch; print(torch.__name__)"],
                               capture_output=True, text=True, check=True)
        print("subprocess", plain.stdout.strip())
"""


def test_spawned_and_forkserver_children_see_tensord_as_torch(tmp_path: Path,
                                                              daemon: Any) -> None:
    out = ok(launch(tmp_path, CHILD_PROCESSES, env=daemon_env(daemon)))
    assert out.splitlines() == ["spawn tensord tensord.nn.modules.linear 3.0",
                                "forkserver tensord tensord.nn.modules.linear 3.0",
                                "subprocess tensord"]


def test_module_mode_runs_a_module_as_main(tmp_path: Path, daemon: Any) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text(textwrap.dedent("""
        import sys
        import torch
        if __name__ == "__main__":
            print(torch.__name__, torch.arange(4).sum().item(), sys.argv[1:])
    """))
    done = subprocess.run([sys.executable, "-m", "tensord.run_as_torch", "-m", "pkg.train", "a"],
                          env=daemon_env(daemon), cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert ok(done).split() == ["tensord", "6", "['a']"]


def test_address_and_token_flags_reach_the_program_and_its_children(tmp_path: Path,
                                                                    daemon: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TENSORD_ADDR", "TENSORD_TOKEN")}
    out = ok(launch(tmp_path, """
        import os
        import torch
        print(os.environ["TENSORD_ADDR"], os.environ["TENSORD_TOKEN"], torch.ones(2).sum().item())
    """, "--address", daemon.address, "--token=not-checked-here", env=env))
    assert out.split() == [daemon.address, "not-checked-here", "2.0"]
    done = launch(tmp_path, "import torch\nprint(torch.ones(1).item())\n",
                  "--address", "unix:" + str(tmp_path / "nobody.sock"), env=env)
    assert done.returncode != 0
    assert "nobody.sock" in done.stderr


def test_without_an_address_one_embedded_daemon_serves_the_program_and_children(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TENSORD_ADDR"}
    env["TENSORD_HOME"] = str(tmp_path / "home")
    out = ok(launch(tmp_path, """
        import multiprocessing as mp
        import os
        import torch

        def child(queue):
            import torch
            queue.put((os.environ["TENSORD_ADDR"], torch.__name__, torch.ones(2).sum().item()))

        if __name__ == "__main__":
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            p = ctx.Process(target=child, args=(queue,))
            p.start()
            child_address, name, total = queue.get(timeout=60)
            p.join()
            print(os.environ["TENSORD_ADDR"] == child_address, name, total)
            print(os.environ["TENSORD_ADDR"])
    """, env=env))
    same, address = out.splitlines()
    assert same == "True tensord 2.0"
    assert address.startswith("unix:" + str(tmp_path / "home"))
    assert not list((tmp_path / "home").iterdir()), "the embedded daemon's folder was left behind"


@pytest.mark.parametrize("args, message", [
    ([], "no script or -m MODULE given"),
    (["-m"], "-m needs a module name"),
    (["--address"], "--address needs a value"),
    (["--bogus", "x.py"], "unknown option --bogus"),
    (["missing.py"], "can't open file 'missing.py'"),
])
def test_bad_command_lines_exit_2_with_a_message(tmp_path: Path, args: list[str],
                                                 message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tensord.run_as_torch", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr


def test_the_programs_exit_status_and_exceptions_pass_through(tmp_path: Path,
                                                               daemon: Any) -> None:
    done = launch(tmp_path, "import sys\nsys.exit(7)\n", env=daemon_env(daemon))
    assert done.returncode == 7
    done = launch(tmp_path, "import torch\ntorch.ones(2, 3) @ torch.ones(2, 3)\n",
                  env=daemon_env(daemon))
    assert done.returncode == 1
    assert "RuntimeError" in done.stderr and "prog.py" in done.stderr


def test_the_alias_refuses_a_process_that_already_imported_the_real_torch(ref: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import torch\nfrom tensord import _torch_alias\n"
                               "_torch_alias.install()"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "RuntimeError: run_as_torch: the real torch is already imported" in done.stderr
