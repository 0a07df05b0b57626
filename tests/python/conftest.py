"""Fixtures: a real tensord daemon per test session, and the reference torch.

The daemon is the binary the build made (TENSORD_BINARY, else build/bin/tensord),
started on a private Unix socket; the package under test connects to it.
Debian's PyTorch 1.13 is the reference (`ref` fixture); tests that need it
skip with a visible reason where it is missing.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Daemons started by tests (here and in subprocesses) serve no metrics unless
# a test asks for them with --metrics-listen: the default port is one per
# machine, and test runs share machines.
os.environ.setdefault("TENSORD_METRICS_LISTEN", "")


def daemon_binary() -> str:
    return os.environ.get("TENSORD_BINARY") or str(ROOT / "build" / "bin" / "tensord")


class DaemonProcess:
    def __init__(self, *extra: str, config: str | None = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="tensord-pytest-")
        self.sock = os.path.join(self.dir, "d.sock")
        self.address = "unix:" + self.sock
        args = [daemon_binary(), "--listen", self.address, "--threads", "2", *extra]
        if config is not None:
            cfg = os.path.join(self.dir, "config.yaml")
            Path(cfg).write_text(config)
            args += ["--config", cfg]
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.proc = subprocess.Popen(args, stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tensord did not start:\n" + self.log())
            time.sleep(0.01)

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


@pytest.fixture(scope="session")
def daemon() -> Iterator[DaemonProcess]:
    d = DaemonProcess()
    yield d
    d.stop()


@pytest.fixture(scope="session", autouse=True)
def connected(daemon: DaemonProcess) -> Iterator[None]:
    import tensord

    tensord.connect(daemon.address)
    yield
    tensord.disconnect()


@pytest.fixture(scope="session")
def ref():  # type: ignore[no-untyped-def]
    """Debian's PyTorch 1.13, the reference semantics."""
    return pytest.importorskip("torch", reason="Debian's python3-torch is the reference")


# Which test files this run collected, and whether a -k/-m filter was used:
# test_zz_op_coverage.py checks op coverage only on a full run.
RUN_INFO: dict = {"files": set(), "filtered": False}


def pytest_collection_modifyitems(session, config, items) -> None:  # type: ignore[no-untyped-def]
    RUN_INFO["files"] = {Path(str(it.fspath)).name for it in items}
    RUN_INFO["filtered"] = bool(config.option.keyword or config.option.markexpr)
