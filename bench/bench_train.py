#!/usr/bin/env python3
"""Training-step time through the daemon against local PyTorch, same run.

    .venv/bin/python bench/bench_train.py            # an embedded daemon
    TENSORD_ADDR=unix:/tmp/d.sock .venv/bin/python bench/bench_train.py
    .venv/bin/python bench/bench_train.py --quick --json out.json

One step = forward, cross-entropy loss, zero_grad, backward, SGD step, on a
batch of 64. Models: an MLP 784-256-10 and a small CNN (two 3x3 conv layers
on 1x28x28 with max pooling, then a linear layer). Both sides run the same
program text (the module is passed in as `torch`), with the same thread
count and OMP_WAIT_POLICY=PASSIVE (both run OpenMP pools on the same cores);
on an AVX-512 CPU torch's OpenBLAS gets OPENBLAS_CORETYPE=SKYLAKEX (TOOLCHAIN.md);
tensord's loop ends in one sync, as a training loop that logs the loss every
N steps does. Figures are medians of --repeat runs of --steps steps;
the ratio is tensord's time over PyTorch's (above 1: tensord is slower).
"""
from __future__ import annotations

import os

# Both sides run OpenMP thread pools on the same cores: threads that spin
# while waiting would steal the other side's cores. Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and "avx512f" in line.split() for line in f)
    except OSError:
        return False


# PyTorch's baseline at its best (TOOLCHAIN.md): Debian's OpenBLAS misdetects
# AVX-512 Xeons unless told; only the torch side sees this (removed below,
# before an embedded daemon starts).
_CORETYPE_ADDED = _has_avx512() and "OPENBLAS_CORETYPE" not in os.environ
if _CORETYPE_ADDED:
    os.environ["OPENBLAS_CORETYPE"] = "SKYLAKEX"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402


def mlp(m: Any) -> Any:
    return m.nn.Sequential(m.nn.Flatten(), m.nn.Linear(784, 256), m.nn.ReLU(), m.nn.Linear(256, 10))


def cnn(m: Any) -> Any:
    return m.nn.Sequential(
        m.nn.Conv2d(1, 16, 3, padding=1), m.nn.ReLU(), m.nn.MaxPool2d(2),
        m.nn.Conv2d(16, 32, 3, padding=1), m.nn.ReLU(), m.nn.MaxPool2d(2),
        m.nn.Flatten(), m.nn.Linear(32 * 7 * 7, 10))


def make_step(m: Any, build: Callable[[Any], Any], batch: int) -> tuple[Callable[[], Any], Any]:
    m.manual_seed(0)
    model = build(m)
    opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = m.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = m.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = m.tensor(rng.integers(0, 10, batch))

    def step() -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step, model


def time_steps(step: Callable[[], Any], steps: int, repeat: int, sync: Callable[[Any], Any]) -> float:
    sync(step())  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        loss = None
        for _ in range(steps):
            loss = step()
        sync(loss)
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few steps (a smoke test)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--models", default="mlp,cnn")
    a = ap.parse_args()
    steps = a.steps or (3 if a.quick else 50)
    repeat = a.repeat or (1 if a.quick else 5)

    import torch
    torch.set_num_threads(a.threads)
    if _CORETYPE_ADDED:
        del os.environ["OPENBLAS_CORETYPE"]
    # An embedded daemon (no TENSORD_ADDR) sizes its compute pool from this.
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import tensord
    tensord.daemon_info()  # connects (or starts the embedded daemon) outside the timing

    results = {}
    builders = {"mlp": mlp, "cnn": cnn}
    for name in a.models.split(","):
        td_step, _ = make_step(tensord, builders[name], 64)
        t_td = time_steps(td_step, steps, repeat, lambda loss: loss.item())
        th_step, _ = make_step(torch, builders[name], 64)
        t_th = time_steps(th_step, steps, repeat, lambda loss: loss.item())
        results[name] = {"tensord_ms": t_td * 1e3, "torch_ms": t_th * 1e3, "ratio": t_td / t_th}
        print(f"{name:4s} step: tensord {t_td * 1e3:8.3f} ms   torch {t_th * 1e3:8.3f} ms   "
              f"ratio {t_td / t_th:5.2f}x   ({a.threads} threads)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
