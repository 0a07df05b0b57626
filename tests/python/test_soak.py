"""Bounded soak: 16 client processes run random valid and invalid work
against one daemon at once (tests/python/soak_worker.py). No client may fail
or hang, the daemon must survive, and the memory its sessions track (Admin
Status) must return to its baseline once they are gone, including sessions
whose clients vanished without closing them.

TENSORD_SOAK_SECONDS sets how long the clients work (default 30).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import DaemonProcess, daemon_binary

CLIENTS = 16
WORKER = Path(__file__).with_name("soak_worker.py")


def admin(address: str, what: str) -> dict:
    ctl = Path(daemon_binary()).with_name("tensordctl")
    out = subprocess.run([str(ctl), "--address", address, "--json", what], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_sixteen_clients_of_random_work_leave_no_memory_behind() -> None:
    seconds = float(os.environ.get("TENSORD_SOAK_SECONDS", "30"))
    d = DaemonProcess(config="session_grace_seconds: 2\nlimits:\n  max_tensor_bytes: 134217728\n")
    try:
        baseline = admin(d.address, "status")
        assert baseline["tracked_bytes"] == 0 and baseline["session_count"] == 0
        env = dict(os.environ, OMP_NUM_THREADS="1")
        workers = [
            subprocess.Popen([sys.executable, str(WORKER), d.address, str(seconds), str(seed)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for seed in range(CLIENTS)
        ]
        # While they run, the admin service answers and sees their sessions
        # (polled: on a loaded machine the clients take a while to start).
        most_sessions = 0
        give_up = time.monotonic() + seconds + 60
        while (any(w.poll() is None for w in workers) and most_sessions < CLIENTS
               and time.monotonic() < give_up):
            most_sessions = max(most_sessions, admin(d.address, "status")["session_count"])
            time.sleep(0.5)
        assert most_sessions >= 1
        failures = []
        for seed, w in enumerate(workers):
            try:
                out, err = w.communicate(timeout=seconds + 120)
            except subprocess.TimeoutExpired:
                w.kill()
                out, err = w.communicate()
                failures.append(f"client {seed} hung:\n{err[-2000:]}")
                continue
            if w.returncode not in (0, 3):
                failures.append(f"client {seed} exited {w.returncode}:\n{err[-2000:]}")
        assert not failures, "\n".join(failures)
        assert d.proc.poll() is None, "the daemon died:\n" + d.log()[-4000:]
        # Closed sessions free at once; vanished ones after the 2 s grace
        # period (the daemon reaps once a second).
        deadline = time.monotonic() + 30
        status = admin(d.address, "status")
        while (status["tracked_bytes"] != 0 or status["session_count"] != 0) and time.monotonic() < deadline:
            time.sleep(0.5)
            status = admin(d.address, "status")
        assert status["session_count"] == 0, admin(d.address, "sessions")
        assert status["tracked_bytes"] == baseline["tracked_bytes"], status
    finally:
        assert d.stop() == 0, d.log()[-4000:]
