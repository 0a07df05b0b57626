"""Sessions that survive the network: programs keep computing while a proxy
cuts their connection to the daemon, and end with the values a local
reference computes, no op lost or applied twice.

Each scenario runs as its own Python program (its own connection, through a
tcp_proxy.TcpProxy it severs at chosen moments) against a real daemon: the
session's daemon from conftest, or one started here with a short grace period.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import DaemonProcess

HERE = Path(__file__).resolve().parent

PRELUDE = """
import os, sys, threading, time
import numpy as np
import tensord
from tcp_proxy import TcpProxy

proxy = TcpProxy(os.environ["DAEMON"])
tensord.connect(proxy.address)

def sever_after(seconds):
    t = threading.Timer(seconds, proxy.sever)
    t.start()
    return t

def reattaches():
    return tensord._C.stats()["reattaches"]
"""


def run_program(body: str, daemon_address: str, timeout: float = 240, **env: str) -> str:
    """Runs PRELUDE + body in a fresh interpreter; returns its stdout."""
    environ = dict(os.environ, DAEMON=daemon_address, **env)
    environ.pop("TENSORD_ADDR", None)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
                          capture_output=True, text=True, timeout=timeout, env=environ)
    assert proc.returncode == 0, f"program failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_computing_through_severances_matches_numpy(daemon):
    out = run_program("""
        rng = np.random.default_rng(0)
        a_np = rng.standard_normal((32, 32)).astype(np.float32)
        w_np = (rng.standard_normal((32, 32)) / 8).astype(np.float32)
        a, w = tensord.from_numpy(a_np.copy()), tensord.from_numpy(w_np)
        counter = tensord.zeros(1, dtype=tensord.int64)
        adds = 0
        for round in range(6):
            for _ in range(300):  # part sent, part still being recorded at the cut
                a = (a @ w).tanh() + 0.5
                a_np = np.tanh(a_np @ w_np) + np.float32(0.5)
                counter.add_(1)
                adds += 1
            proxy.sever()
            tensord.synchronize() if round % 2 else None
        np.testing.assert_allclose(a.numpy(), a_np, rtol=1e-4, atol=1e-5)
        assert counter.item() == adds, (counter.item(), adds)
        assert reattaches() >= 3, reattaches()
        print("OK", adds, reattaches())
    """, daemon.address)
    assert out.startswith("OK 1800")


def test_no_add_is_lost_or_applied_twice_under_random_cuts(daemon):
    # A thread cuts the connection every few milliseconds while the program
    # streams in-place adds: batches are cut mid-write, mid-read, while
    # their acks travel and while the client re-attaches.
    out = run_program("""
        stop = False
        def cutter():  # 12 cuts of a live connection, so the program gets through
            rng = np.random.default_rng(1)
            cuts = 0
            while not stop and cuts < 12:
                time.sleep(rng.uniform(0.005, 0.05))
                cuts += proxy.sever() > 0
        t = threading.Thread(target=cutter); t.start()
        counter = tensord.zeros(1, dtype=tensord.int64)
        total = 0
        try:
            for i in range(40):
                for _ in range(700):
                    counter.add_(1)
                total += 700
                if i % 4 == 0:
                    assert counter.item() == total, (counter.item(), total)
        finally:
            stop = True
            t.join()
        assert counter.item() == total, (counter.item(), total)
        print("OK", total, reattaches(), proxy.severed)
    """, daemon.address)
    ok, total, reattached, severed = out.split()
    assert ok == "OK" and int(total) == 28000
    assert int(reattached) >= 3 and int(severed) >= 3, out


@pytest.mark.parametrize("shared_memory", [True, False], ids=["shm", "grpc"])
def test_fetches_and_uploads_in_flight_during_a_cut(daemon, shared_memory):
    env = {} if shared_memory else {"TENSORD_NO_SHM": "1"}
    out = run_program("""
        big = np.arange(3 << 20, dtype=np.float32)  # 12 MiB: several chunks each way
        for delay in (0.0, 0.002, 0.01, 0.03, 0.08):
            timer = sever_after(delay)
            t = tensord.from_numpy(big)      # upload, cut somewhere inside it
            doubled = t * 2
            got = doubled.numpy()            # fetch, cut maybe inside it
            timer.join()
            np.testing.assert_array_equal(got, big * 2)
            timer = sever_after(delay)
            again = t.numpy()                # a fetch alone
            timer.join()
            np.testing.assert_array_equal(again, big)
        print("OK", reattaches(), tensord.daemon_info()["shared_memory"])
    """, daemon.address, **env)
    ok, reattached, shm = out.split()
    assert ok == "OK" and int(reattached) >= 5, out
    assert shm == str(shared_memory)


def test_backward_with_python_hooks_across_cuts(daemon, ref):
    out = run_program("""
        import torch as ref
        x_np = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)

        def square_function(lib, in_backward):
            class Square(lib.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    ctx.save_for_backward(x)
                    return x * x
                @staticmethod
                def backward(ctx, g):
                    (x,) = ctx.saved_tensors
                    in_backward()
                    return g * 2 * x + 1
            return Square

        CutInBackward = square_function(tensord, proxy.sever)  # cut while the daemon waits for us
        RefSquare = square_function(ref, lambda: None)

        def run(torch, fn):
            x = torch.tensor(x_np, requires_grad=True)
            y = (x.sin() * 3).exp()
            def hook(g):
                proxy.sever()                    # and in a tensor hook
                return g * 0.5
            y.register_hook(hook)
            z = fn(y).sum()
            z.backward()
            return x.grad.numpy()

        expected = run(ref, RefSquare.apply)
        timer = sever_after(0.001)               # and maybe while the callback travels
        got = run(tensord, CutInBackward.apply)
        timer.join()
        np.testing.assert_allclose(got, expected, rtol=1e-5)
        print("OK", reattaches())
    """, daemon.address)
    ok, reattached = out.split()
    assert ok == "OK" and int(reattached) >= 2, out


def test_a_client_away_past_the_grace_period_gets_a_clear_error_and_the_session_is_freed():
    d = DaemonProcess("--log-level", "info", config="session_grace_seconds: 2\n")
    try:
        out = run_program("""
            x = tensord.ones(1000) * 3
            assert x.sum().item() == 3000
            session = tensord.daemon_info()["session_id"]
            proxy.refuse()          # the daemon is unreachable from now on
            proxy.sever()
            start = time.monotonic()
            try:
                x.sum().item()
            except RuntimeError as e:
                print("ERROR", session, round(time.monotonic() - start), "|", e)
            else:
                raise AssertionError("no error after the grace period")
        """, d.address)
        m = re.match(r"ERROR (\w+) (\d+) \| (.*)", out, re.S)
        assert m, out
        session, waited, message = m.group(1), int(m.group(2)), m.group(3)
        assert 1 <= waited <= 10, out
        assert session in message and "grace period of 2 s" in message, message
        # The daemon reclaims the session and its memory.
        freed = f"session {session[:8]} freed: "
        deadline = time.monotonic() + 15
        while "0 session(s) open" not in d.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = d.log()
        assert any("session expired after 2 s without a stream" in line
                   and f"session={session[:8]}" in line for line in log.splitlines()), log
        assert re.search(freed + r"\d+ tensors, 0 bytes still tracked", log), log
        assert "0 session(s) open" in log, log
    finally:
        d.stop()
