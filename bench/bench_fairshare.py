#!/usr/bin/env python3
"""Fair share between tenants on one daemon: measured shares and a light
tenant's latency under load.

    .venv/bin/python bench/bench_fairshare.py                 # 10 s per phase
    .venv/bin/python bench/bench_fairshare.py --seconds 3 --json out.json

Starts its own daemons (a tenants file with tenants heavy_a, heavy_b and
light; --threads 1 so that one core is "the device") and, per phase, runs
two saturating heavy tenants (one client process each, streaming float32
matmuls without waiting) with weights 1:1, then 1:3. A heavy tenant's share
is its matmuls completed in the window over both tenants' (the kernels are
identical, so completed work is device time). Meanwhile the light tenant
sends one small op and waits for its value every 20 ms; its p50/p99
round-trip latency is compared with the same loop on an idle daemon.

Nothing here is asserted: the figures go in the issue notes. The heavy
clients' own CPU time competes with the daemon on a small machine, so run
it on a quiet one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKENS = {name: f"{name}-bench-token-0123456789" for name in ("heavy_a", "heavy_b", "light")}

HEAVY = r"""
import json, sys, time, tensord as torch
addr, token, seconds, size = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
torch.connect(addr, token=token)
a = torch.randn(size, size); b = torch.randn(size, size)
torch.synchronize()
print("ready", flush=True)
start_at = float(sys.stdin.readline())
while time.time() < start_at:
    time.sleep(0.001)
# Count matmuls completed inside [start_at, start_at + seconds]: keep the
# daemon's queue full (ops stream without waiting) and sync every chunk.
done = 0
end_at = start_at + seconds
while True:
    for _ in range(128):
        y = a @ b
    torch.synchronize()
    now = time.time()
    if now > end_at:
        break
    done += 128
print(json.dumps({"matmuls": done}), flush=True)
"""

LIGHT = r"""
import json, sys, time, tensord as torch
addr, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
torch.connect(addr, token=token)
x = torch.ones(16)
(x + 1).sum().item()
print("ready", flush=True)
start_at = float(sys.stdin.readline())
while time.time() < start_at:
    time.sleep(0.001)
lat = []
while time.time() < start_at + seconds:
    t0 = time.perf_counter()
    (x + 1).sum().item()
    lat.append(time.perf_counter() - t0)
    time.sleep(0.02)
print(json.dumps({"latencies": lat}), flush=True)
"""


def tenants_file(path: Path, weight_a: int, weight_b: int) -> None:
    def h(name: str) -> str:
        return hashlib.sha256(TOKENS[name].encode()).hexdigest()
    path.write_text(json.dumps({"tenants": {
        "heavy_a": {"token_sha256": h("heavy_a"), "weight": weight_a},
        "heavy_b": {"token_sha256": h("heavy_b"), "weight": weight_b},
        "light": {"token_sha256": h("light"), "weight": 1},
    }}))


def start_daemon(tmp: Path, weights: tuple[int, int]) -> tuple[subprocess.Popen, str]:
    binary = os.environ.get("TENSORD_BINARY") or str(ROOT / "build" / "bin" / "tensord")
    tenants = tmp / f"tenants-{weights[0]}-{weights[1]}.yaml"
    tenants_file(tenants, *weights)
    sock = tmp / f"d-{weights[0]}-{weights[1]}.sock"
    proc = subprocess.Popen([binary, "--listen", f"unix:{sock}", "--threads", "1",
                             "--tenants", str(tenants), "--log-level", "warn"])
    deadline = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("tensord did not start")
        time.sleep(0.01)
    return proc, f"unix:{sock}"


def client(code: str, address: str, tenant: str, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORD_")}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.Popen([sys.executable, "-c", code, address, TOKENS[tenant], *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def run_phase(tmp: Path, weights: tuple[int, int] | None, seconds: float, size: int) -> dict:
    """weights None: the light tenant alone on an idle daemon."""
    proc, address = start_daemon(tmp, weights or (1, 1))
    try:
        procs = {"light": client(LIGHT, address, "light", str(seconds))}
        if weights:
            for name in ("heavy_a", "heavy_b"):
                procs[name] = client(HEAVY, address, name, str(seconds), str(size))
        for p in procs.values():
            assert p.stdout.readline().strip() == "ready"
        start_at = f"{time.time() + 0.5}\n"
        for p in procs.values():
            p.stdin.write(start_at)
            p.stdin.flush()
        out = {name: json.loads(p.stdout.readline()) for name, p in procs.items()}
        for p in procs.values():
            p.wait(timeout=60)
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="measured window per phase")
    ap.add_argument("--size", type=int, default=256, help="heavy tenants' matmul size")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="tensord-fairshare-") as d:
        tmp = Path(d)
        idle = run_phase(tmp, None, args.seconds, args.size)["light"]["latencies"]
        results["idle"] = {"p50_ms": percentile(idle, 0.5) * 1e3, "p99_ms": percentile(idle, 0.99) * 1e3}
        for weights in ((1, 1), (1, 3)):
            out = run_phase(tmp, weights, args.seconds, args.size)
            a, b = out["heavy_a"]["matmuls"], out["heavy_b"]["matmuls"]
            lat = out["light"]["latencies"]
            share_a = a / max(1, a + b)
            target_a = weights[0] / sum(weights)
            results[f"{weights[0]}:{weights[1]}"] = {
                "matmuls_a": a, "matmuls_b": b, "share_a": share_a, "target_a": target_a,
                "share_error": abs(share_a - target_a) / target_a,
                "light_p50_ms": percentile(lat, 0.5) * 1e3, "light_p99_ms": percentile(lat, 0.99) * 1e3,
            }

    print(f"fair share, {args.seconds:g} s windows, heavy tenants stream {args.size}^2 f32 matmuls, "
          "daemon --threads 1")
    print(f"{'weights a:b':<12}{'matmuls a':>10}{'matmuls b':>10}{'share a':>9}{'target':>8}"
          f"{'error':>8}{'light p50 ms':>14}{'light p99 ms':>14}")
    print(f"{'idle':<12}{'':>10}{'':>10}{'':>9}{'':>8}{'':>8}"
          f"{results['idle']['p50_ms']:>14.2f}{results['idle']['p99_ms']:>14.2f}")
    for key in ("1:1", "1:3"):
        r = results[key]
        print(f"{key:<12}{r['matmuls_a']:>10}{r['matmuls_b']:>10}{r['share_a']:>9.3f}"
              f"{r['target_a']:>8.3f}{r['share_error'] * 100:>7.1f}%"
              f"{r['light_p50_ms']:>14.2f}{r['light_p99_ms']:>14.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
