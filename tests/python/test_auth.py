"""Tenants, tokens and TLS against real daemons: the tenants file and its
errors, `tensord hash-token`, authenticated connections, the refusal to
expose a daemon without authentication, TLS and mutual TLS with certificates
made here by the openssl CLI, and tokens kept out of the daemon's log.

Each client runs in its own process (the package holds one connection per
process) with the options of that test. The raw-protocol isolation tests
(another tenant's session ids and tensor ids) are in tests/cpp/auth_test.cc.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import DaemonProcess, daemon_binary

TOKEN_A = "alice-0123456789abcdef0123456789abcdef"
TOKEN_B = "bob-fedcba9876543210fedcba9876543210"


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tenants_yaml(**extra_alice: object) -> str:
    alice = {"token_sha256": sha256(TOKEN_A), "weight": 2, "admin": True,
             "quotas": {"memory_bytes": {"cpu": 1 << 30}, "sessions": 4}, **extra_alice}
    bob = {"token_sha256": sha256(TOKEN_B)}
    return json.dumps({"tenants": {"alice": alice, "bob": bob}})  # JSON is YAML


def write(dir_: str, name: str, text: str) -> str:
    path = os.path.join(dir_, name)
    Path(path).write_text(text)
    return path


def run_daemon(*args: str, stdin: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([daemon_binary(), *args], capture_output=True, text=True,
                          input=stdin, timeout=timeout)


CLIENT = r"""
import json, sys, time, tensord as torch
address, kwargs = sys.argv[1], json.loads(sys.argv[2])
t0 = time.monotonic()
try:
    torch.connect(address, **kwargs)
    print(json.dumps({"ok": (torch.ones(3) * 4).tolist()}))
except Exception as e:
    print(json.dumps({"error": str(e), "type": type(e).__name__, "s": time.monotonic() - t0}))
