// Unary elementwise ops. Floating functions (exp, log, sin, ...) convert
// integral inputs to the default float dtype, as the schema's dtype rule
// says; the others keep self's dtype. Half and bfloat16 compute in float.
// In-place forms share the kernels: ElementwiseDst writes into self.
#include <cmath>
#include <limits>
#include <string>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/elementwise_util.h"
#include "kernels/cpu/loops.h"
#include "kernels/kernel.h"
#include "kernels/meta/rule_util.h"

namespace tensord {
namespace {

// PyTorch's calc_erfinv: a rational first guess refined by two Newton steps.
template <typename T>
T Erfinv(T y) {
  constexpr T a[4] = {T(0.886226899), T(-1.645349621), T(0.914624893), T(-0.140543331)};
  constexpr T b[4] = {T(-2.118377725), T(1.442710462), T(-0.329097515), T(0.012229801)};
  constexpr T c[4] = {T(-1.970840454), T(-1.624906493), T(3.429567803), T(1.641345311)};
  constexpr T d[2] = {T(3.543889200), T(1.637067800)};
  const T y_abs = std::abs(y);
  if (y_abs > T(1)) return std::numeric_limits<T>::quiet_NaN();
  if (y_abs == T(1)) return std::copysign(std::numeric_limits<T>::infinity(), y);
  T x;
  if (y_abs <= T(0.7)) {
    const T z = y * y;
    const T num = ((a[3] * z + a[2]) * z + a[1]) * z + a[0];
    const T den = (((b[3] * z + b[2]) * z + b[1]) * z + b[0]) * z + T(1);
    x = y * num / den;
  } else {
    const T z = std::sqrt(-std::log((T(1) - y_abs) / T(2)));
    const T num = ((c[3] * z + c[2]) * z + c[1]) * z + c[0];
    const T den = (d[1] * z + d[0]) * z + T(1);
    x = std::copysign(num, y) / den;
  }
  const T two_over_sqrt_pi = T(1.1283791670955126);
  x = x - (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  x = x - (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  return x;
}

// Runs f (in opmath) over self converted to the op's floating result dtype.
template <typename F>
void FloatUnary(KernelContext& ctx, F f) {
  const DType compute = ElementwiseResultType(ctx.op, ctx.args);
  ElementwiseDst d(ctx, compute);
  const Tensor in = OperandAs(ctx, 0, compute);
  DispatchFloating(compute, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    UnaryLoop<T, T>(d.dst, in, [f](T x) { return Convert<T>(static_cast<M>(f(M(x)))); });
  });
  d.Finish();
}

void FloatUnaryKernel(KernelContext& ctx) {
  const std::string& v = ctx.op.variant;
  if (v == "exp") return FloatUnary(ctx, [](auto x) { return std::exp(x); });
  if (v == "exp2") return FloatUnary(ctx, [](auto x) { return std::exp2(x); });
  if (v == "expm1") return FloatUnary(ctx, [](auto x) { return std::expm1(x); });
  if (v == "log") return FloatUnary(ctx, [](auto x) { return std::log(x); });
  if (v == "log1p") return FloatUnary(ctx, [](auto x) { return std::log1p(x); });
  if (v == "log2") return FloatUnary(ctx, [](auto x) { return std::log2(x); });
  if (v == "log10") return FloatUnary(ctx, [](auto x) { return std::log10(x); });
  if (v == "sqrt") return FloatUnary(ctx, [](auto x) { return std::sqrt(x); });
  if (v == "rsqrt") return FloatUnary(ctx, [](auto x) { return decltype(x)(1) / std::sqrt(x); });
  if (v == "reciprocal") return FloatUnary(ctx, [](auto x) { return decltype(x)(1) / x; });
  if (v == "sin") return FloatUnary(ctx, [](auto x) { return std::sin(x); });
  if (v == "cos") return FloatUnary(ctx, [](auto x) { return std::cos(x); });
  if (v == "tan") return FloatUnary(ctx, [](auto x) { return std::tan(x); });
  if (v == "asin") return FloatUnary(ctx, [](auto x) { return std::asin(x); });
  if (v == "acos") return FloatUnary(ctx, [](auto x) { return std::acos(x); });
  if (v == "atan") return FloatUnary(ctx, [](auto x) { return std::atan(x); });
  if (v == "sinh") return FloatUnary(ctx, [](auto x) { return std::sinh(x); });
  if (v == "cosh") return FloatUnary(ctx, [](auto x) { return std::cosh(x); });
  if (v == "tanh") return FloatUnary(ctx, [](auto x) { return std::tanh(x); });
  if (v == "asinh") return FloatUnary(ctx, [](auto x) { return std::asinh(x); });
  if (v == "acosh") return FloatUnary(ctx, [](auto x) { return std::acosh(x); });
  if (v == "atanh") return FloatUnary(ctx, [](auto x) { return std::atanh(x); });
  if (v == "erf") return FloatUnary(ctx, [](auto x) { return std::erf(x); });
  if (v == "erfinv") return FloatUnary(ctx, [](auto x) { return Erfinv(x); });
  if (v == "sigmoid") {
    return FloatUnary(ctx, [](auto x) { return decltype(x)(1) / (decltype(x)(1) + std::exp(-x)); });
  }
  if (v == "logit") {
    const int p = ctx.op.param_index("eps");
    const double eps = ctx.args.is_none(p) ? -1.0 : ctx.args.get_float(p);
    if (eps < 0) return FloatUnary(ctx, [](auto x) { return std::log(x / (decltype(x)(1) - x)); });
    return FloatUnary(ctx, [eps](auto x) {
      using M = decltype(x);
      const M lo = M(eps), hi = M(1 - eps);
      const M z = x < lo ? lo : (x > hi ? hi : x);
      return std::log(z / (M(1) - z));
    });
  }
  Fail(ErrorKind::kInternal, "[", ctx.op.name, "] no unary function ", v);
}

// Runs f<T, M>(x) over self in self's dtype, dispatched by `dispatch`.
template <typename Dispatch, typename F>
void SameUnary(KernelContext& ctx, Dispatch dispatch, F f, DType compute) {
  ElementwiseDst d(ctx, compute);
  const Tensor in = OperandAs(ctx, 0, compute);
  dispatch(compute, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    UnaryLoop<T, T>(d.dst, in, [f](T x) { return Convert<T>(f.template operator()<M>(M(x))); });
  });
  d.Finish();
}

constexpr auto kNumeric = [](DType d, std::string_view op, auto&& f) { DispatchNumeric(d, op, f); };
constexpr auto kFloating = [](DType d, std::string_view op, auto&& f) { DispatchFloating(d, op, f); };
constexpr auto kAll = [](DType d, std::string_view op, auto&& f) { DispatchAll(d, op, f); };
constexpr auto kIntegral = [](DType d, std::string_view op, auto&& f) { DispatchIntegral(d, op, f); };

// round(decimals=d) scales by 10^|d|. bfloat16 rounds its intermediate
// products to bfloat16, as PyTorch's kernel does; other dtypes use opmath
// (PyTorch's CPU build has no float16 kernel for it).
void RoundDecimals(KernelContext& ctx, int64_t decimals) {
  const DType self = ctx.tensor(0).dtype();
  ElementwiseDst d(ctx, self);
  const bool neg = decimals < 0;
  const double scale = std::pow(10.0, static_cast<double>(neg ? -decimals : decimals));
  DispatchFloating(self, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    // Identity except for bfloat16, whose values round after each step.
    auto step = [](M v) {
      if constexpr (std::is_same_v<T, BFloat16>) return M(Convert<T>(v));
      else return v;
    };
    const M s = step(M(scale));
    UnaryLoop<T, T>(d.dst, ctx.tensor(0), [s, neg, step](T x) {
      if (neg) return Convert<T>(step(std::nearbyint(step(M(x) / s))) * s);
      return Convert<T>(step(std::nearbyint(step(M(x) * s))) / s);
    });
  });
  d.Finish();
}

void SameUnaryKernel(KernelContext& ctx) {
  const std::string& v = ctx.op.variant;
  const DType self = ctx.tensor(0).dtype();
  if (v == "neg") {
    TD_CHECK(self != DType::kBool, kRuntime, "[", ctx.op.name, "] Negation, the `-` operator, on a "
             "bool tensor is not supported. If you are trying to invert a mask, use the `~` or "
             "`logical_not()` operator instead.");
    return SameUnary(ctx, kNumeric, []<typename M>(M x) { return M(-x); }, self);
  }
  if (v == "abs") {
    return SameUnary(ctx, kNumeric, []<typename M>(M x) {
      if constexpr (std::is_unsigned_v<M>) return x;
      else if constexpr (std::is_floating_point_v<M>) return std::abs(x);
      else return x < 0 ? M(-x) : x;
    }, self);
  }
  if (v == "sign") {
    if (self == DType::kBool) return SameUnary(ctx, kAll, []<typename M>(M x) { return x; }, self);
    return SameUnary(ctx, kNumeric, []<typename M>(M x) { return M((M(0) < x) - (x < M(0))); }, self);
  }
  if (v == "square") {
    const DType compute = self == DType::kBool ? DType::kInt64 : self;
    return SameUnary(ctx, kNumeric, []<typename M>(M x) { return M(x * x); }, compute);
  }
  if (v == "relu") {
    TD_CHECK(self != DType::kBool, kRuntime, "[", ctx.op.name, "] Boolean inputs not supported for relu");
    return SameUnary(ctx, kNumeric, []<typename M>(M x) { return (IsNanValue(x) || x > M(0)) ? x : M(0); }, self);
  }
  if (v == "floor" || v == "ceil" || v == "trunc" || v == "round") {
    const int p = ctx.op.param_index("decimals");
    if (p >= 0 && !ctx.args.is_none(p)) return RoundDecimals(ctx, ctx.args.get_int(p));
    const int which = v == "floor" ? 0 : v == "ceil" ? 1 : v == "trunc" ? 2 : 3;
    return SameUnary(ctx, kNumeric, [which]<typename M>(M x) {
      if constexpr (std::is_floating_point_v<M>) {
        switch (which) {
          case 0: return std::floor(x);
          case 1: return std::ceil(x);
          case 2: return std::trunc(x);
          default: return std::nearbyint(x);  // half to even in the default rounding mode
        }
      } else {
        return x;
      }
    }, self);
  }
  if (v == "frac") {
    return SameUnary(ctx, kFloating, []<typename M>(M x) { return M(x - std::trunc(x)); }, self);
  }
  if (v == "bitwise_not") {
    return SameUnary(ctx, kIntegral, []<typename M>(M x) {
      if constexpr (std::is_same_v<M, bool>) return !x;
      else return M(~x);
    }, self);
  }
  if (v == "zero_") return SameUnary(ctx, kAll, []<typename M>(M) { return M(0); }, self);
  if (v == "nan_to_num") {
    const int p_nan = ctx.op.param_index("nan");
    const Value& nan_v = ctx.args.values[p_nan];
    const Value& pos_v = ctx.args.values[p_nan + 1];
    const Value& neg_v = ctx.args.values[p_nan + 2];
    ElementwiseDst d(ctx, self);
    const Tensor& in = ctx.tensor(0);
    DispatchAll(self, ctx.op.name, [&]<typename T>() {
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                    std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
        using M = opmath_t<T>;
        // The dtype's own max/lowest: 65504 for half, ~3.39e38 for bfloat16.
        const double max = std::is_same_v<T, Half> ? 65504.0
                           : std::is_same_v<T, BFloat16> ? 3.3895313892515355e+38
                                                          : double(std::numeric_limits<M>::max());
        const T nan_r = Convert<T>(M(nan_v.is_none() ? 0.0 : nan_v.to_double()));
        const T pos_r = Convert<T>(M(pos_v.is_none() ? max : pos_v.to_double()));
        const T neg_r = Convert<T>(M(neg_v.is_none() ? -max : neg_v.to_double()));
        UnaryLoop<T, T>(d.dst, in, [=](T x) {
          const M m = M(x);
          if (std::isnan(m)) return nan_r;
          if (std::isinf(m)) return m > 0 ? pos_r : neg_r;
          return x;
        });
      } else {
        UnaryLoop<T, T>(d.dst, in, [](T x) { return x; });
      }
    });
    return d.Finish();
  }
  // Activations (floating only).
  if (v == "silu") {
    return SameUnary(ctx, kFloating, []<typename M>(M x) { return M(x / (M(1) + std::exp(-x))); }, self);
  }
  if (v == "gelu") {
    const std::string& approx = ctx.args.values[ctx.op.param_index("approximate")].s;
    TD_CHECK(approx == "none" || approx == "tanh", kRuntime, "[", ctx.op.name,
             "] approximate argument must be either none or tanh.");
    if (approx == "tanh") {
      return SameUnary(ctx, kFloating, []<typename M>(M x) {
        const M beta = M(0.7978845608028654);  // sqrt(2 / pi)
        const M inner = beta * (x + M(0.044715) * x * x * x);
        return M(M(0.5) * x * (M(1) + std::tanh(inner)));
      }, self);
    }
    return SameUnary(ctx, kFloating, []<typename M>(M x) {
      return M(x * M(0.5) * (M(1) + std::erf(x * M(0.7071067811865476))));
    }, self);
  }
  if (v == "softplus") {
    const double beta = ctx.args.get_float(ctx.op.param_index("beta"));
    const double threshold = ctx.args.get_float(ctx.op.param_index("threshold"));
    return SameUnary(ctx, kFloating, [beta, threshold]<typename M>(M x) {
      const M bx = x * M(beta);
      return bx > M(threshold) ? x : M(std::log1p(std::exp(bx)) / M(beta));
    }, self);
  }
  Fail(ErrorKind::kInternal, "[", ctx.op.name, "] no unary function ", v);
}

}  // namespace

void RegisterUnaryKernels(KernelRegistry& r) {
  for (const char* op : {"exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt",
                         "rsqrt", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
                         "cosh", "tanh", "asinh", "acosh", "atanh", "erf", "erfinv", "sigmoid",
                         "logit"}) {
    r.Register(op, Device::Kind::kCPU, &FloatUnaryKernel);
    const std::string inplace = std::string(op) + "_";
    if (FindOp(inplace)) r.Register(inplace, Device::Kind::kCPU, &FloatUnaryKernel);
  }
  for (const char* op : {"neg", "abs", "sign", "square", "relu", "floor", "ceil", "trunc", "round",
                         "frac", "bitwise_not", "nan_to_num"}) {
    r.Register(op, Device::Kind::kCPU, &SameUnaryKernel);
    r.Register(std::string(op) + "_", Device::Kind::kCPU, &SameUnaryKernel);
  }
  for (const char* op : {"zero_", "silu", "gelu", "softplus"}) {
    r.Register(op, Device::Kind::kCPU, &SameUnaryKernel);
  }
}

}  // namespace tensord
