// Unary elementwise ops. Floating functions (exp, ...) convert integral
// inputs to the default float dtype, as the schema's dtype rule says.
#include <cmath>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/loops.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

// Runs f (in opmath) over self converted to out's dtype.
template <typename F>
void FloatUnary(KernelContext& ctx, F f) {
  Tensor& out = ctx.output();
  Tensor in = CastTo(ctx.tensor(0), out.dtype(), ctx.tracker);
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    UnaryLoop<T, T>(out, in, [f](T x) { return Convert<T>(f(M(x))); });
  });
}

void NegKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  TD_CHECK(out.dtype() != DType::kBool, kRuntime, "[neg] Negation, the `-` operator, on a bool "
           "tensor is not supported. If you are trying to invert a mask, use the `~` or "
           "`logical_not()` operator instead.");
  DispatchNumeric(out.dtype(), "neg", [&]<typename T>() {
    using M = opmath_t<T>;
    UnaryLoop<T, T>(out, ctx.tensor(0), [](T x) { return Convert<T>(-M(x)); });
  });
}

void ExpKernel(KernelContext& ctx) {
  FloatUnary(ctx, [](auto x) { return std::exp(x); });
}

}  // namespace

void RegisterUnaryKernels(KernelRegistry& r) {
  r.Register("neg", Device::Kind::kCPU, &NegKernel);
  r.Register("exp", Device::Kind::kCPU, &ExpKernel);
}

}  // namespace tensord