"""


def client(address: str, env: dict[str, str] | None = None, **kwargs: object) -> dict:
    """Runs CLIENT in a fresh process: {"ok": values} or {"error", "type", "s"}."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORD_")}
    full_env.update(env or {})
    out = subprocess.run([sys.executable, "-c", CLIENT, address, json.dumps(kwargs)],
                         capture_output=True, text=True, timeout=120, env=full_env,
                         cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tmp() -> str:
    d = tempfile.mkdtemp(prefix="tensord-auth-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def tenant_daemon(tmp: str):
    path = write(tmp, "tenants.yaml", tenants_yaml())
    d = DaemonProcess("--tenants", path, "--log-level", "trace")
    yield d
    d.stop()


# ------------------------------------------------------------ tenants file


def test_hash_token_prints_the_sha256_of_stdin_without_its_newline() -> None:
    r = run_daemon("hash-token", stdin=TOKEN_A + "\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == sha256(TOKEN_A)
    empty = run_daemon("hash-token", stdin="")
    assert empty.returncode == 2 and "no token on stdin" in empty.stderr


BAD_TENANTS = [
    ({"tenants": {}}, ["at least one tenant"]),
    ({"tenants": {"alice": {"weight": 1}}}, ["'alice'", "token_sha256", "missing"]),
    ({"tenants": {"alice": {"token_sha256": TOKEN_A}}}, ["'alice'", "token_sha256", "64 hex"]),
    ({"tenants": {"alice": {"token_sha256": sha256("x"), "weight": 0}}}, ["'alice'", "weight"]),
    ({"tenants": {"alice": {"token_sha256": sha256("x"), "admin": "yes"}}}, ["'alice'", "admin"]),
    ({"tenants": {"alice": {"token_sha256": sha256("x"), "quotas": {"sessions": -1}}}},
     ["'alice'", "quotas.sessions", "'-1'"]),
    ({"tenants": {"alice": {"token_sha256": sha256("x"),
                            "quotas": {"memory_bytes": {"gpu": 5}}}}},
     ["'alice'", "quotas.memory_bytes", "'gpu'"]),
    ({"tenants": {"alice": {"token_sha256": sha256("x"),
                            "quotas": {"requests_per_second": "fast"}}}},
     ["'alice'", "quotas.requests_per_second"]),
    ({"tenants": {"alice": {"token_sha256": sha256("x"), "quota": {}}}}, ["'alice'", "'quota'"]),
    ({"tenants": {"alice": {"token_sha256": sha256("x")}, "bob": {"token_sha256": sha256("x")}}},
     ["'bob'", "same hash"]),
    ({"tenants": {"al ice": {"token_sha256": sha256("x")}}}, ["'al ice'"]),
]


@pytest.mark.parametrize("content,words", BAD_TENANTS, ids=[str(i) for i in range(len(BAD_TENANTS))])
def test_bad_tenants_file_stops_the_daemon_naming_file_tenant_and_key(
        tmp: str, content: dict, words: list[str]) -> None:
    path = write(tmp, "bad-tenants.yaml", json.dumps(content))
    r = run_daemon("--tenants", path, "--listen", "unix:" + os.path.join(tmp, "never.sock"))
    assert r.returncode == 2, r.stderr
    assert path in r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    # A token pasted where its hash belongs is not echoed.
    assert TOKEN_A not in r.stderr


def test_missing_tenants_file_and_bad_config_types_fail_clearly(tmp: str) -> None:
    r = run_daemon("--tenants", os.path.join(tmp, "nope.yaml"))
    assert r.returncode == 2 and "nope.yaml" in r.stderr
    cfg = write(tmp, "tls-not-map.yaml", "tls: yes\n")
    r = run_daemon("--config", cfg)
    assert r.returncode == 2 and "'tls' must be a mapping" in r.stderr
    cfg = write(tmp, "tls-typo.yaml", "tls: {certificate: x}\n")
    r = run_daemon("--config", cfg)
    assert r.returncode == 2 and "unknown setting 'tls.certificate'" in r.stderr


# ------------------------------------------------------------ tokens


def test_calls_without_a_valid_token_are_refused(tenant_daemon: DaemonProcess) -> None:
    missing = client(tenant_daemon.address)
    assert missing.get("type") == "RuntimeError", missing
    assert "[auth] this daemon requires a token" in missing["error"]
    assert "TENSORD_TOKEN" in missing["error"]
    wrong = client(tenant_daemon.address, token="not-" + TOKEN_A)
    assert "[auth] unknown token" in wrong.get("error", ""), wrong
    # A token gRPC could not carry is refused by the client, before any call
    # (malformed headers sent raw are in tests/cpp/auth_test.cc).
    bad_chars = client(tenant_daemon.address, token="two words")
    assert "printable ASCII" in bad_chars.get("error", ""), bad_chars


def test_each_tenant_connects_with_its_token_by_argument_or_environment(
        tenant_daemon: DaemonProcess) -> None:
    assert client(tenant_daemon.address, token=TOKEN_A) == {"ok": [4.0, 4.0, 4.0]}
    assert client(tenant_daemon.address, env={"TENSORD_TOKEN": TOKEN_B}) == {"ok": [4.0, 4.0, 4.0]}
    # The argument wins over the environment.
    r = client(tenant_daemon.address, env={"TENSORD_TOKEN": "wrong"}, token=TOKEN_A)
    assert r == {"ok": [4.0, 4.0, 4.0]}
    log = tenant_daemon.log()
    assert "of tenant alice" in log and "of tenant bob" in log


def test_a_daemon_without_tenants_file_serves_the_implicit_default_tenant(
        daemon: DaemonProcess) -> None:
    assert client(daemon.address) == {"ok": [4.0, 4.0, 4.0]}
    assert client(daemon.address, token=TOKEN_A) == {"ok": [4.0, 4.0, 4.0]}  # ignored
    assert "of tenant default" in daemon.log()


def test_tokens_never_reach_the_log(tenant_daemon: DaemonProcess) -> None:
    client(tenant_daemon.address, token=TOKEN_A)
    client(tenant_daemon.address, token=TOKEN_B + "x")
    client(tenant_daemon.address, env={"TENSORD_TOKEN": TOKEN_B})
    log = tenant_daemon.log()
    assert "refused a call" in log  # trace level: the daemon logged what it saw
    for secret in (TOKEN_A, TOKEN_B, TOKEN_A[6:20], TOKEN_B[4:18]):
        assert secret not in log


# ------------------------------------------------------------ listen addresses


def test_exposed_address_without_tenants_is_refused_unless_insecure(tmp: str) -> None:
    port = free_port()
    for addr in (f"0.0.0.0:{port}", f"[::]:{port}", f"192.0.2.1:{port}", f"example.com:{port}"):
        r = run_daemon("--listen", addr)
        assert r.returncode == 2, (addr, r.stderr)
        assert f"refusing to listen on {addr} without authentication" in r.stderr
        assert "--insecure" in r.stderr
    # Loopback and unix: start without a tenants file.
    d = DaemonProcess("--listen", f"127.0.0.1:{port}", "--listen", f"localhost:{free_port()}")
    assert d.stop() == 0
    d = DaemonProcess("--listen", f"0.0.0.0:{port}", "--insecure")
    try:
        assert "--insecure" in d.log()
        assert client(f"127.0.0.1:{port}") == {"ok": [4.0, 4.0, 4.0]}
    finally:
        assert d.stop() == 0
    d = DaemonProcess("--listen", f"0.0.0.0:{port}", config="insecure: true\n")
    assert d.stop() == 0


def test_exposed_plaintext_with_tokens_is_refused(tmp: str) -> None:
    tenants = write(tmp, "tenants.yaml", tenants_yaml())
    r = run_daemon("--tenants", tenants, "--listen", f"0.0.0.0:{free_port()}")
    assert r.returncode == 2
    assert "in plaintext with tokens" in r.stderr and "tls.cert" in r.stderr


# ------------------------------------------------------------ TLS


def openssl(*args: str, cwd: str) -> None:
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr


def make_ca(dir_: str, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={name}", cwd=dir_)


def make_leaf(dir_: str, name: str, ca: str, san: str) -> None:
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=dir_)
    write(dir_, f"{name}.ext", f"subjectAltName={san}\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=dir_)


@pytest.fixture(scope="module")
def certs(tmp: str) -> str:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI (Debian's openssl) makes the test certificates")
    d = os.path.join(tmp, "certs")
    os.makedirs(d)
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_leaf(d, "server", "ca", "DNS:localhost,IP:127.0.0.1")
    make_leaf(d, "client", "ca", "DNS:client")
    make_leaf(d, "stranger", "other-ca", "DNS:stranger")
    return d


def tls_config(certs: str, mutual: bool) -> str:
    tls = {"cert": f"{certs}/server.crt", "key": f"{certs}/server.key"}
    if mutual:
        tls.update(client_ca=f"{certs}/ca.crt", require_client_cert=True)
    return json.dumps({"tls": tls})


def test_tls_serves_clients_that_trust_its_ca_and_refuses_others(certs: str) -> None:
    port = free_port()
    d = DaemonProcess("--listen", f"127.0.0.1:{port}", config=tls_config(certs, mutual=False))
    try:
        addr = f"127.0.0.1:{port}"
        assert client(addr, tls_ca=f"{certs}/ca.crt") == {"ok": [4.0, 4.0, 4.0]}
        assert client(d.address, tls_ca=f"{certs}/ca.crt") == {"ok": [4.0, 4.0, 4.0]}  # unix:
        assert client(addr, env={"TENSORD_TLS_CA": f"{certs}/ca.crt"}) == {"ok": [4.0, 4.0, 4.0]}
        wrong_ca = client(addr, tls_ca=f"{certs}/other-ca.crt")
        assert wrong_ca.get("error", "").startswith("[connect] TLS with the daemon at"), wrong_ca
        assert "tls_ca" in wrong_ca["error"]
        assert wrong_ca["s"] < 8  # said at once, not after the connect timeout
        plain = client(addr)
        assert "does it serve TLS?" in plain.get("error", ""), plain
        assert plain["s"] < 8
        missing = client(addr, tls_ca=f"{certs}/no-such.crt")
        assert "cannot read the TLS CA file" in missing.get("error", ""), missing
    finally:
        assert d.stop() == 0


def test_mutual_tls_requires_a_client_certificate_from_its_ca(certs: str) -> None:
    d = DaemonProcess(config=tls_config(certs, mutual=True))
    try:
        ca = f"{certs}/ca.crt"
        ok = client(d.address, tls_ca=ca, tls_cert=f"{certs}/client.crt", tls_key=f"{certs}/client.key")
        assert ok == {"ok": [4.0, 4.0, 4.0]}
        env = {"TENSORD_TLS_CA": ca, "TENSORD_TLS_CERT": f"{certs}/client.crt",
               "TENSORD_TLS_KEY": f"{certs}/client.key"}
        assert client(d.address, env=env) == {"ok": [4.0, 4.0, 4.0]}
        no_cert = client(d.address, tls_ca=ca)
        assert "require a client certificate" in no_cert.get("error", ""), no_cert
        assert no_cert["s"] < 8
        stranger = client(d.address, tls_ca=ca, tls_cert=f"{certs}/stranger.crt",
                          tls_key=f"{certs}/stranger.key")
        assert "error" in stranger and "[connect]" in stranger["error"], stranger
        half = client(d.address, tls_ca=ca, tls_cert=f"{certs}/client.crt")
        assert "needs its key" in half.get("error", ""), half
    finally:
        assert d.stop() == 0


def test_tls_with_tokens_may_listen_on_every_interface(tmp: str, certs: str) -> None:
    port = free_port()
    tenants = write(tmp, "tenants-tls.yaml", tenants_yaml())
    d = DaemonProcess("--listen", f"0.0.0.0:{port}", "--tenants", tenants,
                      config=tls_config(certs, mutual=False))
    try:
        r = client(f"127.0.0.1:{port}", token=TOKEN_B, tls_ca=f"{certs}/ca.crt")
        assert r == {"ok": [4.0, 4.0, 4.0]}
        assert "requires a token" in client(f"127.0.0.1:{port}", tls_ca=f"{certs}/ca.crt")["error"]
    finally:
        assert d.stop() == 0


def test_bad_tls_files_stop_the_daemon_naming_the_file(tmp: str, certs: str) -> None:
    def start(tls: dict) -> subprocess.CompletedProcess:
        cfg = write(tmp, "tls-bad.yaml", json.dumps({"tls": tls}))
        return run_daemon("--config", cfg, "--listen", "unix:" + os.path.join(tmp, "never.sock"))

    r = start({"cert": f"{certs}/server.crt"})
    assert r.returncode == 2 and "tls.key: missing" in r.stderr
    r = start({"cert": f"{certs}/server.crt", "key": f"{certs}/client.key"})
    assert r.returncode == 2 and "is not the private key of" in r.stderr
    r = start({"cert": f"{certs}/nope.crt", "key": f"{certs}/server.key"})
    assert r.returncode == 2 and "nope.crt" in r.stderr
    r = start({"cert": f"{certs}/server.ext", "key": f"{certs}/server.key"})
    assert r.returncode == 2 and "server.ext is not a PEM file" in r.stderr
    r = start({"cert": f"{certs}/server.crt", "key": f"{certs}/server.key",
               "require_client_cert": True})
    assert r.returncode == 2 and "needs tls.client_ca" in r.stderr
    # The same files as flags.
    r = run_daemon("--tls-cert", f"{certs}/server.crt", "--listen",
                   "unix:" + os.path.join(tmp, "never.sock"))
    assert r.returncode == 2 and "tls.key: missing" in r.stderr


def test_example_tenants_file_starts_a_daemon_its_tokens_open() -> None:
    example = Path(__file__).resolve().parents[2] / "configs" / "tenants.example.yaml"
    d = DaemonProcess("--tenants", str(example))
    try:
        assert client(d.address, token="alice-example-token") == {"ok": [4.0, 4.0, 4.0]}
        assert client(d.address, token="bob-example-token") == {"ok": [4.0, 4.0, 4.0]}
        assert "2 tenant(s)" in d.log()
    finally:
        assert d.stop() == 0
