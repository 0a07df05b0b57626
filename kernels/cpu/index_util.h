// Helpers of the gather/scatter/index kernels: strided iteration with any
// number of operands, byte-generic element copies, index validation.
#ifndef TENSORD_KERNELS_CPU_INDEX_UTIL_H_
#define TENSORD_KERNELS_CPU_INDEX_UTIL_H_

#include <cstring>
#include <string_view>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/cpu/loops.h"
#include "kernels/kernel.h"

namespace tensord {

// Calls f(offsets, idx) for every element of `sizes` in row-major order,
// where offsets[k] = sum_d idx[d] * strides[k][d] (in the callers' units).
// Serial: scatters with duplicate indices must apply in order.
template <typename F>
void ForEachOffset(const Shape& sizes, const std::vector<Shape>& strides, F&& f) {
  const size_t k_count = strides.size();
  const int nd = static_cast<int>(sizes.size());
  std::vector<int64_t> off(k_count, 0);
  if (Numel(sizes) == 0) return;
  if (nd == 0) {
    const int64_t* none = nullptr;
    f(off.data(), none);
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  const int64_t inner = sizes[nd - 1];
  for (;;) {
    for (int64_t i = 0; i < inner; ++i) {
      idx[nd - 1] = i;
      f(off.data(), static_cast<const int64_t*>(idx.data()));
      for (size_t k = 0; k < k_count; ++k) off[k] += strides[k][nd - 1];
    }
    for (size_t k = 0; k < k_count; ++k) off[k] -= inner * strides[k][nd - 1];
    int d = nd - 2;
    for (; d >= 0; --d) {
      if (++idx[d] < sizes[d]) {
        for (size_t k = 0; k < k_count; ++k) off[k] += strides[k][d];
        break;
      }
      idx[d] = 0;
      for (size_t k = 0; k < k_count; ++k) off[k] -= (sizes[d] - 1) * strides[k][d];
    }
    if (d < 0) return;
  }
}

// Copies one element of `item` bytes.
inline void CopyElem(char* dst, const char* src, size_t item) {
  switch (item) {
    case 1: *dst = *src; break;
    case 2: std::memcpy(dst, src, 2); break;
    case 4: std::memcpy(dst, src, 4); break;
    case 8: std::memcpy(dst, src, 8); break;
    default: std::memcpy(dst, src, item);
  }
}

// An int64 copy of an index tensor (the tensor itself when already int64).
inline Tensor AsInt64(const KernelContext& ctx, const Tensor& t) {
  return CastTo(t, DType::kInt64, ctx.tracker);
}

// A contiguous copy of `t` unless it already is contiguous.
Tensor Contiguous(const KernelContext& ctx, const Tensor& t);

// `src`, or a copy of it when it shares a storage with `dst` (so an in-place
// write cannot change values still to be read).
Tensor Unaliased(const KernelContext& ctx, const Tensor& src, const Tensor& dst);

// How an out-of-range index is reported (PyTorch's wording per op).
enum class IndexMessage {
  kBounds,       // IndexError "index 5 is out of bounds for dimension 0 with size 3"
  kBoundsRT,     // the same, as RuntimeError (gather/scatter)
  kOutOfRange,   // IndexError "index out of range in self"
  kTake,         // IndexError "out of range: tried to access index 10 on a tensor of 6 elements."
};

// Checks every value of int64 tensor `index` against a dim of `size`:
// [-size, size) when negatives wrap, else [0, size). Throws before any write.
void CheckIndices(std::string_view op, const Tensor& index, int64_t size, int64_t dim,
                  bool allow_negative, IndexMessage style);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_INDEX_UTIL_H_
