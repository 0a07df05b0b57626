#!/usr/bin/env python3
"""tensord against local PyTorch and NumPy, side by side in one run.

    TENSORD_ADDR=unix:/tmp/d.sock .venv/bin/python bench/bench.py   # a running daemon
    .venv/bin/python bench/bench.py                                  # an embedded daemon
    .venv/bin/python bench/bench.py --quick --json out.json          # small sizes

Measures (a) tiny-op throughput: a Python loop of `t = t + 1` on a 16-element
float32 tensor ending in one sync; (b) a chain of float32 matmuls `x = x @ w`
ending in one sync; (b2) float32 conv2d forward [64, 3, 28, 28] -> 32 channels
(3x3, bias), repeated, ending in one sync; (c) upload (from_numpy + synchronize) and fetch (.numpy())
bandwidth of one large float32 tensor, against loopback TCP and Unix-socket
copies of the same bytes measured in the same run. Figures are medians of
--repeat runs. Ratios are tensord's time over the baseline's (above 1: tensord
is slower); for bandwidth, tensord's GB/s over the baseline's.

The PyTorch/NumPy side runs at its best configuration (TOOLCHAIN.md): on a CPU
with AVX-512, OPENBLAS_CORETYPE=SKYLAKEX and OMP_WAIT_POLICY=PASSIVE are set
before NumPy and PyTorch load, and removed again before the embedded daemon
starts, so the daemon runs with the environment the user gave.
"""
from __future__ import annotations

import os
import sys

# Before NumPy or PyTorch is imported: OpenBLAS and OpenMP read these when
# they load.
_BASELINE_ENV = {"OPENBLAS_CORETYPE": "SKYLAKEX", "OMP_WAIT_POLICY": "PASSIVE"}


def _has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return "avx512f" in line.split()
    except OSError:
        pass
    return False


_AVX512 = _has_avx512()
_ADDED_ENV = {}
if _AVX512:
    for _k, _v in _BASELINE_ENV.items():
        if _k not in os.environ:
            os.environ[_k] = _v
            _ADDED_ENV[_k] = _v

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:  # the bench still runs; the torch column says n/a
    torch = None

# Loaded: the daemon (embedded or not) must not inherit the baseline's tuning.
for _k in _ADDED_ENV:
    del os.environ[_k]

import tensord as td  # noqa: E402

MiB = 1 << 20


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ---------------------------------------------------------------- (a) tiny ops


def tiny_ops(n_ops: int, repeat: int) -> dict[str, float | None]:
    """Seconds per `t = t + 1` on 16 float32, the loop ending in one sync."""

    def run_td() -> None:
        t = td.zeros(16)
        for _ in range(n_ops):
            t = t + 1
        assert t.sum().item() == 16.0 * n_ops

    def run_torch() -> None:
        t = torch.zeros(16)
        for _ in range(n_ops):
            t = t + 1
        assert t.sum().item() == 16.0 * n_ops

    def run_np() -> None:
        t = np.zeros(16, dtype=np.float32)
        for _ in range(n_ops):
            t = t + np.float32(1)
        assert float(t.sum()) == 16.0 * n_ops

    out: dict[str, float | None] = {}
    for name, fn in (("tensord", run_td), ("torch", run_torch), ("numpy", run_np)):
        if name == "torch" and torch is None:
            out[name] = None
            continue
        fn()  # warm up (and check the result)
        out[name] = median_time(fn, repeat) / n_ops
    return out


# ---------------------------------------------------------------- (b) matmul


