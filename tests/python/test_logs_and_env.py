"""The daemon's logs (text, JSON lines, session and tenant fields, the slow-op
log), its thread count from OMP_NUM_THREADS, and the client's environment
surfaces: `python -m tensord.utils.collect_env` and TENSORD_HOME."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import DaemonProcess, daemon_binary

CLIENT = r"""
import sys, tensord as torch
torch.connect(sys.argv[1])
a = torch.full((1024, 1024), 1234.5)
b = a @ a  # the slow op
print(torch.daemon_info()["session_id"], b[0, 0].item())
"""
MATMUL_LINE = 5  # the line of `a @ a` in CLIENT


def run_client(tmp_path: Path, address: str) -> tuple[str, Path]:
    """Runs CLIENT from a file; returns its session id and the file."""
    script = tmp_path / "slow_client.py"
    script.write_text(CLIENT)
    out = subprocess.run([sys.executable, str(script), address], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[0], script


def stopped_log(d: DaemonProcess) -> str:
    assert d.stop() == 0
    return d.log()


def json_lines(log: str) -> list[dict]:
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # every line must parse


def test_text_logs_are_the_default_and_name_the_session_and_tenant(tmp_path):
    d = DaemonProcess()
    session, _ = run_client(tmp_path, d.address)
    log = stopped_log(d)
    assert not any(line.startswith("{") for line in log.splitlines())
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info tensord: tensord \S+ ready: ",
                     log, re.M), log
    opened = [line for line in log.splitlines() if "session opened by" in line]
    assert len(opened) == 1, log
    assert opened[0].endswith(f" session={session[:8]} tenant=default"), opened[0]
    assert session not in log, "only the id's first 8 characters are logged"


def test_json_lines_parse_and_carry_session_and_tenant_fields(tmp_path):
    d = DaemonProcess("--log-format", "json")
    session, _ = run_client(tmp_path, d.address)
    records = json_lines(stopped_log(d))
    for r in records:
        assert {"ts", "level", "msg"} <= set(r), r
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["ts"]), r
    assert any(r["msg"].startswith("tensord ") and "ready" in r["msg"] for r in records)
    about_session = [r for r in records
                     if "session opened" in r["msg"] or r["msg"] == "session closed"]
    assert len(about_session) == 2, records
    for r in about_session:
        assert r["session"] == session[:8] and r["tenant"] == "default", r
    assert any(r["msg"].startswith("signal 15: draining") for r in records)


def test_log_format_comes_from_config_and_environment_and_is_checked(tmp_path):
    d = DaemonProcess(config="log_format: json\n")
    assert json_lines(stopped_log(d))
    bad = subprocess.run([daemon_binary(), "--log-format", "xml"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 2 and "unknown log format 'xml' (text, json)" in bad.stderr
    env = dict(os.environ, TENSORD_LOG_FORMAT="yaml")
    bad = subprocess.run([daemon_binary()], capture_output=True, text=True, timeout=30, env=env)
    assert bad.returncode == 2 and "unknown log format 'yaml'" in bad.stderr


def test_slow_op_is_logged_once_with_op_device_time_session_and_location(tmp_path):
    d = DaemonProcess("--log-format", "json", config="slow_op_ms: 1\n")
    session, script = run_client(tmp_path, d.address)
    log = stopped_log(d)
    slow = [r for r in json_lines(log) if r["msg"].startswith("slow op")]
    matmuls = [r for r in slow if r["op"] == "matmul"]
    assert len(matmuls) == 1, slow  # one 1024x1024 matmul: tens of ms
    r = matmuls[0]
    assert r["level"] == "warning"
    assert r["device"] == "cpu" and isinstance(r["ms"], float) and r["ms"] > 1
    assert r["session"] == session[:8] and r["tenant"] == "default"
    assert r["location"] == f"{script}:{MATMUL_LINE}", r
    assert "1234.5" not in log, "tensor contents are never logged"


def test_slow_op_log_is_off_at_zero_and_plain_in_text_format(tmp_path):
    d = DaemonProcess(config="slow_op_ms: 0\n")
    run_client(tmp_path, d.address)
    assert "slow op" not in stopped_log(d)
    d = DaemonProcess(config="slow_op_ms: 1\n")
    session, script = run_client(tmp_path, d.address)
    lines = [line for line in stopped_log(d).splitlines() if "op=matmul" in line]
    assert len(lines) == 1 and " warning tensord: slow op " in lines[0], lines
    assert f"session={session[:8]} tenant=default" in lines[0]
    assert "device=cpu ms=" in lines[0] and lines[0].endswith(f"location={script}:{MATMUL_LINE}")


def start_daemon_for_log(tmp_path: Path, *args: str, env: dict) -> str:
    """Starts a daemon with exactly `args` (DaemonProcess pins --threads), returns its log."""
    sock = tmp_path / "t.sock"
    log_path = tmp_path / "t.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([daemon_binary(), "--listen", f"unix:{sock}", *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while "ready" not in log_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return log_path.read_text()


def test_omp_num_threads_sizes_the_compute_threads_when_threads_is_0(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="3")
    env.pop("TENSORD_THREADS", None)
    log = start_daemon_for_log(tmp_path, env=env)
    assert "ready: 3 compute threads (from OMP_NUM_THREADS)" in log, log
    log = start_daemon_for_log(tmp_path, "--threads", "1", env=env)
    assert "ready: 1 compute threads (from threads setting)" in log, log


def collect_env(env_extra: dict, drop: tuple = ()) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    for name in drop:
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "tensord.utils.collect_env"], capture_output=True,
                          text=True, timeout=60, env=env, cwd=tempfile.gettempdir())


def test_collect_env_reports_client_daemon_and_environment(daemon):
    import tensord
    info = tensord.daemon_info()
    out = collect_env({"TENSORD_ADDR": daemon.address, "TENSORD_TOKEN": "never-print-me",
                       "OMP_NUM_THREADS": "2"}, drop=("TENSORD_LOG_LEVEL",))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for expected in (f"tensord client version: {tensord.__version__}",
                     f"Python version: {sys.version.split()[0]}",
                     "NumPy version: ", "OS: ",
                     f"Daemon: {daemon.address}", "Daemon reachable: yes",
                     f"Daemon version: {info['daemon_version']}",
                     f"Protocol version: {info['protocol']}",
                     f"Op schema version: {info['op_schema_version']} ({info['op_count']} ops)",
                     "  cpu: cpu (", "float32, ", "CUDA backend library: ",
                     f"TENSORD_ADDR={daemon.address}", "TENSORD_TOKEN=(set)",
                     "TENSORD_LOG_LEVEL=(unset)", "OMP_NUM_THREADS=2", "CUDA_VISIBLE_DEVICES=",
                     "TENSORD_HOME="):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    assert "never-print-me" not in text
    assert re.fullmatch(r"\d+\.\d+", info["protocol"]) and info["op_count"] > 100


def test_collect_env_says_when_no_daemon_is_reachable(tmp_path):
    start = time.monotonic()
    out = collect_env({"TENSORD_ADDR": f"unix:{tmp_path}/nobody.sock"})
    assert out.returncode == 0, out.stderr
    assert "Daemon reachable: no (" in out.stdout and "Python version: " in out.stdout, out.stdout
    assert "Daemon version" not in out.stdout
    assert time.monotonic() - start < 45


EMBEDDED_CLIENT = r"""
import json, os, tensord as torch
assert (torch.ones(2) + 1).tolist() == [2.0, 2.0]
home = os.environ["TENSORD_HOME"]
folders = os.listdir(home)
print(json.dumps([folders, sorted(os.listdir(os.path.join(home, folders[0])))]))
"""


def test_embedded_daemon_runs_in_tensord_home_and_cleans_up(tmp_path):
    home = tmp_path / "home"
    env = dict(os.environ, TENSORD_HOME=str(home))
    env.pop("TENSORD_ADDR", None)
    out = subprocess.run([sys.executable, "-c", EMBEDDED_CLIENT], capture_output=True, text=True,
                         timeout=120, env=env, cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr
    folders, files = json.loads(out.stdout)
    assert len(folders) == 1 and folders[0].startswith("embedded-"), folders
    assert files == ["daemon.log", "daemon.sock"]
    assert list(home.iterdir()) == [], "the embedded daemon's folder is removed at exit"
