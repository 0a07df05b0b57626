"""tensordctl, the operator's CLI, run as the built binary against real
daemons: status and sessions show a real Python client's session and its
memory, kill ends it, drain turns new sessions away while an open one keeps
working (and readiness, asked with tensord-health, reports NOT_SERVING),
non-admin tokens are refused, and unreachable daemons and bad usage give the
documented exit codes (docs/operations.md, "tensordctl").

Every test here starts its own daemon: the suite's shared daemon holds the
test process's own session, and drain cannot be undone.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest
from conftest import DaemonProcess, daemon_binary

ADMIN_TOKEN = "ops-0123456789abcdef0123456789abcdef"
USER_TOKEN = "bob-fedcba9876543210fedcba9876543210"

# A client process with one session: it holds a 1000-float tensor (4000
# bytes) and runs a step of work per line on stdin, answering one JSON line.
CLIENT = r"""
import json, sys, tensord as torch
torch.connect(sys.argv[1], token=sys.argv[2] or None)
x = torch.ones(1000)
print(json.dumps({"ready": float(x.sum().item())}), flush=True)
for line in sys.stdin:
    try:
        print(json.dumps({"ok": float((x * 2).sum().item())}), flush=True)
    except Exception as e:
        print(json.dumps({"error": str(e), "type": type(e).__name__}), flush=True)
