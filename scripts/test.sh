#!/usr/bin/env bash
# Builds everything and runs every test: C++ (ctest) then Python (pytest).
# Installs missing Debian packages and the .venv first. Extra arguments go to
# pytest (e.g. -k matmul). Also runs the request fuzzer (scripts/fuzz.sh:
# a fixed seed and TENSORD_FUZZ_RUNS inputs; TENSORD_FUZZ_RUNS=0 skips it,
# TENSORD_FUZZ_SECONDS=N fuzzes N seconds at random) and the C++ tests
# again under ASan + UBSan (scripts/sanitize.sh, build-sanitize/;
# TENSORD_SANITIZE_TESTS=0 skips it). docs/security.md says what each finds.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
echo "== C++ tests"
(cd "$BUILD" && ctest --output-on-failure -j "$JOBS")
if [ "${TENSORD_SANITIZE_TESTS:-1}" != 0 ]; then
  echo "== C++ tests under ASan + UBSan (build-sanitize)"
  bash "$ROOT/scripts/sanitize.sh"
fi
if [ "${TENSORD_FUZZ_RUNS:-1}" != 0 ] && [ "${TENSORD_FUZZ_SECONDS:-1}" != 0 ]; then
  echo "== request fuzzer (build-fuzz)"
  bash "$ROOT/scripts/fuzz.sh"
fi
echo "== Python tests"
export TENSORD_BINARY="$BUILD/bin/tensord"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python "$@"
