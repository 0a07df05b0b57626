#!/usr/bin/env bash
# Adds the daemon path to .bundle/: the tensord binary, libtensord_cuda.so
# beside it (bin/ and lib/, the layout the daemon searches), the GPU daemon
# test, and the Debian libraries they link that a bare GPU machine lacks
# (gRPC, protobuf, abseil, oneDNN, spdlog, ...), packed as daemon.tar.xz to
# stay inside the 64 MiB a device call may carry. glibc's own libraries and
# the CUDA libraries named in EXTERNAL_LIBS are not packed.
#
#   tests/gpu/bundle_daemon.sh [build-dir]    (after run_gpu_checks.sh)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
bundle="$repo/.bundle"
[ -d "$bundle" ] || { echo "bundle_daemon: run tests/gpu/run_gpu_checks.sh first" >&2; exit 1; }
stage=$(mktemp -d)
mkdir -p "$stage/daemon/bin" "$stage/daemon/lib"
cp -L "$build/bin/tensord" "$build/bin/daemon_gpu_tests" "$stage/daemon/bin/"
cp -L "$(find "$build" -name libtensord_cuda.so -type f -print -quit)" "$stage/daemon/lib/"
skip='^(libc|libm|libdl|libpthread|librt|libresolv|ld-linux-x86-64|linux-vdso|libcuda)\.so'
for f in "$stage/daemon/bin/"* "$stage/daemon/lib/libtensord_cuda.so"; do
  ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r so path; do
  [[ "$so" =~ $skip ]] && continue
  grep -qx "$so" "$bundle/EXTERNAL_LIBS" 2>/dev/null && continue
  cp -L "$path" "$stage/daemon/lib/$so"
done
tar -C "$stage" -cJf "$bundle/daemon.tar.xz" daemon
rm -rf "$stage"
echo "bundle_daemon: $(du -h "$bundle/daemon.tar.xz" | cut -f1) daemon.tar.xz; bundle total $(du -sh "$bundle" | cut -f1)"