"""


def ctl_binary() -> str:
    return str(Path(daemon_binary()).with_name("tensordctl"))


def ctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # The caller's TENSORD_* settings must not leak into the command.
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORD_")}
    full_env.update(env or {})
    return subprocess.run([ctl_binary(), *args], capture_output=True, text=True, timeout=60,
                          env=full_env)


def ctl_json(address: str, *args: str, token: str = "") -> dict:
    extra = ["--token", token] if token else []
    r = ctl("--address", address, *extra, "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


class Client:
    """A tensord client in its own process (one connection per process)."""

    def __init__(self, address: str, token: str = "") -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORD_")}
        self.proc = subprocess.Popen([sys.executable, "-c", CLIENT, address, token],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env,
                                     cwd=tempfile.gettempdir())
        self.first = self._answer()

    def _answer(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            assert self.proc.stderr is not None
            raise AssertionError("client ended: " + self.proc.stderr.read()[-3000:])
        return json.loads(line)

    def work(self) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write("work\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the loop ends; exiting closes the session
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def daemon_with_client() -> Iterator[tuple[DaemonProcess, Client]]:
    d = DaemonProcess()
    c = Client(d.address)
    assert c.first == {"ready": 1000.0}
    yield d, c
    c.close()
    d.stop()


@pytest.fixture(scope="module")
def tenant_daemon() -> Iterator[DaemonProcess]:
    dir_ = tempfile.mkdtemp(prefix="tensordctl-")
    path = os.path.join(dir_, "tenants.yaml")
    tenants = {"ops": {"token_sha256": hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest(),
                       "admin": True},
               "bob": {"token_sha256": hashlib.sha256(USER_TOKEN.encode()).hexdigest()}}
    Path(path).write_text(json.dumps({"tenants": tenants}))  # JSON is YAML
    d = DaemonProcess("--tenants", path)
    yield d
    d.stop()
    shutil.rmtree(dir_, ignore_errors=True)


def wait_for(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


# ------------------------------------------------------------ status, sessions


def test_status_json_shows_version_devices_and_the_clients_memory(daemon_with_client) -> None:
    d, _ = daemon_with_client
    status = ctl_json(d.address, "status")
    assert status["address"] == d.address
    version = subprocess.run([daemon_binary(), "--version"], capture_output=True, text=True)
    assert version.stdout.split()[-1] == status["daemon_version"]
    assert status["session_count"] == 1
    assert status["draining"] is False
    assert status["uptime_seconds"] > 0
    assert status["tracked_bytes"] >= 4000
    cpu = status["devices"][0]
    assert cpu["device"] == "cpu" and cpu["total_memory_bytes"] > 0
    assert cpu["in_use_bytes"] == status["tracked_bytes"]  # a CPU-only daemon
    assert cpu["reserved_bytes"] is None  # the CPU has no caching allocator


def test_status_table_is_aligned_and_readable(daemon_with_client) -> None:
    d, _ = daemon_with_client
    r = ctl("--address", d.address, "status")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^state\s+serving$", r.stdout, re.M), r.stdout
    assert re.search(r"^sessions\s+1$", r.stdout, re.M), r.stdout
    lines = r.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("DEVICE"))
    cpu = lines[header + 1]
    assert cpu.startswith("cpu ")
    # Right-aligned columns end where their headers end.
    assert len(cpu) == len(lines[header]), r.stdout
    assert cpu.rstrip().endswith("-")  # no reserved figure for the CPU


def test_sessions_lists_the_python_session_with_memory_ops_and_peer(daemon_with_client) -> None:
    d, client = daemon_with_client
    client.work()
    listing = ctl_json(d.address, "sessions")
    assert listing["address"] == d.address
    [s] = listing["sessions"]
    assert re.fullmatch(r"[0-9a-f]{8}", s["id"]), s
    assert s["tenant"] == "default"
    assert s["memory_bytes"] >= 4000
    assert s["live_tensors"] >= 1
    assert s["ops_executed"] >= 3  # ones, sum, mul, sum
    assert s["client_peer"].startswith("unix:"), s
    assert s["attached"] is True
    assert s["age_seconds"] > 0 and s["ops_per_second"] >= 0
    # The rate covers whole seconds: the ops above show once one has passed.
    rate = wait_for(lambda: ctl_json(d.address, "sessions")["sessions"][0]["ops_per_second"], 5)
    assert rate > 0

    table = ctl("--address", d.address, "sessions")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["ID", "TENANT", "CLIENT", "MEMORY", "TENSORS", "OPS/S", "AGE",
                              "STREAM", "PEER"]
    assert row.split()[:2] == [s["id"], "default"]
    assert "attached" in row and "unix:" in row


def test_global_options_may_follow_the_command_and_tensord_addr_is_the_default(
        daemon_with_client) -> None:
    d, _ = daemon_with_client
    r = ctl("sessions", "--json", env={"TENSORD_ADDR": d.address})
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["sessions"]) == 1


# ------------------------------------------------------------ kill


def test_kill_ends_the_session_and_its_client_sees_why(daemon_with_client) -> None:
    d, client = daemon_with_client
    assert client.work() == {"ok": 2000.0}
    [s] = ctl_json(d.address, "sessions")["sessions"]
    r = ctl("--address", d.address, "kill", s["id"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"killed session {s['id']}"
    answer = client.work()
    assert "killed by an administrator" in answer.get("error", ""), answer
    assert ctl_json(d.address, "sessions")["sessions"] == []
    assert wait_for(lambda: ctl_json(d.address, "status")["tracked_bytes"] == 0)

    again = ctl("--address", d.address, "kill", s["id"])
    assert again.returncode == 1
    assert f"no session {s['id']}" in again.stderr and "NOT_FOUND" in again.stderr, again.stderr
    short = ctl("--address", d.address, "kill", "abc")
    assert short.returncode == 1 and "too short" in short.stderr, short.stderr


# ------------------------------------------------------------ drain


def health(address: str, service: str) -> subprocess.CompletedProcess:
    probe = Path(daemon_binary()).with_name("tensord-health")
    return subprocess.run([str(probe), "--address", address, "--service", service],
                          capture_output=True, text=True, timeout=30)


def test_drain_turns_new_sessions_away_while_the_open_one_keeps_working(
        daemon_with_client) -> None:
    d, client = daemon_with_client
    assert health(d.address, "readiness").returncode == 0
    drained = ctl_json(d.address, "drain")
    assert drained == {"draining": True, "already_draining": False, "open_sessions": 1}
    ready = health(d.address, "readiness")
    assert ready.returncode == 4 and "NOT_SERVING" in ready.stderr, ready
    assert health(d.address, "liveness").returncode == 0
    assert ctl_json(d.address, "status")["draining"] is True

    with pytest.raises(AssertionError, match="daemon is draining"):
        Client(d.address)
    assert client.work() == {"ok": 2000.0}

    again = ctl("--address", d.address, "drain")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("already draining"), again.stdout
    assert "1 session(s) open" in again.stdout

    # --wait gives up while the client keeps its session open...
    waited = ctl("--address", d.address, "--json", "drain", "--wait", "0.5")
    assert waited.returncode == 3, waited.stderr
    assert json.loads(waited.stdout)["timed_out"] is True
    # ...and returns once the client has closed it.
    client.close()
    done = ctl("--address", d.address, "drain", "--wait", "20")
    assert done.returncode == 0, done.stderr
    assert "0 session(s) open: safe to stop the daemon" in done.stdout
    assert d.proc.poll() is None, "drain must not stop the daemon"


# ------------------------------------------------------------ tokens


def test_only_an_admin_token_may_use_it(tenant_daemon: DaemonProcess) -> None:
    d = tenant_daemon
    denied = ctl("--address", d.address, "--token", USER_TOKEN, "status")
    assert denied.returncode == 1
    assert "permission denied" in denied.stderr and "'bob' is not an admin" in denied.stderr
    for command in (["sessions"], ["drain"], ["kill", "0123456789abcdef"]):
        r = ctl("--address", d.address, "--token", USER_TOKEN, *command)
        assert r.returncode == 1 and "not an admin" in r.stderr, (command, r.stderr)
    missing = ctl("--address", d.address, "status")
    assert missing.returncode == 1 and "--token" in missing.stderr, missing.stderr
    ok = ctl("--address", d.address, "--json", "status", env={"TENSORD_TOKEN": ADMIN_TOKEN})
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["draining"] is False  # bob's drain was refused


def test_a_non_admin_client_session_is_listed_under_its_tenant(tenant_daemon: DaemonProcess) -> None:
    client = Client(tenant_daemon.address, USER_TOKEN)
    try:
        sessions = ctl_json(tenant_daemon.address, "sessions", token=ADMIN_TOKEN)["sessions"]
        assert [s["tenant"] for s in sessions] == ["bob"]
    finally:
        client.close()


# ------------------------------------------------------------ errors, version


def test_unreachable_daemon_is_named_with_exit_code_2() -> None:
    missing = os.path.join(tempfile.gettempdir(), "tensordctl-no-daemon-here.sock")
    r = ctl("--address", "unix:" + missing, "status")
    assert r.returncode == 2
    assert f"cannot reach a tensord daemon at unix:{missing}" in r.stderr, r.stderr
    v = ctl("--address", "unix:" + missing, "version")
    assert v.returncode == 2
    assert v.stdout.startswith("tensordctl "), v.stdout  # its own version still prints


def test_version_shows_client_and_daemon(daemon_with_client) -> None:
    d, _ = daemon_with_client
    v = ctl_json(d.address, "version")
    assert v["client_version"] == v["daemon_version"]
    assert v["protocol"].startswith("1.")
    human = ctl("--address", d.address, "version")
    assert human.returncode == 0, human.stderr
    assert human.stdout.splitlines()[0] == "tensordctl " + v["client_version"]


@pytest.mark.parametrize("args,words", [
    ([], ["a command is required", "Usage"]),
    (["reboot"], ["was not expected: reboot", "Usage"]),
    (["kill"], ["SESSION is required"]),
    (["drain", "--wait", "-1"], ["--wait"]),
    (["--timeout", "0", "status"], ["--timeout"]),
    (["--timeout", "nan", "status"], ["--timeout"]),
    (["drain", "--wait", "1e300"], ["--wait"]),
    (["--token", "has space", "status"], ["printable ASCII"]),
    (["--tls-cert", "c.pem", "status"], ["--tls-cert and --tls-key go together"]),
])
def test_bad_usage_exits_64_with_a_reason(args: list[str], words: list[str]) -> None:
    r = ctl(*args)
    assert r.returncode == 64, (r.returncode, r.stdout, r.stderr)
    for word in words:
        assert word in r.stderr, r.stderr


def test_help_lists_every_command_and_each_has_its_own() -> None:
    r = ctl("--help")
    assert r.returncode == 0
    for command in ("status", "sessions", "kill", "drain", "version", "--address", "--json",
                    "--tls-ca", "Exit codes"):
        assert command in r.stdout, command
    drain = ctl("drain", "--help")
    assert drain.returncode == 0 and "--wait" in drain.stdout


# ------------------------------------------------------------ TLS


def openssl(*args: str, cwd: str) -> None:
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def certs() -> Iterator[str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI (Debian's openssl) makes the test certificates")
    d = tempfile.mkdtemp(prefix="tensordctl-tls-")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", "ca.key",
            "-out", "ca.crt", "-subj", "/CN=ca", cwd=d)
    for name, san in (("server", "DNS:localhost,IP:127.0.0.1"), ("client", "DNS:client")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        Path(d, f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
                cwd=d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_mutual_tls_with_flags_or_the_clients_environment(certs: str) -> None:
    tls = {"cert": f"{certs}/server.crt", "key": f"{certs}/server.key",
           "client_ca": f"{certs}/ca.crt", "require_client_cert": True}
    d = DaemonProcess(config=json.dumps({"tls": tls}))
    try:
        flags = ["--tls-ca", f"{certs}/ca.crt", "--tls-cert", f"{certs}/client.crt",
                 "--tls-key", f"{certs}/client.key", "--tls-server-name", "localhost"]
        ok = ctl("--address", d.address, *flags, "--json", "status")
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["session_count"] == 0
        env = {"TENSORD_ADDR": d.address, "TENSORD_TLS_CA": f"{certs}/ca.crt",
               "TENSORD_TLS_CERT": f"{certs}/client.crt", "TENSORD_TLS_KEY": f"{certs}/client.key",
               "TENSORD_TLS_SERVER_NAME": "localhost"}
        assert ctl("status", env=env).returncode == 0
        plain = ctl("--address", d.address, "status")
        assert plain.returncode == 2 and "cannot reach" in plain.stderr, plain.stderr
        assert "--tls" in plain.stderr  # the hint that it may be a TLS daemon
        no_cert = ctl("--address", d.address, "--tls-ca", f"{certs}/ca.crt", "--tls-server-name",
                      "localhost", "status")
        assert no_cert.returncode == 2 and "--tls-cert" in no_cert.stderr, no_cert.stderr
        missing = ctl("--address", d.address, "--tls-ca", f"{certs}/nope.crt", "status")
        assert missing.returncode == 64 and "cannot read --tls-ca" in missing.stderr
    finally:
        assert d.stop() == 0
