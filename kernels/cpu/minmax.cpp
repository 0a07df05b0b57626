// max/min-style reductions: values and (first) indices of extremes. NaN
// wins over every number and the first NaN is the one reported, as in PyTorch.
#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/reduce_util.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

// Index of the first extreme of p[0..n) (n > 0): the largest when kMax.
template <bool kMax, typename T>
int64_t ExtremeIndex(const T* p, int64_t n) {
  using M = opmath_t<T>;
  int64_t best = 0;
  if (IsNan(p[0])) return 0;
  for (int64_t j = 1; j < n; ++j) {
    if (IsNan(p[j])) return j;
    const M a = p[j], b = p[best];
    if (kMax ? a > b : a < b) best = j;
  }
  return best;
}

// Reduces the rows of self (in its dtype) into values and/or indices;
// either output may be null.
template <bool kMax>
void Extremes(const KernelContext& ctx, Tensor* values, Tensor* indices) {
  const Tensor& self = ctx.tensor(0);
  ReduceRows r = MakeReduceRows(ctx, self, self.dtype());
  DispatchAll(self.dtype(), ctx.op.name, [&]<typename T>() {
    const T* in = r.data.data<T>();
    T* v = values ? values->data<T>() : nullptr;
    int64_t* ix = indices ? indices->data<int64_t>() : nullptr;
    ForEachRow(r.rows, r.row_size, [&](int64_t i) {
      const T* p = in + i * r.row_size;
      const int64_t j = ExtremeIndex<kMax>(p, r.row_size);
      if (v) v[i] = p[j];
      if (ix) ix[i] = j;
    });
  });
}

// max, amax, max_dim, argmax and the min variants (variant = op name).
void ExtremeKernel(KernelContext& ctx) {
  const std::string& v = ctx.op.variant;
  const bool is_max = v.find("max") != std::string::npos;
  Tensor* values = v.starts_with("arg") ? nullptr : &ctx.output(0);
  Tensor* indices = v.starts_with("arg") ? &ctx.output(0) : v.ends_with("_dim") ? &ctx.output(1) : nullptr;
  if (is_max) {
    Extremes<true>(ctx, values, indices);
  } else {
    Extremes<false>(ctx, values, indices);
  }
}

void AminmaxKernel(KernelContext& ctx) {
  Extremes<false>(ctx, &ctx.output(0), nullptr);
  Extremes<true>(ctx, &ctx.output(1), nullptr);
}

}  // namespace

void RegisterMinMaxKernels(KernelRegistry& r) {
  for (const char* op : {"max", "min", "amax", "amin", "max_dim", "min_dim", "argmax", "argmin"}) {
    r.Register(op, Device::Kind::kCPU, &ExtremeKernel);
  }
  r.Register("aminmax", Device::Kind::kCPU, &AminmaxKernel);
}

}  // namespace tensord
