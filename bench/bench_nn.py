"""Milliseconds per float32 batch_norm (training) forward+backward and
max_pool2d / avg_pool2d forward+backward on [64, 32, 28, 28], tensord (its
daemon's aten-level ops) against torch 1.13 on the CPU. Usage:
    python bench/bench_nn.py [--reps 10] [--repeat 7]   (best of repeat)
TENSORD_ONEDNN_NN=0 in the environment times the daemon's loops instead.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

try:
    import torch
except ImportError:
    torch = None

import tensord as td

SHAPE = (64, 32, 28, 28)


def call(name, *args):
    return td._C.call(name, args, {})


def median_ms(fn, reps: int, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return min(times) * 1e3  # best of `repeat`: the machine may be shared


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if torch is not None:
        torch.set_num_threads(len(os.sched_getaffinity(0)))
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(SHAPE, dtype=np.float32)
    g0 = rng.standard_normal(SHAPE, dtype=np.float32)
    gp0 = rng.standard_normal((64, 32, 14, 14), dtype=np.float32)
    w0 = rng.standard_normal(32, dtype=np.float32)
    b0 = rng.standard_normal(32, dtype=np.float32)
    x, g, gp, w, b = (td.from_numpy(a) for a in (x0, g0, gp0, w0, b0))
    rm, rv = td.zeros(32), td.ones(32)
    td.synchronize()

    def td_bn():
        _, m, s = td.native_batch_norm(x, w, b, rm, rv, True, 0.1, 1e-5)
        call("native_batch_norm_backward", g, x, w, rm, rv, m, s, True, 1e-5, [1, 1, 1])
        td.synchronize()

    def td_max():
        _, i = td.max_pool2d_with_indices(x, [2, 2], [2, 2])
        call("max_pool2d_with_indices_backward", gp, x, [2, 2], [2, 2], [0, 0], [1, 1], False, i)
        td.synchronize()

    def td_avg():
        call("avg_pool2d", x, [2, 2], [2, 2], [0, 0], False, True, None)
        call("avg_pool2d_backward", gp, x, [2, 2], [2, 2], [0, 0], False, True, None)
        td.synchronize()

    rows = [("batch_norm train fwd+bwd", td_bn), ("max_pool2d 2x2 fwd+bwd", td_max),
            ("avg_pool2d 2x2 fwd+bwd", td_avg)]
    if torch is not None:
        tx, tg, tgp, tw, tb = (torch.from_numpy(a) for a in (x0, g0, gp0, w0, b0))
        trm, trv = torch.zeros(32), torch.ones(32)
        A = torch.ops.aten

        def t_bn():
            _, m, s = A.native_batch_norm(tx, tw, tb, trm, trv, True, 0.1, 1e-5)
            A.native_batch_norm_backward(tg, tx, tw, trm, trv, m, s, True, 1e-5, [True, True, True])

        def t_max():
            _, i = A.max_pool2d_with_indices(tx, [2, 2], [2, 2])
            A.max_pool2d_with_indices_backward(tgp, tx, [2, 2], [2, 2], [0, 0], [1, 1], False, i)

        def t_avg():
            A.avg_pool2d(tx, [2, 2], [2, 2], [0, 0], False, True, None)
            A.avg_pool2d_backward(tgp, tx, [2, 2], [2, 2], [0, 0], False, True, None)

        refs = [t_bn, t_max, t_avg]
    else:
        refs = [None] * 3
    print(f"{'[64,32,28,28] float32':28s} {'tensord ms':>11s} {'torch ms':>9s}")
    for (name, fn), ref in zip(rows, refs):
        ours = median_ms(fn, args.reps, args.repeat)
        theirs = median_ms(ref, args.reps, args.repeat) if ref is not None else float("nan")
        print(f"{name:28s} {ours:11.2f} {theirs:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
