"""Milliseconds per float32 pooling / normalisation op pair (forward and
backward) on [64, 32, 28, 28], tensord (its daemon's aten-level ops) against
torch 1.13 on the CPU: batch norm (training), group norm (8 groups), 2x2 and
3x3/2 max pooling (and the 2x2 forward alone), 2x2 average pooling, and
adaptive average pooling to 1x1 (global) and 7x7. Usage:
    python bench/bench_nn.py [--reps 10] [--repeat 7]   (best of repeat)
TENSORD_ONEDNN_NN=0 in the environment times the daemon's loops instead.
Both sides get OMP_WAIT_POLICY=PASSIVE (unless set): the daemon's oneDNN and
torch run OpenMP pools on the same cores, and spinning threads would steal
them from each other.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its OpenMP pool

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

    g1, g7 = (td.from_numpy(rng.standard_normal((64, 32, k, k), dtype=np.float32)) for k in (1, 7))
    td.synchronize()
    A = torch.ops.aten if torch is not None else None

    # Each case is one function of (module, call) run by both sides: tensord's
    # ops and torch.ops.aten have the same names and arguments.
    def bn(m, c):
        _, mean, invstd = c("native_batch_norm", X[m], W[m], B[m], RM[m], RV[m], True, 0.1, 1e-5)
        c("native_batch_norm_backward", G[m], X[m], W[m], RM[m], RV[m], mean, invstd, True, 1e-5,
          [True, True, True])

    def gn(m, c):
        _, mean, rstd = c("native_group_norm", X[m], W[m], B[m], 64, 32, 28 * 28, 8, 1e-5)
        c("native_group_norm_backward", G[m], X[m], mean, rstd, W[m], 64, 32, 28 * 28, 8,
          [True, True, True])

    def max2(m, c):
        _, i = c("max_pool2d_with_indices", X[m], [2, 2], [2, 2], [0, 0], [1, 1], False)
        c("max_pool2d_with_indices_backward", GP[m], X[m], [2, 2], [2, 2], [0, 0], [1, 1], False, i)

    def max2_fwd(m, c):
        c("max_pool2d_with_indices", X[m], [2, 2], [2, 2], [0, 0], [1, 1], False)

    def max3(m, c):
        _, i = c("max_pool2d_with_indices", X[m], [3, 3], [2, 2], [1, 1], [1, 1], False)
        c("max_pool2d_with_indices_backward", GP[m], X[m], [3, 3], [2, 2], [1, 1], [1, 1], False, i)

    def avg(m, c):
        c("avg_pool2d", X[m], [2, 2], [2, 2], [0, 0], False, True, None)
        c("avg_pool2d_backward", GP[m], X[m], [2, 2], [2, 2], [0, 0], False, True, None)

    def adaptive(size, grad):
        def f(m, c):
            c("adaptive_avg_pool2d", X[m], [size, size])
            c("_adaptive_avg_pool2d_backward" if m == "torch" else "adaptive_avg_pool2d_backward",
              grad[m], X[m])
        return f

    X, G, GP, W, B = ({"td": t} for t in (x, g, gp, w, b))
    RM, RV, G1, G7 = {"td": rm}, {"td": rv}, {"td": g1}, {"td": g7}
    if torch is not None:
        for d, a in ((X, x0), (G, g0), (GP, gp0), (W, w0), (B, b0)):
            d["torch"] = torch.from_numpy(a)
        RM["torch"], RV["torch"] = torch.zeros(32), torch.ones(32)
        G1["torch"], G7["torch"] = torch.from_numpy(g1.numpy()), torch.from_numpy(g7.numpy())
    cases = [("batch_norm train fwd+bwd", bn), ("group_norm 8 groups fwd+bwd", gn),
             ("max_pool2d 2x2 fwd+bwd", max2), ("max_pool2d 2x2 fwd", max2_fwd),
             ("max_pool2d 3x3/2 pad 1 fwd+bwd", max3), ("avg_pool2d 2x2 fwd+bwd", avg),
             ("adaptive_avg 1x1 fwd+bwd", adaptive(1, G1)), ("adaptive_avg 7x7 fwd+bwd", adaptive(7, G7))]
    rows, refs = [], []
    for name, f in cases:
        def run_td(f=f):
            f("td", call)
            td.synchronize()
        rows.append((name, run_td))
        refs.append((lambda f=f: f("torch", lambda op, *a: getattr(A, op)(*a))) if A is not None else None)
    print(f"{'[64,32,28,28] float32':32s} {'tensord ms':>11s} {'torch ms':>9s}")
    for (name, fn), ref in zip(rows, refs):
        ours = median_ms(fn, args.reps, args.repeat)
        theirs = median_ms(ref, args.reps, args.repeat) if ref is not None else float("nan")
        print(f"{name:32s} {ours:11.2f} {theirs:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
