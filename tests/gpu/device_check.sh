#!/usr/bin/env bash
# Runs ON the GPU machine, from the bundle that tests/gpu/run_gpu_checks.sh
# assembled (it builds nothing):
#
#   bash .bundle/device_check.sh
#
# Prints nvidia-smi -L, runs the CUDA backend test (a missing GPU is a
# failure here), the benchmark (cuda_bench), the same two operations through
# PyTorch as a baseline when python3 has CUDA torch, and a short table last.
# Libraries listed in EXTERNAL_LIBS (too large to bundle: cuBLAS) are taken
# from this machine: $TENSORD_CUDA_LIBDIR, /usr/local/cuda, pip's nvidia
# packages, or ld.so.cache. Exit status: 0 when the test and benchmark pass.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)

echo "== nvidia-smi -L"
nvidia-smi -L 2>&1 || echo "(nvidia-smi failed)"

# ---- libraries from this machine ----------------------------------------------
libdirs=""
ext_note="none needed"
if [ -s "$here/EXTERNAL_LIBS" ]; then
  candidates=(${TENSORD_CUDA_LIBDIR:-} /usr/local/cuda/lib64 /usr/local/cuda/lib
              /usr/local/cuda/targets/x86_64-linux/lib)
  for d in /usr/local/cuda-*/lib64; do candidates+=("$d"); done
  sites=$(python3 -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null || true)
  for sp in $sites; do candidates+=("$sp/nvidia/cu13/lib" "$sp/nvidia/cublas/lib"); done
  ext_note=""
  while read -r so; do
    [ -n "$so" ] || continue
    found=""
    for d in "${candidates[@]}"; do
      if [ -e "$d/$so" ]; then found=$d; break; fi
    done
    if [ -z "$found" ]; then
      for sp in $sites; do
        f=$(find "$sp" -maxdepth 4 -name "$so" 2>/dev/null | head -1)
        if [ -n "$f" ]; then found=$(dirname "$f"); break; fi
      done
    fi
    if [ -z "$found" ]; then
      f=$(ldconfig -p 2>/dev/null | awk -v so="$so" '$1 == so { print $NF; exit }')
      [ -n "$f" ] && found=$(dirname "$f")
    fi
    echo "$so: ${found:-NOT FOUND}"
    ext_note="${ext_note:+$ext_note; }$so from ${found:-NOT FOUND}"
    case ":$libdirs:" in *":$found:"*) ;; *) [ -n "$found" ] && libdirs="${libdirs:+$libdirs:}$found" ;; esac
  done <"$here/EXTERNAL_LIBS"
fi
export LD_LIBRARY_PATH="$here${libdirs:+:$libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
echo "== ldd libtensord_cuda.so"
ldd "$here/libtensord_cuda.so"

# ---- test -----------------------------------------------------------------------
echo "== cuda_backend_test"
TENSORD_REQUIRE_GPU=1 timeout 300 "$here/cuda_backend_test" 2>&1 | tee "$tmp/test.txt"
test_rc=${PIPESTATUS[0]}
passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$tmp/test.txt" | tail -1)
failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$tmp/test.txt" | tail -1)
skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$tmp/test.txt" | tail -1)
if [ "$test_rc" = 0 ]; then test_result="PASS"; else test_result="FAIL (exit $test_rc)"; fi
test_result="$test_result: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"

# ---- benchmark ------------------------------------------------------------------
echo "== cuda_bench"
timeout 180 "$here/cuda_bench" 2>&1 | tee "$tmp/bench.txt"
bench_rc=${PIPESTATUS[0]}

echo "== PyTorch baseline (same operations, same timing method)"
timeout 180 python3 - <<'PY' 2>&1 | tee "$tmp/torch.txt"
import statistics, time
try:
    import torch
except Exception as e:  # no torch: no baseline
    print("no torch:", e); raise SystemExit(0)
if not torch.cuda.is_available():
    print("torch sees no GPU"); raise SystemExit(0)
torch.backends.cuda.matmul.allow_tf32 = False  # plain FP32, like sgemm
print("BENCH torch_version", torch.__version__)

def per_call(fn, warmup, iters, reps=5):
    for _ in range(warmup): fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters): fn()
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t0) / iters)
    return statistics.median(ts)

