// Helpers of the nn kernels: the norms, losses and activations (nn_norm,
// nn_loss, nn_activation: most compute in double on contiguous copies, then
// convert into results) and convolution/pooling (conv, pool).
#ifndef TENSORD_KERNELS_CPU_NN_UTIL_H_
#define TENSORD_KERNELS_CPU_NN_UTIL_H_

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/kernel.h"

namespace tensord {

// A contiguous copy of `t` converted to `dtype` (float64 by default).
inline Tensor Dense(const KernelContext& ctx, const Tensor& t, DType dtype = DType::kFloat64) {
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(dtype, t.meta.device, t.sizes()));
  CopyInto(out, t);
  return out;
}

// A new contiguous float64 scratch tensor of `sizes` filled with `value`.
inline Tensor Filled(const KernelContext& ctx, const Shape& sizes, double value) {
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(DType::kFloat64, Device{}, sizes));
  double* p = out.data<double>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] = value;
  return out;
}

// log(exp(a) + exp(b)) with -inf as the empty sum.
inline double LogAddExp(double a, double b) {
  const double m = std::max(a, b);
  if (m == -std::numeric_limits<double>::infinity()) return m;
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

// A contiguous tensor with t's values (t itself when already contiguous).
Tensor ContiguousOf(const KernelContext& ctx, const Tensor& t);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_NN_UTIL_H_
