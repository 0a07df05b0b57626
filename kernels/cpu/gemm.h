// Batched matrix products shared by matmul, mm/bmm/mv/dot, the addmm family
// and einsum.
#ifndef TENSORD_KERNELS_CPU_GEMM_H_
#define TENSORD_KERNELS_CPU_GEMM_H_

#include <string_view>

#include "kernels/kernel.h"

namespace tensord {

// out[b] = alpha * (a[b] @ c[b]) + beta * out[b] for b < B, with a [B, N, K]
// and c [B, K, M] of out's dtype in any strides (0 along broadcast dims) and
// out a contiguous [B, N, M]. beta == 0 ignores out's old values (NaN
// included), as BLAS does. float32 runs on oneDNN's sgemm (transposed views
// need no copy); other dtypes on a loop parallel over rows, accumulating in
// opmath_t. For integral dtypes alpha and beta are truncated, as in ATen.
void BatchedGemm(const KernelContext& ctx, std::string_view op, const Tensor& a, const Tensor& c,
                 const Tensor& out, double alpha = 1, double beta = 0);

// A view of `t` with the given sizes and strides (in elements), same offset.
Tensor StridedView(const Tensor& t, Shape sizes, Shape strides);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_GEMM_H_
