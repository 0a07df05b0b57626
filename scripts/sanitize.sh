#!/usr/bin/env bash
# Builds the daemon and the C++ tests with AddressSanitizer and
# UndefinedBehaviorSanitizer (TENSORD_SANITIZE=address,undefined) in
# build-sanitize/ and runs every C++ test under them (ctest). Any report
# fails the test that triggered it. scripts/test.sh runs this unless
# TENSORD_SANITIZE_TESTS=0.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${TENSORD_SANITIZE_BUILD_DIR:-$ROOT/build-sanitize}
JOBS=${TENSORD_JOBS:-$(nproc)}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}
# This build has debug info (-g), and ccache then keys objects on the
# working directory too: every fresh clone (CI) would miss the cache and
# rebuild from cold. Without the directory in the key a clone hits; the
# debug info then names the directory that first compiled the file.
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

start=$(date +%s)
# -O1: sanitized code at -O3 builds much slower and reports no more.
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DTENSORD_SANITIZE=address,undefined -DTENSORD_CUDA=OFF -DTENSORD_BUILD_PYTHON=OFF \
  > "$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS"
built=$(date +%s)

# The daemon the tests start is the sanitized one (the fixture's compiled-in
# path); its reports go to its log, which a failing test prints.
unset TENSORD_BINARY
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd "$BUILD" && ctest --output-on-failure -j "$JOBS")
echo "sanitize: built in $((built - start)) s, tests ran $(( $(date +%s) - built )) s"
