// Joins: cat and stack copy (and convert) each input into its slot of the
// result. Splits are views and need no kernel.
#include "kernels/kernel.h"
#include "kernels/meta/shape_util.h"

namespace tensord {
namespace {

void CatKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const auto inputs = ctx.tensor_list(0);
  if (out.dim() == 1 && out.sizes()[0] == 0) return;
  const int64_t dim = WrapDim(ctx.args.get_int(1), out.dim());
  int64_t pos = 0;
  for (const Tensor* t : inputs) {
    if (t->dim() == 1 && t->sizes()[0] == 0) continue;
    const int64_t n = t->sizes()[dim];
    if (n > 0) CopyInto(out.View(SliceMeta(out.meta, dim, pos, pos + n, 1)), *t);
    pos += n;
  }
}

void StackKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const auto inputs = ctx.tensor_list(0);
  const int64_t dim = WrapDim(ctx.args.get_int(1), out.dim());
  for (size_t i = 0; i < inputs.size(); ++i) {
    CopyInto(out.View(SelectMeta(out.meta, dim, static_cast<int64_t>(i))), *inputs[i]);
  }
}

}  // namespace

void RegisterJoinKernels(KernelRegistry& r) {
  r.Register("cat", Device::Kind::kCPU, &CatKernel);
  r.Register("stack", Device::Kind::kCPU, &StackKernel);
}

}  // namespace tensord
