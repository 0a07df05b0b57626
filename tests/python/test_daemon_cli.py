"""The daemon binary's command line, config file and environment, and the
ways the Python package finds a daemon (address, TENSORD_ADDR, embedded)."""
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import DaemonProcess, daemon_binary


def run(*args, env=None, timeout=30):
    return subprocess.run([daemon_binary(), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLIENT = r"""
import sys, tensord as torch
if len(sys.argv) > 1:
    torch.connect(sys.argv[1])
print((torch.ones(3) * 4).tolist(), torch.daemon_info()["session_id"][:4])
"""


def client(*args, env_extra=None, drop_addr=False):
    env = dict(os.environ, **(env_extra or {}))
    if drop_addr:
        env.pop("TENSORD_ADDR", None)
    return subprocess.run([sys.executable, "-c", CLIENT, *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tempfile.gettempdir())


def test_version_and_help():
    v = run("--version")
    assert v.returncode == 0 and v.stdout.strip() == "tensord 0.1.0"
    h = run("--help")
    assert h.returncode == 0
    for flag in ("--listen", "--config", "--threads", "--log-level", "TENSORD_LISTEN",
                 "--metrics-listen", "TENSORD_METRICS_LISTEN"):
        assert flag in h.stdout


def test_bad_flags_config_and_environment_fail_clearly():
    assert run("--no-such-flag").returncode != 0
    bad = run("--log-level", "verbose")
    assert bad.returncode == 2 and "unknown log level 'verbose'" in bad.stderr
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write("limits: [not, a, map]\n")
        f.flush()
        r = run("--config", f.name)
        assert r.returncode == 2 and f.name in r.stderr
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write("thread: 2\n")  # a misspelt key is an error, not ignored
        f.flush()
        r = run("--config", f.name)
        assert r.returncode == 2 and "unknown setting 'thread'" in r.stderr
    r = run(env=dict(os.environ, TENSORD_THREADS="many"))
    assert r.returncode == 2 and "TENSORD_THREADS" in r.stderr


def test_listens_on_several_addresses_and_env_overrides_config():
    port = free_port()
    d = DaemonProcess("--listen", f"127.0.0.1:{port}")  # plus its unix socket
    try:
        for address in (d.address, f"127.0.0.1:{port}"):
            out = client(address)
            assert out.returncode == 0, out.stderr
            assert out.stdout.startswith("[4.0, 4.0, 4.0]")
    finally:
        assert d.stop() == 0
    # TENSORD_LISTEN wins over the config file's listen.
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "env.sock")
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(f"listen: unix:{tmp}/config.sock\n")
        p = subprocess.Popen([daemon_binary(), "--config", str(cfg)],
                             env=dict(os.environ, TENSORD_LISTEN=f"unix:{sock}"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)
            assert os.path.exists(sock) and not os.path.exists(f"{tmp}/config.sock")
            assert client(f"unix:{sock}").returncode == 0
        finally:
            p.terminate()
            assert p.wait(timeout=30) == 0


def test_tensord_addr_selects_the_daemon(daemon):
    out = client(env_extra={"TENSORD_ADDR": daemon.address})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("[4.0, 4.0, 4.0]")


def test_embedded_daemon_starts_and_stops_with_the_program():
    before = set(os.listdir(tempfile.gettempdir()))
    out = client(drop_addr=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("[4.0, 4.0, 4.0]")
    left = {n for n in set(os.listdir(tempfile.gettempdir())) - before if n.startswith("tensord-")}
    assert not left, f"embedded daemon left {left}"


def test_unreachable_address_raises_runtime_error():
    out = client("unix:/nonexistent/tensord.sock", env_extra={})
    assert out.returncode != 0
    assert "RuntimeError" in out.stderr and "cannot reach a tensord daemon" in out.stderr
