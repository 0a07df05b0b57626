#!/usr/bin/env bash
# Builds the request fuzzer (clang: libFuzzer + ASan + UBSan) in build-fuzz/
# and runs it. Two modes:
#  - default (CI): seed 1, TENSORD_FUZZ_RUNS inputs (default 2,000,000, about
#    a minute). The same inputs every run, so CI is red only when a change
#    makes one of them a finding, never by the luck of the draw.
#  - TENSORD_FUZZ_SECONDS=N: a random seed for N seconds; the way to look
#    for new findings (scripts/fuzz.sh with a long N, on demand).
# The corpus in build-fuzz/corpus grows from run to run (CI starts empty);
# seeds are regenerated from the op schema each time, and every input in
# tests/fuzz/regressions (past findings, fixed) runs first. A finding leaves
# build-fuzz/crash-* and exits non-zero; fix it and add the input to
# tests/fuzz/regressions. tests/fuzz/CMakeLists.txt says what is covered.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${TENSORD_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
if [ -n "${TENSORD_FUZZ_SECONDS:-}" ]; then
  limit=(-max_total_time="$TENSORD_FUZZ_SECONDS")
  what="random seed, ${TENSORD_FUZZ_SECONDS} s"
else
  limit=(-seed=1 -runs="${TENSORD_FUZZ_RUNS:-2000000}")
  what="seed 1, ${TENSORD_FUZZ_RUNS:-2000000} runs"
fi
JOBS=${TENSORD_JOBS:-$(nproc)}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}
# This build has debug info (-g), and ccache then keys objects on the
# working directory too: every fresh clone (CI) would miss the cache and
# rebuild from cold. Without the directory in the key a clone hits; the
# debug info then names the directory that first compiled the file.
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

start=$(date +%s)
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DTENSORD_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DTENSORD_CUDA=OFF > "$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS" --target request_fuzzer make_seeds
built=$(date +%s)

rm -rf "$BUILD/seeds"
mkdir -p "$BUILD/seeds" "$BUILD/corpus"
"$BUILD/bin/make_seeds" "$BUILD/seeds"
cp "$ROOT"/tests/fuzz/regressions/* "$BUILD/seeds/"
# One process, RSS capped: an input that makes the rules allocate wildly is
# a finding too. -max_len covers a batch of a few dozen records.
"$BUILD/bin/request_fuzzer" "${limit[@]}" -rss_limit_mb=2048 -max_len=16384 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$BUILD/crash-" \
  "$BUILD/corpus" "$BUILD/seeds"
echo "fuzz: built in $((built - start)) s, ran $(( $(date +%s) - built )) s ($what)"
