// Reduction layout shared by the reduction kernels.
#ifndef TENSORD_KERNELS_CPU_REDUCE_UTIL_H_
#define TENSORD_KERNELS_CPU_REDUCE_UTIL_H_

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

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_REDUCE_UTIL_H_
