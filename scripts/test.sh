#!/usr/bin/env bash
# Builds everything and runs every test: C++ (ctest) then Python (pytest).
# Installs missing Debian packages and the .venv first. Extra arguments go to
# pytest (e.g. -k matmul).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
echo "== C++ tests"
(cd "$BUILD" && ctest --output-on-failure -j "$JOBS")
echo "== Python tests"
export TENSORD_BINARY="$BUILD/bin/tensord"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python "$@"
