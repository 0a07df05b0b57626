// Activations of torch.nn and their backward ops (ATen's formulas). Floating
// dtypes only; half and bfloat16 compute in float. Operands broadcast.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/loops.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/kernel.h"
#include "kernels/meta/nn_rule_util.h"

namespace tensord {
namespace {

double ScalarArg(const KernelContext& ctx, const char* name) {
  return ctx.args.get_float(ctx.op.param_index(name));
}

// out = f(self) for a generic f(M x) in opmath.
template <typename F>
void Unary(KernelContext& ctx, F f) {
  Tensor& out = ctx.output();
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    UnaryLoop<T, T>(out, ctx.tensor(0), [f](T x) { return Convert<T>(M(f(M(x)))); });
  });
}

// out = f(a, b) over arguments a and b converted to the result dtype.
template <typename F>
void Binary(KernelContext& ctx, size_t a, size_t b, F f) {
  Tensor& out = ctx.output();
  const Tensor x = CastTo(ctx.tensor(a), out.dtype(), ctx.tracker);
  const Tensor y = CastTo(ctx.tensor(b), out.dtype(), ctx.tracker);
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    BinaryLoop<T, T>(out, x, y, [f](T u, T v) { return Convert<T>(M(f(M(u), M(v)))); });
  });
}

void EluKernel(KernelContext& ctx) {
  const double neg = ScalarArg(ctx, "alpha") * ScalarArg(ctx, "scale");
  const double pos = ScalarArg(ctx, "scale"), in_scale = ScalarArg(ctx, "input_scale");
  Unary(ctx, [=](auto x) {
    using M = decltype(x);
    return x <= M(0) ? M(std::expm1(x * M(in_scale)) * M(neg)) : M(x * M(pos));
  });
}

void EluBackwardKernel(KernelContext& ctx) {
  const double neg = ScalarArg(ctx, "alpha") * ScalarArg(ctx, "scale");
  const double pos = ScalarArg(ctx, "scale"), in_scale = ScalarArg(ctx, "input_scale");
  const bool is_result = ctx.args.get_bool(4);
  TD_CHECK(!is_result || ScalarArg(ctx, "alpha") >= 0, kRuntime, "[", ctx.op.name,
           "] In-place elu backward calculation is triggered with a negative slope which is not ",
           "supported. This is caused by calling in-place forward function with a negative slope, ",
           "please call out-of-place version instead.");
  Binary(ctx, 0, 5, [=](auto g, auto v) {
    using M = decltype(g);
    if (is_result) return v <= M(0) ? M(g * M(in_scale) * (v + M(neg))) : M(g * M(pos));
    return v <= M(0) ? M(g * M(in_scale) * M(neg) * std::exp(v * M(in_scale))) : M(g * M(pos));
  });
}

void LeakyReluKernel(KernelContext& ctx) {
  const double slope = ScalarArg(ctx, "negative_slope");
  Unary(ctx, [=](auto x) { return x > decltype(x)(0) ? x : x * decltype(x)(slope); });
}

void LeakyReluBackwardKernel(KernelContext& ctx) {
  const double slope = ScalarArg(ctx, "negative_slope");
  TD_CHECK(!ctx.args.get_bool(3) || slope >= 0, kRuntime, "[", ctx.op.name,
           "] In-place leakyReLu backward calculation is triggered with a negative slope which is ",
           "not supported. This is caused by calling in-place forward function with a negative ",
           "slope, please call out-of-place version instead. File an issue at ",
           "https://github.com/pytorch/pytorch if you do require supporting in-place leakRelu ",
           "backward calculation with negative slope");
  Binary(ctx, 0, 1, [=](auto g, auto x) { return x > decltype(x)(0) ? g : g * decltype(g)(slope); });
}

void HardtanhKernel(KernelContext& ctx) {
  const double lo = ScalarArg(ctx, "min_val"), hi = ScalarArg(ctx, "max_val");
  Unary(ctx, [=](auto x) {
    using M = decltype(x);
    if (std::isnan(x)) return x;
    return x < M(lo) ? M(lo) : x > M(hi) ? M(hi) : x;
  });
}

void HardtanhBackwardKernel(KernelContext& ctx) {
  const double lo = ScalarArg(ctx, "min_val"), hi = ScalarArg(ctx, "max_val");
  Binary(ctx, 0, 1, [=](auto g, auto x) {
    using M = decltype(g);
    return x <= M(lo) || x >= M(hi) ? M(0) : g;
  });
}

void HardswishKernel(KernelContext& ctx) {
  Unary(ctx, [](auto x) {
    using M = decltype(x);
    return M(x * std::min(std::max(x + M(3), M(0)), M(6)) / M(6));
  });
}

void HardswishBackwardKernel(KernelContext& ctx) {
  Binary(ctx, 0, 1, [](auto g, auto x) {
    using M = decltype(g);
    if (x < M(-3)) return M(0);
    return x <= M(3) ? M(g * (x / M(3) + M(0.5))) : g;
  });
}