def matmul_chain(n: int, chain: int, repeat: int) -> dict[str, float | None]:
    """Seconds for `chain` products x = x @ w of n x n float32, then one sync."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((n, n), dtype=np.float32)
    # Entries of variance 1/n keep the chain's values finite (growth ~2x per
    # product at worst).
    w0 = (rng.standard_normal((n, n), dtype=np.float32) / np.sqrt(n)).astype(np.float32)

    tx, tw = td.from_numpy(x0), td.from_numpy(w0)
    td.synchronize()  # uploads are outside the timing

    def run_td() -> None:
        x = tx
        for _ in range(chain):
            x = x @ tw
        assert np.isfinite(x.sum().item())

    def run_torch() -> None:
        x, w = torch.from_numpy(x0), torch.from_numpy(w0)
        for _ in range(chain):
            x = x @ w
        assert np.isfinite(x.sum().item())

    def run_np() -> None:
        x = x0
        for _ in range(chain):
            x = x @ w0
        assert np.isfinite(float(x.sum()))

    out: dict[str, float | None] = {}
    for name, fn in (("tensord", run_td), ("torch", run_torch), ("numpy", run_np)):
        if name == "torch" and torch is None:
            out[name] = None
            continue
        fn()
        out[name] = median_time(fn, repeat)
    return out


# ---------------------------------------------------------------- (b2) conv2d


def conv2d_forward(batch: int, reps: int, repeat: int) -> dict[str, float | None]:
    """Seconds per float32 conv2d [batch, 3, 28, 28] -> 32 channels, 3x3, with
    bias, `reps` of them ending in one sync (numpy has no conv: n/a)."""
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((batch, 3, 28, 28), dtype=np.float32)
    w0 = rng.standard_normal((32, 3, 3, 3), dtype=np.float32)
    b0 = rng.standard_normal(32, dtype=np.float32)
    tx, tw, tb = td.from_numpy(x0), td.from_numpy(w0), td.from_numpy(b0)
    td.synchronize()

    def run_td() -> None:
        for _ in range(reps):
            y = td.conv2d(tx, tw, tb)
        td.synchronize()
        assert tuple(y.shape) == (batch, 32, 26, 26)

    def run_torch() -> None:
        x, w, b = torch.from_numpy(x0), torch.from_numpy(w0), torch.from_numpy(b0)
        for _ in range(reps):
            y = torch.nn.functional.conv2d(x, w, b)
        assert tuple(y.shape) == (batch, 32, 26, 26)

    out: dict[str, float | None] = {"numpy": None}
    for name, fn in (("tensord", run_td), ("torch", run_torch)):
        if name == "torch" and torch is None:
            out[name] = None
            continue
        fn()
        out[name] = median_time(fn, repeat) / reps
    return out


# ---------------------------------------------------------------- (c) transfer


def _socket_copy(family: int, nbytes: int, repeat: int) -> float:
    """Seconds to move nbytes from one socket to another through the kernel."""
    src = np.ones(nbytes, dtype=np.uint8)
    dst = bytearray(nbytes)
    times = []
    for _ in range(repeat):
        if family == socket.AF_INET:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            sender = socket.create_connection(listener.getsockname())
            receiver, _ = listener.accept()
            listener.close()
        else:
            sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

        def receive() -> None:
            view, got = memoryview(dst), 0
            while got < nbytes:
                n = receiver.recv_into(view[got:], min(4 * MiB, nbytes - got))
                if n == 0:
                    raise RuntimeError("socket closed early")
                got += n

        reader = threading.Thread(target=receive)
        start = time.perf_counter()
        reader.start()
        sender.sendall(memoryview(src))
        reader.join()
        times.append(time.perf_counter() - start)
        sender.close()
        receiver.close()
    return statistics.median(times)


def transfer(nbytes: int, repeat: int) -> dict[str, float]:
    """Seconds to upload / fetch nbytes of float32, and the baselines' seconds."""
    arr = np.random.default_rng(1).standard_normal(nbytes // 4, dtype=np.float32)
    holder: list[Any] = []

    def upload() -> None:
        holder[:] = [td.from_numpy(arr)]
        td.synchronize()

    def fetch() -> None:
        got = holder[0].numpy()
        assert got.nbytes == nbytes

    upload()  # warm up the stream
    fetch()
    out = {"upload": median_time(upload, repeat), "fetch": median_time(fetch, repeat)}
    np.testing.assert_array_equal(holder[0].numpy()[:1024], arr[:1024])
    holder.clear()
    out["tcp"] = _socket_copy(socket.AF_INET, nbytes, repeat)
    out["unix"] = _socket_copy(socket.AF_UNIX, nbytes, repeat)
    out["memcpy"] = median_time(lambda: arr.copy(), repeat)
    return out


# ---------------------------------------------------------------- report


def loaded_blas() -> list[str]:
    """The BLAS libraries this process has mapped (NumPy's and PyTorch's matmul)."""
    names = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                base = os.path.basename(path)
                if "blas" in base.lower() or "mkl" in base.lower():
                    names.add(path)
    except OSError:
        pass
    return sorted(names)


def fmt(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--repeat", type=int, default=None, help="runs per figure (median)")
    ap.add_argument("--torch-threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="PyTorch's intra-op threads (default: the CPUs this process may use; "
                    "Debian's torch may otherwise pick 1)")
    args = ap.parse_args()
    if torch is not None:
        torch.set_num_threads(args.torch_threads)

    if args.quick:
        n_ops, mm_n, mm_chain, xfer_bytes, repeat = 2000, 256, 4, 16 * MiB, 1
        conv_batch, conv_reps = 8, 2
    else:
        n_ops, mm_n, mm_chain, xfer_bytes, repeat = 100_000, 1024, 10, 256 * MiB, 3
        conv_batch, conv_reps = 64, 20
    repeat = args.repeat or repeat

    address = os.environ.get("TENSORD_ADDR") or "(embedded daemon)"
    info = td.daemon_info()  # connects (or starts the embedded daemon) outside the timing
    env = {
        "address": address,
        "daemon_version": info["daemon_version"],
        "daemon_devices": list(info["device_names"]),
        "cpus": os.cpu_count(),
        "avx512": _AVX512,
        # What NumPy and PyTorch saw when they loaded (a user's own value wins).
        "baseline_env": ({k: os.environ.get(k, v) for k, v in _BASELINE_ENV.items()}
                         if _AVX512 else {}),
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "numpy": np.__version__,
        "quick": args.quick,
        "repeat": repeat,
    }
    print(f"tensord bench: daemon {env['daemon_version']} at {address}; {env['daemon_devices']}")
    torch_desc = (f"torch {env['torch']} ({env['torch_threads']} threads)" if torch is not None
                  else "torch not installed")
    print(f"  {env['cpus']} CPUs, AVX-512 {'yes' if _AVX512 else 'no'}; {torch_desc}, "
          f"numpy {env['numpy']}; baseline env "
          f"{env['baseline_env'] or 'untouched'}; median of {repeat}")
    sys.stdout.flush()

    tiny = tiny_ops(n_ops, repeat)
    mm = matmul_chain(mm_n, mm_chain, repeat)
    conv = conv2d_forward(conv_batch, conv_reps, repeat)
    xfer = transfer(xfer_bytes, repeat)

    blas = loaded_blas()
    env["baseline_blas"] = blas
    if any("/blas/libblas" in b for b in blas) and not any("openblas" in b for b in blas):
        print("  note: NumPy/PyTorch use the reference BLAS (libblas3), not OpenBLAS: their "
              "matmul is far from its best; install libopenblas0-pthread for a fair baseline")
    flops = mm_chain * 2.0 * mm_n ** 3
    us = {k: (v * 1e6 if v is not None else None) for k, v in tiny.items()}
    ms = {k: (v * 1e3 if v is not None else None) for k, v in mm.items()}
    gf = {k: (flops / v / 1e9 if v else None) for k, v in mm.items()}
    gbs = {k: xfer_bytes / v / 1e9 for k, v in xfer.items()}
    conv_ms = {k: (v * 1e3 if v is not None else None) for k, v in conv.items()}

    rows = [
        (f"tiny add, 16 x f32, {n_ops} ops + sync", "us/op", us, 2),
        (f"matmul {mm_n}^2 f32 x{mm_chain} + sync", "ms", ms, 1),
        (f"matmul {mm_n}^2 f32 x{mm_chain} + sync", "GFLOP/s", gf, 1),
        (f"conv2d {conv_batch}x3x28x28->32 3x3 f32", "ms", conv_ms, 2),
    ]
    print()
    head = f"{'compute':40} {'unit':8} {'tensord':>9} {'torch':>9} {'numpy':>9} " \
           f"{'td/torch':>9} {'td/numpy':>9}"
    print(head)
    print("-" * len(head))
    for name, unit, v, digits in rows:
        # Ratios are of times: for GFLOP/s, the inverse of the figures' ratio.
        inv = unit == "GFLOP/s"
        r_t = ratio(v["torch"], v["tensord"]) if inv else ratio(v["tensord"], v["torch"])
        r_n = ratio(v["numpy"], v["tensord"]) if inv else ratio(v["tensord"], v["numpy"])
        print(f"{name:40} {unit:8} {fmt(v['tensord'], digits):>9} {fmt(v['torch'], digits):>9} "
              f"{fmt(v['numpy'], digits):>9} {r_t:>9} {r_n:>9}")

    size = f"{xfer_bytes // MiB} MiB f32"
    print()
    head = f"{'transfer (GB/s)':40} {'tensord':>9} {'TCP lo':>9} {'unix':>9} {'memcpy':>9} " \
           f"{'td/TCP':>9}"
    print(head)
    print("-" * len(head))
    for name, key in ((f"upload {size} (from_numpy + sync)", "upload"),
                      (f"fetch {size} (.numpy())", "fetch")):
        print(f"{name:40} {gbs[key]:>9.2f} {gbs['tcp']:>9.2f} {gbs['unix']:>9.2f} "
              f"{gbs['memcpy']:>9.2f} {gbs[key] / gbs['tcp']:>9.2f}")
    print("\nratios: td/torch, td/numpy are tensord's time over theirs (>1: tensord slower); "
          "td/TCP is tensord's GB/s over loopback TCP's.")

    if args.json:
        result = {
            "env": env,
            "tiny_add": {"ops": n_ops, "us_per_op": us},
            "matmul": {"n": mm_n, "chain": mm_chain, "ms": ms, "gflops": gf},
            "conv2d": {"batch": conv_batch, "reps": conv_reps, "ms": conv_ms},
            "transfer": {"bytes": xfer_bytes, "gb_per_s": gbs},
        }
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