n = 4096
a = torch.full((n, n), 1.0, device="cuda"); b = torch.full((n, n), 0.5, device="cuda")
c = torch.empty((n, n), device="cuda")
s = per_call(lambda: torch.mm(a, b, out=c), 3, 10)
print(f"BENCH torch_sgemm_4096 {2 * n**3 / s / 1e9:.0f} GFLOP/s")
del a, b, c
m = 64 << 20
a = torch.full((m,), 1.0, device="cuda"); b = torch.full((m,), 2.0, device="cuda")
c = torch.empty((m,), device="cuda")
s = per_call(lambda: torch.add(a, b, out=c), 3, 20)
print(f"BENCH torch_add_64M {12 * m / s / 1e9:.0f} GB/s")
PY

# ---- the daemon's CUDA path (bundle_daemon.sh packed it) -------------------------
daemon_result="not bundled"
if [ -f "$here/daemon.tar.xz" ]; then
  echo "== daemon_gpu_tests (tensord daemon + CUDA backend through the C++ client)"
  tar -C "$tmp" -xJf "$here/daemon.tar.xz"
  LD_LIBRARY_PATH="$tmp/daemon/lib:$LD_LIBRARY_PATH" TENSORD_REQUIRE_GPU=1 \
    TENSORD_BINARY="$tmp/daemon/bin/tensord" timeout 300 "$tmp/daemon/bin/daemon_gpu_tests" 2>&1 | tee "$tmp/daemon.txt"
  d_rc=${PIPESTATUS[0]}
  d_pass=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$tmp/daemon.txt" | tail -1)
  d_fail=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$tmp/daemon.txt" | tail -1)
  if [ "$d_rc" = 0 ]; then daemon_result="PASS"; else daemon_result="FAIL (exit $d_rc)"; fi
  daemon_result="$daemon_result: ${d_pass:-0} passed, ${d_fail:-0} failed"
  daemon_tflops=$(sed -n 's/.*TENSORD_GPU_MATMUL .* tflops=\([0-9.]*\).*/\1/p' "$tmp/daemon.txt" | tail -1)
fi

# ---- table ----------------------------------------------------------------------
val() { awk -v k="$1" '$1 == "BENCH" && $2 == k { print $3; exit }' "$tmp/bench.txt" "$tmp/torch.txt"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
device=$(awk '$1 == "BENCH" && $2 == "device" { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' "$tmp/bench.txt")
sg=$(val sgemm_4096); tsg=$(val torch_sgemm_4096)
ad=$(val add_64M); tad=$(val torch_add_64M)
if [ "$bench_rc" = 0 ]; then bench_result="ok"; else bench_result="FAIL (exit $bench_rc)"; fi

echo
echo "== tensord CUDA backend: device check"
printf '| %-30s | %-14s | %-14s | %-16s |\n' "check" "tensord" "torch" "tensord / torch"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..32})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..18})"
printf '| %-30s | %-14s | %-14s | %-16s |\n' "sgemm 4096^3 fp32, GFLOP/s" "${sg:--}" "${tsg:--}" "$(ratio "${sg:-0}" "${tsg:-0}")"
printf '| %-30s | %-14s | %-14s | %-16s |\n' "add 64M fp32, GB/s (3x4 B/elt)" "${ad:--}" "${tad:--}" "$(ratio "${ad:-0}" "${tad:-0}")"
tsg_tf=$(awk -v g="${tsg:-0}" 'BEGIN { if (g > 0) printf "%.2f", g / 1000; else print "-" }')
printf '| %-30s | %-14s | %-14s | %-16s |\n' "daemon matmul chain, TFLOP/s" "${daemon_tflops:--}" "$tsg_tf" "$(ratio "${daemon_tflops:-0}" "${tsg_tf:-0}")"
echo "device:            ${device:-unknown}"
echo "daemon_gpu_tests:  $daemon_result"
echo "torch:             $(val torch_version || true)"
echo "cuda_backend_test: $test_result"
echo "cuda_bench:        $bench_result"
echo "external libs:     $ext_note"
rm -rf "$tmp"
[ "$test_rc" = 0 ] && [ "$bench_rc" = 0 ] && [[ "$daemon_result" != FAIL* ]]
