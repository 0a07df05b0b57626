"""Which daemon the package talks to.

tensord.connect(address) picks one explicitly. Otherwise the first op
connects to $TENSORD_ADDR, or, when that is unset, starts an embedded daemon
on a private Unix socket (the binary shipped in the package, else `tensord`
on PATH) and stops it when Python exits. The embedded daemon's socket and log
live in a private folder under tensord_home() while it runs.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from . import _C

_embedded: subprocess.Popen[bytes] | None = None
_embedded_dir: str | None = None


def _daemon_binary() -> str:
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "tensord")
    if os.path.exists(here):
        return here
    found = shutil.which("tensord")
    if found:
        return found
    raise RuntimeError(
        "tensord: no daemon address given (tensord.connect(address) or TENSORD_ADDR) and no "
        "tensord binary to start a local one (looked in the package's bin/ and on PATH)")


def tensord_home() -> str:
    """The client's folder for files it writes: $TENSORD_HOME, else ~/.cache/tensord."""
    return os.environ.get("TENSORD_HOME") or os.path.join(os.path.expanduser("~"), ".cache",
                                                          "tensord")


# A Unix socket's path must fit sun_path (108 bytes on Linux, with its NUL).
_MAX_SOCKET_PATH = 107


def _embedded_folder() -> str:
    home = tensord_home()
    try:
        os.makedirs(home, mode=0o700, exist_ok=True)
        folder = tempfile.mkdtemp(prefix=f"embedded-{os.getpid()}-", dir=home)
    except OSError as e:
        why = f"cannot write there ({e})"
    else:
        if len(os.path.join(folder, "daemon.sock")) <= _MAX_SOCKET_PATH:
            return folder
        os.rmdir(folder)
        why = "the path is too long for a Unix socket"
    print(f"tensord: the embedded daemon runs in the temporary folder, not in {home}: {why}",
          file=sys.stderr)
    return tempfile.mkdtemp(prefix="tensord-")


def start_embedded() -> str:
    """Starts the embedded daemon (stopped when Python exits); returns its address."""
    global _embedded, _embedded_dir
    _embedded_dir = _embedded_folder()
    sock = os.path.join(_embedded_dir, "daemon.sock")
    log = open(os.path.join(_embedded_dir, "daemon.log"), "wb")
    # Quiet by default; TENSORD_LOG_LEVEL reaches the daemon through its environment.
    level = [] if os.environ.get("TENSORD_LOG_LEVEL") else ["--log-level", "warn"]
    _embedded = subprocess.Popen(
        # A private daemon: no metrics endpoint on the machine's shared port.
        [_daemon_binary(), "--listen", "unix:" + sock, *level, "--metrics-listen", ""],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while not os.path.exists(sock):
        if _embedded.poll() is not None:
            with open(os.path.join(_embedded_dir, "daemon.log"), "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"tensord: the embedded daemon exited at start:\n{tail}")
        if time.monotonic() > deadline:
            raise RuntimeError("tensord: the embedded daemon did not start within 15 s")
        time.sleep(0.01)
    atexit.register(_stop_embedded)
    return "unix:" + sock


def _stop_embedded() -> None:
    global _embedded
    _C.disconnect()
    if _embedded is not None:
        _embedded.terminate()
        try:
            _embedded.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _embedded.kill()
        _embedded = None
    if _embedded_dir:
        shutil.rmtree(_embedded_dir, ignore_errors=True)


def connect(address: str | None = None, *, token: str | None = None, tls: bool = False,
            tls_ca: str | os.PathLike[str] | None = None,
            tls_cert: str | os.PathLike[str] | None = None,
            tls_key: str | os.PathLike[str] | None = None,
            tls_server_name: str | None = None) -> None:
    """Connects this process to a daemon (HOST:PORT or unix:PATH).

    token: the tenant's token, for a daemon with a tenants file (default
    $TENSORD_TOKEN). TLS is used when tls=True or any TLS file is given:
    tls_ca, the PEM CA that signed the daemon's certificate (default
    $TENSORD_TLS_CA; else the system's roots); tls_cert and tls_key, a client
    certificate and its key for a daemon that requires one ($TENSORD_TLS_CERT,
    $TENSORD_TLS_KEY); tls_server_name, the name the daemon's certificate
    carries when the address differs ($TENSORD_TLS_SERVER_NAME). $TENSORD_TLS=1
    turns TLS on. Arguments win over the environment (docs/security.md).
    """
    if address is None:
        address = os.environ.get("TENSORD_ADDR") or start_embedded()
    _C.connect(address, token or "", tls, os.fspath(tls_ca or ""), os.fspath(tls_cert or ""),
               os.fspath(tls_key or ""), tls_server_name or "")
    _child_env.clear()
    _child_env["TENSORD_ADDR"] = address
    given = {"TENSORD_TOKEN": token, "TENSORD_TLS": "1" if tls else None, "TENSORD_TLS_CA": tls_ca,
             "TENSORD_TLS_CERT": tls_cert, "TENSORD_TLS_KEY": tls_key,
             "TENSORD_TLS_SERVER_NAME": tls_server_name}
    _child_env.update({k: os.fspath(v) for k, v in given.items() if v})


# What connect() was given, as the environment variables that say it: child
# processes started by tensord.multiprocessing join the same daemon.
_child_env: dict[str, str] = {}


def child_environment() -> dict[str, str]:
    """Environment variables that make a child process join this process's
    daemon (connecting this process first, if it has not yet)."""
    ensure_connected()
    return dict(_child_env)


def ensure_connected() -> None:
    if not _C.connected():
        connect()


def disconnect() -> None:
    _C.disconnect()


def daemon_info() -> dict[str, Any]:
    ensure_connected()
    return dict(_C.daemon_info())


def synchronize() -> None:
    """Waits until every op issued so far has run (raising any failure)."""
    _C.synchronize()
