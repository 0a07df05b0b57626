// Shape ops that may copy. Pure views (view, transpose, ...) need no kernel:
// the executor builds them from their rules.
#include "kernels/kernel.h"
#include "kernels/meta/shape_util.h"

namespace tensord {
namespace {

// reshape: the rule gave view strides when a view exists; then alias the
// input storage, else copy into the contiguous result.
void ReshapeKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const TensorMeta& m = ctx.out_metas[0];
  if (ViewStrides(self.sizes(), self.strides(), m.sizes)) {
    ctx.outputs.assign(1, self.View(m));
    return;
  }
  Tensor& out = ctx.output();
  Tensor src = self;
  if (!src.is_contiguous()) {
    src = ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, self.sizes()));
    CopyInto(src, self);
  }
  TensorMeta flat = src.meta;
  flat.sizes = m.sizes;
  flat.strides = ContiguousStrides(m.sizes);
  CopyInto(out, src.View(flat));
}

}  // namespace

void RegisterShapeKernels(KernelRegistry& r) {
  r.Register("reshape", Device::Kind::kCPU, &ReshapeKernel);
}

}  // namespace tensord
