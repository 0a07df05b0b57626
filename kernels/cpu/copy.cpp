// Copies and conversions: CastTo/CopyInto and the ops built on them.
#include <cstring>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/loops.h"
#include "kernels/kernel.h"

namespace tensord {

void CopyInto(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() &&
      dst.sizes() == src.sizes()) {
    const size_t n = dst.meta.nbytes();
    ParallelFor(static_cast<int64_t>(n), 1 << 20, [&](int64_t b, int64_t e) {
      std::memcpy(dst.raw() + b, src.raw() + b, static_cast<size_t>(e - b));
    });
    return;
  }
  DispatchAll(dst.dtype(), "copy_", [&]<typename To>() {
    DispatchAll(src.dtype(), "copy_", [&]<typename From>() {
      UnaryLoop<To, From>(dst, src, [](From v) { return Convert<To, From>(v); });
    });
  });
}

Tensor CastTo(const Tensor& t, DType dtype, const std::shared_ptr<MemoryTracker>& tracker) {
  if (t.dtype() == dtype) return t;
  TensorMeta m = t.meta;
  m.dtype = dtype;
  Tensor out = Tensor::Empty(m, tracker);
  CopyInto(out, t);
  return out;
}

namespace {

void CopyOutKernel(KernelContext& ctx) { CopyInto(ctx.output(), ctx.tensor(0)); }

void CopyInPlaceKernel(KernelContext& ctx) { CopyInto(ctx.tensor(0), ctx.tensor(1)); }

void FillKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor value = ctx.tensor_or_scalar(1, self.dtype());
  CopyInto(self, value);
}

}  // namespace

void RegisterCopyKernels(KernelRegistry& r) {
  for (const char* op : {"contiguous", "clone", "to_dtype", "to_device"}) {
    r.Register(op, Device::Kind::kCPU, &CopyOutKernel);
  }
  r.Register("copy_", Device::Kind::kCPU, &CopyInPlaceKernel);
  r.Register("fill_", Device::Kind::kCPU, &FillKernel);
}

}  // namespace tensord
