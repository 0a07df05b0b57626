// Elementwise ops of three operands: where, lerp, clamp (clip).
#include <cmath>
#include <string>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/elementwise_util.h"
#include "kernels/cpu/loops.h"
#include "kernels/kernel.h"
#include "kernels/meta/rule_util.h"

namespace tensord {
namespace {

void WhereKernel(KernelContext& ctx) {
  const DType compute = ctx.out_metas[0].dtype;
  ElementwiseDst d(ctx, compute);
  const Tensor cond = OperandAs(ctx, 0, DType::kBool);
  const Tensor a = OperandAs(ctx, 1, compute);
  const Tensor b = OperandAs(ctx, 2, compute);
  DispatchAll(compute, ctx.op.name, [&]<typename T>() {
    auto loop = MakeLoop<4>(d.dst.sizes(), {&d.dst, &cond, &a, &b});
    RunLoop<4>(loop, [](std::array<char*, 4> p, std::array<int64_t, 4> s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        const bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
        *reinterpret_cast<T*>(p[0] + i * s[0]) =
            *reinterpret_cast<const T*>(p[c ? 2 : 3] + i * s[c ? 2 : 3]);
      }
    });
  });
  d.Finish();
}

// PyTorch's lerp: the form that is exact at its nearer end.
void LerpKernel(KernelContext& ctx) {
  const DType compute = ctx.tensor(0).dtype();
  ElementwiseDst d(ctx, compute);
  const Tensor& self = ctx.tensor(0);
  const Tensor& end = ctx.tensor(1);
  const Tensor weight = OperandAs(ctx, 2, compute);
  DispatchFloating(compute, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    TernaryLoop<T, T>(d.dst, self, end, weight, [](T s, T e, T w) {
      const M x = M(s), y = M(e), t = M(w);
      return Convert<T>(std::abs(t) < M(0.5) ? x + t * (y - x) : y - (y - x) * (M(1) - t));
    });
  });
  d.Finish();
}

// clamp with number bounds lets NaN bounds pass (std::max/min semantics);
// tensor bounds propagate NaN, as PyTorch's two overloads do.
void ClampKernel(KernelContext& ctx) {
  const DType compute = ElementwiseResultType(ctx.op, ctx.args);
  const bool has_lo = !ctx.args.is_none(1);
  const bool has_hi = !ctx.args.is_none(2);
  const bool tensors = (has_lo && ctx.args.values[1].is_tensor()) ||
                       (has_hi && ctx.args.values[2].is_tensor());
  ElementwiseDst d(ctx, compute);
  const Tensor x = OperandAs(ctx, 0, compute);
  const Tensor lo = OperandAs(ctx, has_lo ? 1 : 2, compute);
  const Tensor hi = OperandAs(ctx, has_hi ? 2 : 1, compute);
  // PyTorch runs one tensor bound as maximum/minimum, which take bool.
  const bool bool_ok = tensors && has_lo != has_hi;
  TD_CHECK(compute != DType::kBool || bool_ok, kRuntime, "[", ctx.op.name,
           "] \"clamp\" not implemented for 'Bool'");
  DispatchAll(compute, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    TernaryLoop<T, T>(d.dst, x, lo, hi, [=](T xv, T lv, T hv) {
      M v = M(xv);
      if (IsNanValue(v)) return xv;
      const M l = M(lv), h = M(hv);
      if (has_lo) {
        if (tensors && IsNanValue(l)) return lv;
        v = v < l ? l : v;
      }
      if (has_hi) {
        if (tensors && IsNanValue(h)) return hv;
        v = v > h ? h : v;
      }
      return Convert<T>(v);
    });
  });
  d.Finish();
}

}  // namespace

void RegisterPointwiseKernels(KernelRegistry& r) {
  r.Register("where", Device::Kind::kCPU, &WhereKernel);
  r.Register("lerp", Device::Kind::kCPU, &LerpKernel);
  r.Register("lerp_", Device::Kind::kCPU, &LerpKernel);
  for (const char* op : {"clamp", "clamp_", "clip", "clip_"}) {
    r.Register(op, Device::Kind::kCPU, &ClampKernel);
  }
}

}  // namespace tensord
