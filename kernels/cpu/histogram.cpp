// Counting ops with data-dependent ranges: bincount and histc.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

// A contiguous copy of t converted to dtype (CastTo may return t, strided).
Tensor ContiguousCopy(const KernelContext& ctx, const Tensor& t, DType dtype) {
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(dtype, t.meta.device, t.sizes()));
  CopyInto(out, t);
  return out;
}

// Counts of each value of a 1-d non-negative integral tensor (or sums of
// the matching weights); the size is max + 1, at least minlength.
void BincountKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor vals = ContiguousCopy(ctx, self, DType::kInt64);
  const int64_t* v = vals.data<int64_t>();
  const int64_t n = self.numel();
  int64_t size = ctx.args.get_int(ctx.op.param_index("minlength"));
  for (int64_t i = 0; i < n; ++i) {
    TD_CHECK(v[i] >= 0, kRuntime, "[bincount] bincount only supports 1-d non-negative integral "
             "inputs.");
    size = std::max(size, v[i] + 1);
  }
  const DType out_dtype = ctx.out_metas[0].dtype;
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(out_dtype, self.meta.device, {size}));
  const int w = ctx.op.param_index("weights");
  if (ctx.args.is_none(w)) {
    int64_t* o = out.data<int64_t>();
    std::fill_n(o, size, 0);
    for (int64_t i = 0; i < n; ++i) ++o[v[i]];
  } else {
    Tensor weights = ContiguousCopy(ctx, ctx.tensor(w), DType::kFloat64);
    const double* wt = weights.data<double>();
    std::vector<double> sums(size, 0.0);
    for (int64_t i = 0; i < n; ++i) sums[v[i]] += wt[i];
    DispatchFloating(out_dtype, ctx.op.name, [&]<typename T>() {
      T* o = out.data<T>();
      for (int64_t i = 0; i < size; ++i) o[i] = Convert<T>(sums[i]);
    });
  }
  ctx.outputs.resize(1);
  ctx.outputs[0] = std::move(out);
}

// bins equal-width bins over [min, max]; both 0 (equal) means the data's
// range, widened by 1 each way when the data is constant. Elements outside
// the range, and NaN, are not counted; max falls in the last bin.
void HistcKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const int64_t bins = ctx.args.get_int(ctx.op.param_index("bins"));
  double lo = ctx.args.get_float(ctx.op.param_index("min"));
  double hi = ctx.args.get_float(ctx.op.param_index("max"));
  Tensor x = ContiguousCopy(ctx, ctx.tensor(0), DType::kFloat64);
  const double* p = x.data<double>();
  const int64_t n = x.numel();
  if (lo == hi && n > 0) {
    lo = *std::min_element(p, p + n, [](double a, double b) { return a < b || std::isnan(a); });
    hi = *std::max_element(p, p + n, [](double a, double b) { return a < b || std::isnan(b); });
  }
  if (lo == hi) {
    lo -= 1;
    hi += 1;
  }
  TD_CHECK(std::isfinite(lo) && std::isfinite(hi), kRuntime, "[histc] torch.histc: range of [",
           lo, ", ", hi, "] is not finite");
  std::vector<double> counts(bins, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    if (!(p[i] >= lo && p[i] <= hi)) continue;
    int64_t b = static_cast<int64_t>((p[i] - lo) / (hi - lo) * static_cast<double>(bins));
    counts[std::min(b, bins - 1)] += 1;
  }
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    T* o = out.data<T>();
    for (int64_t i = 0; i < bins; ++i) o[i] = Convert<T>(counts[i]);
  });
}

}  // namespace

void RegisterHistogramKernels(KernelRegistry& r) {
  r.Register("bincount", Device::Kind::kCPU, &BincountKernel);
  r.Register("histc", Device::Kind::kCPU, &HistcKernel);
}

}  // namespace tensord
