// Layouts and element helpers shared by the reduction, scan and sort kernels.
#ifndef TENSORD_KERNELS_CPU_REDUCE_UTIL_H_
#define TENSORD_KERNELS_CPU_REDUCE_UTIL_H_

#include <algorithm>

#include "kernels/core/dtype.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"

namespace tensord {

// The input of a reduction as `rows` contiguous rows of `row_size`
// elements of `dtype`: row i reduces into output element i (row-major over
// the kept dims). Reads the op's "dim" argument (None: every dim).
struct ReduceRows {
  Tensor data;
  int64_t rows = 0;
  int64_t row_size = 0;
};
ReduceRows MakeReduceRows(const KernelContext& ctx, const Tensor& self, DType dtype);

// Self with `dim` moved last, copied into contiguous rows of `dtype`: row i
// holds the elements along dim of the i-th position of the other dims
// (row-major). A 0-d tensor is one row of one.
ReduceRows MakeDimRows(const KernelContext& ctx, const Tensor& self, int64_t dim, DType dtype);
// A view of `t` with `dim` moved last (or first), the layout of MakeDimRows.
Tensor MoveDim(const Tensor& t, int64_t dim, bool to_last = true);
// Copies rows laid out as MakeDimRows makes them (of any dtype, and any
// length along dim) into `out`.
void StoreDimRows(const Tensor& out, int64_t dim, const Tensor& rows);

// Calls fn(i) for every row i in [0, rows), in parallel chunks of about 16K
// elements. fn must not throw.
template <typename F>
void ForEachRow(int64_t rows, int64_t row_size, F&& fn) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(row_size, 1));
  ParallelFor(rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fn(i);
  });
}

template <typename T>
inline bool IsNan(T v) {
  if constexpr (std::is_integral_v<T>) {
    return false;
  } else {
    const opmath_t<T> m = v;
    return m != m;
  }
}

// a < b with NaN above every number (PyTorch's sort order).
template <typename T>
inline bool LessNanLast(T a, T b) {
  using M = opmath_t<T>;
  return static_cast<M>(a) < static_cast<M>(b) || (!IsNan(a) && IsNan(b));
}

// Exact equality where NaN equals nothing.
template <typename T>
inline bool Same(T a, T b) {
  using M = opmath_t<T>;
  return static_cast<M>(a) == static_cast<M>(b);
}

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_REDUCE_UTIL_H_
