// Shared plumbing of the elementwise kernels (unary, binary, compare,
// pointwise): where results go, and operands converted to a compute dtype.
#ifndef TENSORD_KERNELS_CPU_ELEMENTWISE_UTIL_H_
#define TENSORD_KERNELS_CPU_ELEMENTWISE_UTIL_H_

#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/core/error.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/kernel.h"

namespace tensord {

// The result of an elementwise kernel: the new output, or self for an
// in-place op. The kernel writes `dst`, which is the result itself when that
// has the kernel's dtype, else a contiguous temporary that Finish() converts
// into the result (in-place ops whose self has another dtype).
struct ElementwiseDst {
  Tensor out;
  Tensor dst;

  ElementwiseDst(KernelContext& ctx, DType dtype) {
    out = ctx.op.returns == ReturnKind::kInPlace ? ctx.tensor(ctx.op.alias_param) : ctx.output();
    dst = out.dtype() == dtype
              ? out
              : ctx.NewTensor(TensorMeta::Contiguous(dtype, out.meta.device, out.sizes()));
  }
  void Finish() const {
    if (dst.storage != out.storage) CopyInto(out, dst);
  }
};

// Argument `arg` (a tensor, or a Python number as a 0-d tensor) converted to
// `dtype`.
inline Tensor OperandAs(const KernelContext& ctx, size_t arg, DType dtype) {
  return CastTo(ctx.tensor_or_scalar(arg, dtype), dtype, ctx.tracker);
}

// NaN test that compiles for every element type (false for integers).
template <typename M>
inline bool IsNanValue(M x) {
  if constexpr (std::is_floating_point_v<M>) {
    return std::isnan(x);
  } else {
    return false;
  }
}

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_ELEMENTWISE_UTIL_H_
