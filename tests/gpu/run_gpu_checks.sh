#!/usr/bin/env bash
# Assembles .bundle/ at the repository root: a self-contained folder to carry
# to a GPU machine and run there with `bash .bundle/device_check.sh`.
#
#   tests/gpu/run_gpu_checks.sh [build-dir]     (default: build/)
#
# The build dir must hold the targets tensord_cuda, cuda_backend_test and
# cuda_bench. Runs here (no GPU needed). The bundle gets those three, the
# device script, and every non-system shared library they need (found with
# ldd) that fits the 64 MiB budget. The driver (libcuda.so.1) is never
# bundled. A library that does not fit -- libcublasLt is ~540 MB -- is listed
# in .bundle/EXTERNAL_LIBS, and so is any library that needs one of those
# (libcublas must match libcublasLt's version); device_check.sh finds them on
# the GPU machine. RUNPATH: $ORIGIN, set at link time (patchelf, if present,
# sets it on the copied CUDA libraries too).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
bundle="$repo/.bundle"
limit=$((64 * 1024 * 1024))
margin=$((1024 * 1024))  # scripts, notes, slack

die() { echo "run_gpu_checks: $*" >&2; exit 1; }
size_of() { stat -L -c %s "$1"; }
is_system() {
  case "$1" in /lib/* | /lib64/* | /usr/lib/* | /usr/lib64/*) return 0 ;; esac
  return 1
}
# "soname path" for each non-system library ldd resolves for $1;
# "soname not-found" for unresolved ones.
deps_of() {
  ldd "$1" 2>/dev/null | awk '
    $2 == "=>" && $3 == "not" { print $1, "not-found"; next }
    $2 == "=>" && $3 ~ /^\// { print $1, $3 }'
}

find_one() { find "$build" -name "$1" -type f -print -quit; }
lib=$(find_one libtensord_cuda.so)
test_bin=$(find_one cuda_backend_test)
bench_bin=$(find_one cuda_bench)
[ -n "$lib" ] && [ -n "$test_bin" ] && [ -n "$bench_bin" ] ||
  die "build tensord_cuda, cuda_backend_test and cuda_bench in $build first (ninja -C $build tensord_cuda cuda_backend_test cuda_bench)"

rm -rf "$bundle"
mkdir -p "$bundle"
cp -L "$lib" "$test_bin" "$bench_bin" "$bundle/"
cp "$repo/tests/gpu/device_check.sh" "$bundle/"
chmod +x "$bundle/device_check.sh"
own=(libtensord_cuda.so cuda_backend_test cuda_bench)

# Non-system dependencies (ldd lists them transitively).
declare -A path_of=()
for f in "${own[@]}"; do
  while read -r so p; do
    case "$so" in libcuda.so*) continue ;; esac  # the driver: on the GPU machine
    [ "$p" = not-found ] && die "$f: $so not found here"
    is_system "$p" || path_of[$so]=$p
  done < <(deps_of "$bundle/$f")
done

# Greedy by size, smallest first, within the budget.
used=$(du -sb "$bundle" | cut -f1)
budget=$((limit - margin - used))
declare -A take=()
while read -r sz so; do
  [ -z "$so" ] && continue
  if [ "$sz" -le "$budget" ]; then
    take[$so]=1
    budget=$((budget - sz))
  fi
done < <(for so in "${!path_of[@]}"; do echo "$(size_of "${path_of[$so]}") $so"; done | sort -n)
# Drop any library whose own non-system dependencies are not all taken.
changed=1
while [ $changed = 1 ]; do
  changed=0
  for so in "${!take[@]}"; do
    while read -r dep _; do
      case "$dep" in libcuda.so*) continue ;; esac
      if [ -n "${path_of[$dep]:-}" ] && [ -z "${take[$dep]:-}" ]; then
        unset "take[$so]"
        changed=1
        break
      fi
    done < <(deps_of "${path_of[$so]}")
  done
done

: >"$bundle/EXTERNAL_LIBS"
for so in $(printf '%s\n' "${!path_of[@]}" | sort); do
  if [ -n "${take[$so]:-}" ]; then
    cp -L "${path_of[$so]}" "$bundle/$so"
  else
    echo "$so" >>"$bundle/EXTERNAL_LIBS"
    echo "not bundled: $so ($(( $(size_of "${path_of[$so]}") / 1048576 )) MiB at ${path_of[$so]})"
  fi
done

if command -v patchelf >/dev/null; then
  for so in "${!take[@]}"; do patchelf --set-rpath '$ORIGIN' "$bundle/$so"; done
  rpath_note="patchelf set RUNPATH \$ORIGIN on the copied libraries"
else
  rpath_note="no patchelf: RUNPATH as linked"
fi

# Check: resolve each ELF the way a bare machine would (no ld.so.cache,
# bundle on the library path): everything must come from the bundle or the
# system, except the driver and the EXTERNAL_LIBS.
ldso=$(ls /lib64/ld-linux-x86-64.so.2 2>/dev/null || true)
problems=0
echo "== dependency check (ld.so --inhibit-cache --library-path .bundle)"
for f in "$bundle"/*; do
  [ -f "$f" ] && head -c 4 "$f" | grep -q ELF || continue
  runpath=$(readelf -d "$f" | sed -n 's/.*R\(UN\)\?PATH.*\[\(.*\)\]/\2/p')
  echo "$(basename "$f"): RUNPATH [${runpath}]"
  if [ -n "$ldso" ]; then
    listing=$("$ldso" --inhibit-cache --library-path "$bundle" --list "$f" 2>&1 || true)
  else
    listing=$(LD_LIBRARY_PATH="$bundle" ldd "$f" 2>&1 || true)
  fi
  while read -r so arrow p rest; do
    [ "$arrow" = "=>" ] || continue
    [ "$p" = not ] && p="not found"
    if [[ "$p" == "$bundle/"* ]] || is_system "$p"; then continue; fi
    case "$so" in libcuda.so*) echo "  $so: the driver, on the GPU machine"; continue ;; esac
    if grep -qx "$so" "$bundle/EXTERNAL_LIBS"; then
      echo "  $so => $p (here); in EXTERNAL_LIBS: taken from the GPU machine"
      continue
    fi
    echo "  PROBLEM: $so => $p"
    problems=$((problems + 1))
  done <<<"$listing"
done

echo "== bundle $bundle"
ls -l "$bundle"
total=$(du -sb "$bundle" | cut -f1)
echo "total: $total bytes ($((total / 1048576)) MiB; limit $((limit / 1048576)) MiB); $rpath_note"
[ "$total" -le "$limit" ] || { echo "bundle over the limit"; problems=$((problems + 1)); }
if [ "$problems" -ne 0 ]; then
  echo "run_gpu_checks: $problems problem(s)"
  exit 1
fi
echo "ok. On the GPU machine, from the repo root: bash .bundle/device_check.sh"