void HardsigmoidKernel(KernelContext& ctx) {
  Unary(ctx, [](auto x) {
    using M = decltype(x);
    return M(std::min(std::max(x + M(3), M(0)), M(6)) / M(6));
  });
}

void HardsigmoidBackwardKernel(KernelContext& ctx) {
  Binary(ctx, 0, 1, [](auto g, auto x) {
    using M = decltype(g);
    // ATen multiplies by 1/6 rounded to float, for every dtype.
    return x > M(-3) && x < M(3) ? M(g * M(1.0f / 6.0f)) : M(0);
  });
}

void MishKernel(KernelContext& ctx) {
  Unary(ctx, [](auto x) { return decltype(x)(x * std::tanh(std::log1p(std::exp(x)))); });
}

void MishBackwardKernel(KernelContext& ctx) {
  Binary(ctx, 0, 1, [](auto g, auto x) {
    using M = decltype(g);
    const M sig = M(1) / (M(1) + std::exp(-x));
    const M t = std::tanh(std::log1p(std::exp(x)));
    return M(g * (t + x * sig * (M(1) - t * t)));
  });
}

void ThresholdBackwardKernel(KernelContext& ctx) {
  const double th = ScalarArg(ctx, "threshold");
  Binary(ctx, 0, 1, [=](auto g, auto x) { return x <= decltype(x)(th) ? decltype(g)(0) : g; });
}

void GeluBackwardKernel(KernelContext& ctx) {
  const std::string& approx = ctx.args.values[ctx.op.param_index("approximate")].s;
  TD_CHECK(approx == "none" || approx == "tanh", kRuntime, "[", ctx.op.name,
           "] approximate argument must be either none or tanh.");
  if (approx == "tanh") {
    return Binary(ctx, 0, 1, [](auto g, auto x) {
      using M = decltype(g);
      const M beta = M(0.7978845608028654), kappa = M(0.044715);
      const M inner = beta * (x + kappa * x * x * x);
      const M t = std::tanh(inner);
      const M left = M(0.5) * x, right = M(1) + t;
      const M dleft = M(0.5) * right;
      const M dright = left * (M(1) - t * t) * beta * (M(1) + M(3) * kappa * x * x);
      return M(g * (dleft + dright));
    });
  }
  Binary(ctx, 0, 1, [](auto g, auto x) {
    using M = decltype(g);
    const M cdf = M(0.5) * (M(1) + std::erf(x * M(0.7071067811865476)));
    const M pdf = std::exp(M(-0.5) * x * x) * M(0.3989422804014327);
    return M(g * (cdf + x * pdf));
  });
}

void SiluBackwardKernel(KernelContext& ctx) {
  Binary(ctx, 0, 1, [](auto g, auto x) {
    using M = decltype(g);
    const M s = M(1) / (M(1) + std::exp(-x));
    return M(g * s * (M(1) + x * (M(1) - s)));
  });
}

void SoftplusBackwardKernel(KernelContext& ctx) {
  const double beta = ScalarArg(ctx, "beta"), threshold = ScalarArg(ctx, "threshold");
  Binary(ctx, 0, 1, [=](auto g, auto x) {
    using M = decltype(g);
    const M z = std::exp(x * M(beta));
    return x * M(beta) > M(threshold) ? g : M(g * z / (z + M(1)));
  });
}

void LogSigmoidForwardKernel(KernelContext& ctx) {
  Tensor& out = ctx.output(0);
  Tensor& buffer = ctx.output(1);
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    UnaryLoop<T, T>(out, ctx.tensor(0), [](T v) {
      const M x = M(v);
      return Convert<T>(M(std::min(x, M(0)) - std::log1p(std::exp(-std::abs(x)))));
    });
    UnaryLoop<T, T>(buffer, ctx.tensor(0), [](T v) { return Convert<T>(M(std::exp(-std::abs(M(v))))); });
  });
}

void LogSigmoidBackwardKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const Tensor g = CastTo(ctx.tensor(0), out.dtype(), ctx.tracker);
  const Tensor x = CastTo(ctx.tensor(1), out.dtype(), ctx.tracker);
  const Tensor z = CastTo(ctx.tensor(2), out.dtype(), ctx.tracker);
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    TernaryLoop<T, T>(out, g, x, z, [](T gv, T xv, T zv) {
      const bool negative = M(xv) < M(0);
      const M max_deriv = negative ? M(1) : M(0), sign = negative ? M(1) : M(-1);
      return Convert<T>(M((max_deriv - sign * (M(zv) / (M(1) + M(zv)))) * M(gv)));
    });
  });
}

// A view of `t` narrowed to [start, start + length) along dim.
Tensor Narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  TensorMeta m = t.meta;
  m.offset += start * m.strides[dim];
  m.sizes[dim] = length;
  return t.View(std::move(m));
}

void GluKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const Tensor& self = ctx.tensor(0);
  const int64_t dim = WrapDim(ctx.args.get_int(1), self.dim());
  const int64_t h = self.sizes()[dim] / 2;
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    BinaryLoop<T, T>(out, Narrow(self, dim, 0, h), Narrow(self, dim, h, h), [](T a, T b) {
      return Convert<T>(M(M(a) / (M(1) + std::exp(-M(b)))));
    });
  });
}

void GluBackwardKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const Tensor g = CastTo(ctx.tensor(0), out.dtype(), ctx.tracker);
  const Tensor self = CastTo(ctx.tensor(1), out.dtype(), ctx.tracker);
  const int64_t dim = WrapDim(ctx.args.get_int(2), self.dim());
  const int64_t h = self.sizes()[dim] / 2;
  const Tensor a = Narrow(self, dim, 0, h), b = Narrow(self, dim, h, h);
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    TernaryLoop<T, T>(Narrow(out, dim, 0, h), g, a, b, [](T gv, T, T bv) {
      return Convert<T>(M(M(gv) / (M(1) + std::exp(-M(bv)))));
    });
    TernaryLoop<T, T>(Narrow(out, dim, h, h), g, a, b, [](T gv, T av, T bv) {
      const M s = M(1) / (M(1) + std::exp(-M(bv)));
      return Convert<T>(M(M(gv) * M(av) * s * (M(1) - s)));
    });
  });
}

// prelu's weight seen with self's sizes: one value per channel (dim 1).
Tensor PreluWeightView(const Tensor& weight, const Tensor& self) {
  TensorMeta m = weight.meta;
  m.sizes = self.sizes();
  m.strides = Shape(self.sizes().size(), 0);
  if (weight.numel() != 1) m.strides[1] = weight.strides()[0];
  return weight.View(std::move(m));
}

void PreluKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const Tensor& self = ctx.tensor(0);
  const Tensor w = PreluWeightView(ctx.tensor(1), self);
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    BinaryLoop<T, T>(out, self, w, [](T x, T wv) {
      return M(x) > M(0) ? x : Convert<T>(M(M(wv) * M(x)));
    });
  });
}

void PreluBackwardKernel(KernelContext& ctx) {
  Tensor& gi = ctx.output(0);
  const Tensor& g = ctx.tensor(0);
  const Tensor& self = ctx.tensor(1);
  const Tensor& weight = ctx.tensor(2);
  const Tensor w = PreluWeightView(weight, self);
  DispatchFloating(gi.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    TernaryLoop<T, T>(gi, g, self, w, [](T gv, T x, T wv) {
      return M(x) > M(0) ? gv : Convert<T>(M(M(wv) * M(gv)));
    });
  });
  // grad_weight[c] = sum of x * g where x <= 0, over every element of channel c.
  const Tensor gd = Dense(ctx, g), xd = Dense(ctx, self);
  const int64_t channels = weight.numel();
  int64_t inner = 1;
  for (int64_t d = 2; d < self.dim(); ++d) inner *= self.sizes()[d];
  std::vector<double> acc(channels, 0.0);
  const double* gp = gd.data<double>();
  const double* xp = xd.data<double>();
  for (int64_t i = 0, n = self.numel(); i < n; ++i) {
    if (xp[i] > 0) continue;
    acc[channels == 1 ? 0 : (i / inner) % channels] += xp[i] * gp[i];
  }
  Tensor buf = Filled(ctx, weight.sizes(), 0.0);
  std::copy(acc.begin(), acc.end(), buf.data<double>());
  CopyInto(ctx.output(1), buf);
}

}  // namespace

void RegisterNnActivationKernels(KernelRegistry& r) {
  const auto cpu = Device::Kind::kCPU;
  r.Register("elu", cpu, &EluKernel);
  r.Register("elu_backward", cpu, &EluBackwardKernel);
  r.Register("leaky_relu", cpu, &LeakyReluKernel);
  r.Register("leaky_relu_backward", cpu, &LeakyReluBackwardKernel);
  r.Register("hardtanh", cpu, &HardtanhKernel);
  r.Register("hardtanh_backward", cpu, &HardtanhBackwardKernel);
  r.Register("hardswish", cpu, &HardswishKernel);
  r.Register("hardswish_backward", cpu, &HardswishBackwardKernel);
  r.Register("hardsigmoid", cpu, &HardsigmoidKernel);
  r.Register("hardsigmoid_backward", cpu, &HardsigmoidBackwardKernel);
  r.Register("mish", cpu, &MishKernel);
  r.Register("mish_backward", cpu, &MishBackwardKernel);
  r.Register("threshold_backward", cpu, &ThresholdBackwardKernel);
  r.Register("gelu_backward", cpu, &GeluBackwardKernel);
  r.Register("silu_backward", cpu, &SiluBackwardKernel);
  r.Register("softplus_backward", cpu, &SoftplusBackwardKernel);
  r.Register("log_sigmoid_forward", cpu, &LogSigmoidForwardKernel);
  r.Register("log_sigmoid_backward", cpu, &LogSigmoidBackwardKernel);
  r.Register("glu", cpu, &GluKernel);
  r.Register("glu_backward", cpu, &GluBackwardKernel);
  r.Register("prelu", cpu, &PreluKernel);
  r.Register("prelu_backward", cpu, &PreluBackwardKernel);
}

}  // namespace tensord
