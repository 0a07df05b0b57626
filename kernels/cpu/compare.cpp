// Ops with bool results: comparisons (computed in the promoted dtype of the
// operands), logical and/or/xor/not, isnan/isinf/isfinite and isclose.
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

template <typename F>
void Compare(KernelContext& ctx, F f) {
  const DType compute = ResultTypeOfInputs(ctx.op, ctx.args);
  ElementwiseDst d(ctx, DType::kBool);
  const Tensor a = OperandAs(ctx, 0, compute);
  const Tensor b = OperandAs(ctx, 1, compute);
  DispatchAll(compute, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    auto loop = MakeLoop<3>(d.dst.sizes(), {&d.dst, &a, &b});
    RunLoop<3>(loop, [f](std::array<char*, 3> p, std::array<int64_t, 3> s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        *reinterpret_cast<bool*>(p[0] + i * s[0]) =
            f(M(*reinterpret_cast<const T*>(p[1] + i * s[1])),
              M(*reinterpret_cast<const T*>(p[2] + i * s[2])));
      }
    });
  });
  d.Finish();
}

void CompareKernel(KernelContext& ctx) {
  const std::string& v = ctx.op.variant;
  if (v == "eq") return Compare(ctx, [](auto x, auto y) { return x == y; });
  if (v == "ne") return Compare(ctx, [](auto x, auto y) { return x != y; });
  if (v == "lt") return Compare(ctx, [](auto x, auto y) { return x < y; });
  if (v == "le") return Compare(ctx, [](auto x, auto y) { return x <= y; });
  if (v == "gt") return Compare(ctx, [](auto x, auto y) { return x > y; });
  if (v == "ge") return Compare(ctx, [](auto x, auto y) { return x >= y; });
  Fail(ErrorKind::kInternal, "[", ctx.op.name, "] no comparison ", v);
}

// Operands are read as truth values (nonzero is true).
void LogicalKernel(KernelContext& ctx) {
  const std::string& v = ctx.op.variant;
  ElementwiseDst d(ctx, DType::kBool);
  const Tensor a = OperandAs(ctx, 0, DType::kBool);
  if (v == "logical_not") {
    UnaryLoop<bool, bool>(d.dst, a, [](bool x) { return !x; });
    return d.Finish();
  }
  const Tensor b = OperandAs(ctx, 1, DType::kBool);
  if (v == "logical_and") {
    BinaryLoop<bool, bool>(d.dst, a, b, [](bool x, bool y) { return x && y; });
  } else if (v == "logical_or") {
    BinaryLoop<bool, bool>(d.dst, a, b, [](bool x, bool y) { return x || y; });
  } else if (v == "logical_xor") {
    BinaryLoop<bool, bool>(d.dst, a, b, [](bool x, bool y) { return x != y; });
  } else {
    Fail(ErrorKind::kInternal, "[", ctx.op.name, "] no logical function ", v);
  }
  d.Finish();
}

void FloatClassKernel(KernelContext& ctx) {
  const std::string& v = ctx.op.variant;
  const int which = v == "isnan" ? 0 : v == "isinf" ? 1 : 2;
  const Tensor& in = ctx.tensor(0);
  Tensor& out = ctx.output();
  DispatchAll(in.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    UnaryLoop<bool, T>(out, in, [which](T x) {
      if constexpr (std::is_floating_point_v<M>) {
        const M m = M(x);
        return which == 0 ? std::isnan(m) : which == 1 ? std::isinf(m) : std::isfinite(m);
      } else {
        return which == 2;
      }
    });
  });
}

// PyTorch's isclose: equal, or both NaN when equal_nan, or a finite
// |self - other| within atol + |rtol * other| (integers compare in float).
void IscloseKernel(KernelContext& ctx) {
  const double rtol = ctx.args.get_float(2);
  const double atol = ctx.args.get_float(3);
  const bool equal_nan = ctx.args.get_bool(4);
  const DType self = ctx.tensor(0).dtype();
  const DType compute = IsFloating(self) ? self : DType::kFloat32;
  ElementwiseDst d(ctx, DType::kBool);
  const Tensor a = OperandAs(ctx, 0, compute);
  const Tensor b = OperandAs(ctx, 1, compute);
  DispatchFloating(compute, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const M rt = M(rtol), at = M(atol);
    auto loop = MakeLoop<3>(d.dst.sizes(), {&d.dst, &a, &b});
    RunLoop<3>(loop, [=](std::array<char*, 3> p, std::array<int64_t, 3> s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        const M x = M(*reinterpret_cast<const T*>(p[1] + i * s[1]));
        const M y = M(*reinterpret_cast<const T*>(p[2] + i * s[2]));
        bool close = x == y || (equal_nan && std::isnan(x) && std::isnan(y));
        if (!close && (rt != 0 || at != 0)) {
          const M err = std::abs(x - y);
          close = std::isfinite(err) && err <= at + std::abs(rt * y);
        }
        *reinterpret_cast<bool*>(p[0] + i * s[0]) = close;
      }
    });
  });
  d.Finish();
}

}  // namespace

void RegisterCompareKernels(KernelRegistry& r) {
  for (const char* op : {"eq", "ne", "lt", "le", "gt", "ge"}) {
    r.Register(op, Device::Kind::kCPU, &CompareKernel);
    r.Register(std::string(op) + "_", Device::Kind::kCPU, &CompareKernel);
  }
  for (const char* op : {"logical_and", "logical_or", "logical_xor", "logical_not"}) {
    r.Register(op, Device::Kind::kCPU, &LogicalKernel);
    r.Register(std::string(op) + "_", Device::Kind::kCPU, &LogicalKernel);
  }
  for (const char* op : {"isnan", "isinf", "isfinite"}) {
    r.Register(op, Device::Kind::kCPU, &FloatClassKernel);
  }
  r.Register("isclose", Device::Kind::kCPU, &IscloseKernel);
}

}  // namespace tensord
