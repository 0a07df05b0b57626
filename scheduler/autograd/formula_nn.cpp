// Double backward of torch.nn's backward ops (ATen's derivatives.yaml for
// convolution_backward, the norms' backward, pooling, losses, activations).
// Every helper is built from call(), so the gradients it returns are
// recorded under create_graph and differentiate again (triple backward).
#include <cmath>
#include <optional>

#include "kernels/core/error.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/formula_api.h"
#include "scheduler/autograd/variable.h"

namespace tensord::autograd {
namespace {

constexpr int64_t kReductionMean = 1;

Tensor Mul(const Arg& a, const Arg& b) { return call("mul", {a, b}); }
Tensor Add(const Arg& a, const Arg& b) { return call("add", {a, b}); }
Tensor Sub(const Arg& a, const Arg& b) { return call("sub", {a, b}); }
Tensor Where(const Tensor& cond, const Arg& a, const Arg& b) { return call("where", {cond, a, b}); }
Tensor Sigmoid(const Tensor& x) { return call("sigmoid", {x}); }
// a + b where either may be undefined (a term that did not arise).
Tensor AddDefined(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return Add(a, b);
}
// A gradient that arrived and carries elements (masked results are empty).
bool Arrived(const Tensor& g) { return g.defined() && g.numel() > 0; }
bool Recording(const Tensor& t) { return CurrentExecContext().grad_enabled && RequiresGrad(t); }

Shape Ones(size_t n) { return Shape(n, 1); }

// 1 / numel(self) for reduction='mean', else 1 (the pointwise losses' kernels).
double LossNorm(const Arg& self, const Arg& reduction) {
  return reduction.to_int() == kReductionMean ? 1.0 / double(self.tensor.numel()) : 1.0;
}

}  // namespace

Tensor no_gradient() { return Tensor(); }

// ---- convolution ----

std::vector<Tensor> convolution_double_backward(
    const std::vector<Tensor>& ggs, const Arg& grad_output, const Arg& input, const Arg& weight,
    const Arg& stride, const Arg& padding, const Arg& dilation, const Arg& transposed,
    const Arg& output_padding, const Arg& groups, const std::vector<int64_t>& output_mask) {
  const Tensor& ggI = ggs[0];
  const Tensor& ggW = ggs[1];
  const Tensor& ggB = ggs[2];
  const Tensor& gO = grad_output.tensor;
  auto conv = [&](const Tensor& x, const Tensor& w) {
    return call("convolution", {x, w, std::nullopt, stride, padding, dilation, transposed,
                                output_padding, groups});
  };
  // convolution_backward of the same convolution, for one of its results.
  auto conv_backward = [&](const Tensor& x, const Tensor& w, int which) {
    std::vector<int64_t> mask = {0, 0, 0};
    mask[which] = 1;
    return call_all("convolution_backward", {gO, x, w, std::nullopt, stride, padding, dilation,
                                             transposed, output_padding, groups, mask})[which];
  };
  std::vector<Tensor> out(3);
  // The convolution is bilinear in (input, weight): grad_output's gradient is
  // the forward applied to the perturbations, the others cross terms.
  if (output_mask[0]) {
    Tensor g;
    if (Arrived(ggI)) g = conv(ggI, weight.tensor);
    if (Arrived(ggW)) g = AddDefined(g, conv(input.tensor, ggW));
    if (Arrived(ggB)) {
      Shape bias_view = Ones(gO.sizes().size());
      bias_view[1] = ggB.numel();
      Tensor b = call("reshape", {ggB, bias_view});
      g = g.defined() ? Add(g, b) : call("expand", {b, gO.sizes()});
    }
    out[0] = g;
  }
  if (output_mask[1] && Arrived(ggW)) out[1] = conv_backward(input.tensor, ggW, 0);
  if (output_mask[2] && Arrived(ggI)) out[2] = conv_backward(ggI, weight.tensor, 1);
  return out;
}

// ---- pooling ----

Tensor max_pool_double_backward(const Tensor& grad, const Arg& indices,
                                const Shape& grad_output_sizes) {
  // indices are flat within each (H, W) plane: gather there.
  Tensor g = call("flatten", {grad, -2, -1});
  Tensor i = call("flatten", {indices, -2, -1});
  return call("reshape", {call("gather", {g, -1, i}), grad_output_sizes});
}

Tensor adaptive_avg_pool2d_double_backward(const Tensor& grad, const Shape& grad_output_sizes) {
  const size_t n = grad_output_sizes.size();
  return call("adaptive_avg_pool2d",
              {grad, std::vector<int64_t>{grad_output_sizes[n - 2], grad_output_sizes[n - 1]}});
}

// ---- normalisation ----

namespace {

// What a norm's double backward needs, every tensor broadcastable against
// x (reduction dims kept as 1). gamma/ggG/ggB are undefined when absent.
struct NormInputs {
  Tensor x, gO, ggI, ggG, ggB, gamma;
  Tensor mean, rstd;             // the statistics of the forward
  std::vector<int64_t> dims;     // the dims each statistic reduces
  bool batch_stats = true;       // false: batch norm on running stats (constants)
};

struct NormGrads {
  Tensor gO, x, gamma;  // gamma: elementwise, for the caller to sum to weight's shape
};

// The double backward of y = gamma * (x - mean) * rstd + beta with mean/rstd
// over `dims` (ATen's batchnorm/layer_norm_double_backward, in one form).
// With xhat = (x - mean) * rstd, h = gamma * gO and
// P(u) = u - E[u] - xhat * E[u * xhat], the first backward is
// gI = rstd * P(h), gG = sum(gO * xhat), gB = sum(gO); this differentiates
// sum(ggI * gI) + sum(ggG * gG) + sum(ggB * gB).
NormGrads NormDoubleBackward(const NormInputs& in, const std::vector<int64_t>& mask) {
  auto E = [&](const Tensor& u) { return call("mean", {u, in.dims, true}); };
  const Tensor& r = in.rstd;
  const Tensor xhat = Mul(Sub(in.x, in.mean), r);
  const Tensor h = in.gamma.defined() ? Mul(in.gO, in.gamma) : in.gO;
  auto scaled = [&](const Tensor& t) { return in.gamma.defined() ? Mul(t, in.gamma) : t; };
  NormGrads out;
  const bool ggI = Arrived(in.ggI), ggG = Arrived(in.ggG), ggB = Arrived(in.ggB);
  if (!in.batch_stats) {
    // gI = gamma * rstd * gO with constant statistics: bilinear.
    if (mask[0]) {
      if (ggI) out.gO = scaled(Mul(in.ggI, r));
      if (ggG) out.gO = AddDefined(out.gO, Mul(in.ggG, xhat));
      if (ggB) out.gO = AddDefined(out.gO, call("expand", {in.ggB, in.x.sizes()}));
    }
    if (mask[1] && ggG) out.x = Mul(Mul(in.ggG, r), in.gO);
    if (mask[2] && ggI) out.gamma = Mul(Mul(in.ggI, in.gO), r);
    return out;
  }
  auto P = [&](const Tensor& u) { return Sub(Sub(u, E(u)), Mul(xhat, E(Mul(u, xhat)))); };
  const Tensor p_ggI = ggI ? P(in.ggI) : Tensor();
  if (mask[0]) {
    if (ggI) out.gO = scaled(Mul(r, p_ggI));
    if (ggG) out.gO = AddDefined(out.gO, Mul(in.ggG, xhat));
    if (ggB) out.gO = AddDefined(out.gO, call("expand", {in.ggB, in.x.sizes()}));
  }
  if (mask[1]) {
    if (ggI) {
      // d/dx of sum(ggI * rstd * P(h)), through xhat and rstd.
      const Tensor e_ggI_xhat = E(Mul(in.ggI, xhat)), e_h_xhat = E(Mul(h, xhat));
      const Tensor inner = Sub(Sub(E(Mul(in.ggI, h)), Mul(E(in.ggI), E(h))),
                               Mul(e_ggI_xhat, e_h_xhat));
      Tensor t = Add(Add(Mul(xhat, inner), Mul(e_h_xhat, p_ggI)), Mul(e_ggI_xhat, P(h)));
      out.x = call("neg", {Mul(Mul(r, r), t)});
    }
    if (ggG) out.x = AddDefined(out.x, Mul(r, P(Mul(in.ggG, in.gO))));
  }
  if (mask[2] && ggI) out.gamma = Mul(Mul(in.gO, r), p_ggI);
  return out;
}

// Statistics over `dims` recomputed from x when the double backward is being
// recorded, so that a third backward sees how they depend on x. The values
// equal the saved ones; eps comes from them when the op does not pass it.
void NormStats(NormInputs& in, const Tensor& saved_mean, const Tensor& saved_rstd,
               std::optional<double> eps) {
  in.mean = saved_mean;
  in.rstd = saved_rstd;
  if (!Recording(in.x)) return;
  in.mean = call("mean", {in.x, in.dims, true});
  const Tensor centered = Sub(in.x, in.mean);
  const Tensor var = call("mean", {Mul(centered, centered), in.dims, true});
  Arg e = eps ? Arg(*eps) : Arg(call("detach", {Sub(call("reciprocal", {Mul(saved_rstd, saved_rstd)}), var)}));
  in.rstd = call("rsqrt", {Add(var, e)});
}

std::vector<Tensor> Pack(const NormGrads& g, const std::vector<int64_t>& mask,
                         const Tensor& gamma_grad) {
  return {mask[0] ? g.gO : Tensor(), mask[1] ? g.x : Tensor(), mask[2] ? gamma_grad : Tensor()};
}

// Sizes [1, C, 1, ...] of a per-channel tensor against an input of `ndim` dims.
Shape ChannelView(int64_t channels, size_t ndim) {
  Shape s = Ones(ndim);
  s[1] = channels;
  return s;
}

}  // namespace

std::vector<Tensor> batch_norm_double_backward(
    const std::vector<Tensor>& ggs, const Arg& grad_out, const Arg& input, const Arg& weight,
    const Arg& running_mean, const Arg& running_var, const Arg& save_mean,
    const Arg& save_invstd, const Arg& train, const Arg& eps,
    const std::vector<int64_t>& output_mask) {
  const Tensor& x = input.tensor;
  const size_t ndim = x.sizes().size();
  const int64_t channels = x.sizes()[1];
  auto per_channel = [&](const Tensor& t) {
    return Arrived(t) ? call("reshape", {t, ChannelView(channels, ndim)}) : Tensor();
  };
  NormInputs in;
  in.x = x;
  in.gO = grad_out.tensor;
  in.ggI = ggs[0];
  in.ggG = per_channel(ggs[1]);
  in.ggB = per_channel(ggs[2]);
  in.gamma = weight.is_tensor ? per_channel(weight.tensor) : Tensor();
  for (size_t d = 0; d < ndim; ++d) {
    if (d != 1) in.dims.push_back(static_cast<int64_t>(d));
  }
  in.batch_stats = train.to_bool();
  if (in.batch_stats) {
    NormStats(in, per_channel(save_mean.tensor), per_channel(save_invstd.tensor), eps.to_double());
  } else {
    in.mean = per_channel(running_mean.tensor);
    in.rstd = call("rsqrt", {Add(per_channel(running_var.tensor), eps)});
  }
  NormGrads g = NormDoubleBackward(in, output_mask);
  Tensor gamma_grad;
  if (g.gamma.defined()) gamma_grad = call("sum", {g.gamma, in.dims});
  return Pack(g, output_mask, gamma_grad);
}

std::vector<Tensor> layer_norm_double_backward(
    const std::vector<Tensor>& ggs, const Arg& grad_out, const Arg& input,
    const Arg& normalized_shape, const Arg& mean, const Arg& rstd, const Arg& weight,
    const std::vector<int64_t>& output_mask) {
  const Tensor& x = input.tensor;
  const int64_t ndim = x.dim();
  const int64_t k = static_cast<int64_t>(normalized_shape.ints().size());
  Shape stat_shape(x.sizes().begin(), x.sizes().end() - k);
  stat_shape.resize(ndim, 1);
  NormInputs in;
  in.x = x;
  in.gO = grad_out.tensor;
  in.ggI = ggs[0];
  in.ggG = Arrived(ggs[1]) ? ggs[1] : Tensor();  // normalized_shape: broadcasts as is
  in.ggB = Arrived(ggs[2]) ? ggs[2] : Tensor();
  in.gamma = weight.is_tensor ? weight.tensor : Tensor();
  for (int64_t d = ndim - k; d < ndim; ++d) in.dims.push_back(d);
  NormStats(in, call("reshape", {mean.tensor, stat_shape}),
            call("reshape", {rstd.tensor, stat_shape}), std::nullopt);
  NormGrads g = NormDoubleBackward(in, output_mask);
  Tensor gamma_grad;
  if (g.gamma.defined()) gamma_grad = sum_to(g.gamma, normalized_shape.ints());
  return Pack(g, output_mask, gamma_grad);
}

std::vector<Tensor> group_norm_double_backward(
    const std::vector<Tensor>& ggs, const Arg& grad_out, const Arg& input, const Arg& mean,
    const Arg& rstd, const Arg& weight, const Arg& N, const Arg& C, const Arg& HxW,
    const Arg& group, const std::vector<int64_t>& output_mask) {
  // Seen as [N, group, C / group, HxW], the statistics reduce dims 2 and 3.
  const int64_t n = N.to_int(), c = C.to_int(), hxw = HxW.to_int(), g = group.to_int();
  const Shape grouped = {n, g, c / g, hxw};
  const Shape channel_view = {1, g, c / g, 1};
  auto as_grouped = [&](const Tensor& t) { return call("reshape", {t, grouped}); };
  auto per_channel = [&](const Tensor& t) {
    return Arrived(t) ? call("reshape", {t, channel_view}) : Tensor();
  };
  NormInputs in;
  in.x = as_grouped(input.tensor);
  in.gO = as_grouped(grad_out.tensor);
  in.ggI = Arrived(ggs[0]) ? as_grouped(ggs[0]) : Tensor();
  in.ggG = per_channel(ggs[1]);
  in.ggB = per_channel(ggs[2]);
  in.gamma = weight.is_tensor ? per_channel(weight.tensor) : Tensor();
  in.dims = {2, 3};
  const Shape stat = {n, g, 1, 1};
  NormStats(in, call("reshape", {mean.tensor, stat}), call("reshape", {rstd.tensor, stat}),
            std::nullopt);
  NormGrads r = NormDoubleBackward(in, output_mask);
  const Shape& sizes = input.tensor.sizes();
  if (r.gO.defined()) r.gO = call("reshape", {r.gO, sizes});
  if (r.x.defined()) r.x = call("reshape", {r.x, sizes});
  Tensor gamma_grad;
  if (r.gamma.defined()) {
    gamma_grad = call("reshape", {call("sum", {r.gamma, std::vector<int64_t>{0, 3}}), Shape{c}});
  }
  return Pack(r, output_mask, gamma_grad);
}

// ---- embedding ----

Tensor embedding_double_backward(const Tensor& grad, const Arg& indices, const Arg& padding_idx,
                                 const Arg& scale_grad_by_freq) {
  const Tensor flat = call("reshape", {indices.tensor, Shape{-1}});
  Tensor rows = call("index_select", {grad, 0, flat});
  if (scale_grad_by_freq.to_bool()) {
    // The first backward divided each row's sum by its index's count.
    const int64_t num_weights = grad.sizes()[0];
    Tensor counts = call("index_add", {zeros_sized(grad, Shape{num_weights}), 0, flat,
                                       ones_like(call("to_dtype", {flat, grad.dtype()}))});
    rows = call("div", {rows, call("unsqueeze", {call("index_select", {counts, 0, flat}), 1})});
  }
  if (padding_idx.to_int() >= 0) {
    rows = Where(call("unsqueeze", {call("eq", {flat, padding_idx}), 1}), 0.0, rows);
  }
  Shape out = indices.sizes();
  out.push_back(grad.sizes()[1]);
  return call("reshape", {rows, out});
}

// ---- losses ----

// which: 0 grad_output, 1 self, 2 target. gI = norm * w * gO * f(self - target).
Tensor pointwise_loss_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self,
                                      const Arg& target, const Arg& reduction, const Arg& param,
                                      std::string_view loss, int which) {
  const double norm = LossNorm(self, reduction);
  const Tensor d = Sub(self, target);
  Tensor f;  // the first backward's factor of gO
  Arg df;    // its derivative in self (a tensor, or a number)
  if (loss == "mse") {
    f = Mul(d, 2.0);
    df = Arg(2.0);
  } else if (loss == "smooth_l1") {
    const double beta = param.to_double();
    if (beta == 0) {  // l1: sign(d), flat almost everywhere
      f = call("sign", {d});
      df = Arg(0.0);
    } else {
      f = call("clamp", {call("div", {d, beta}), -1.0, 1.0});
      df = Mul(call("lt", {call("abs", {d}), beta}), 1.0 / beta);
    }
  } else {  // huber
    const double delta = param.to_double();
    f = call("clamp", {d, -delta, delta});
    df = Mul(call("lt", {call("abs", {d}), delta}), 1.0);
  }
  if (which == 0) return Mul(grad, Mul(f, norm));
  Tensor g = Mul(Mul(Mul(grad, grad_output), df), norm);
  return which == 1 ? g : call("neg", {g});
}

Tensor binary_cross_entropy_double_backward(const Tensor& grad, const Arg& grad_output,
                                            const Arg& self, const Arg& target, const Arg& weight,
                                            const Arg& reduction, int which) {
  constexpr double kEps = 1e-12;  // the first backward's clamp of x (1 - x)
  const double norm = LossNorm(self, reduction);
  const Tensor& x = self.tensor;
  const Tensor x1mx = Mul(x, call("sub", {1, x}));
  Tensor g = Mul(grad, norm);
  if (weight.is_tensor) g = Mul(g, weight);
  if (which == 0) return Mul(g, call("div", {Sub(x, target), call("clamp", {x1mx, kEps})}));
  g = Mul(g, grad_output);
  if (which == 2) return call("neg", {call("div", {g, call("clamp", {x1mx, kEps})})});
  // d/dx (x - t) / (x (1 - x)) = (x^2 - 2 x t + t) / (x (1 - x))^2
  const Tensor num = Add(Sub(Mul(x, x), Mul(Mul(x, target), 2.0)), target);
  return Mul(g, call("div", {num, call("clamp", {Mul(x1mx, x1mx), kEps})}));
}

// ---- softmax ----

Tensor softmax_data_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& output,
                                    const Arg& dim) {
  // gI = y * (gO - sum(gO * y)); its gradient in y.
  const std::vector<int64_t> d = {dim.to_int()};
  const Tensor s = call("sum", {Mul(grad_output, output), d, true});
  const Tensor s_gg = call("sum", {Mul(grad, output), d, true});
  return Sub(Mul(grad, Sub(grad_output, s)), Mul(grad_output, s_gg));
}

Tensor log_softmax_data_double_backward(const Tensor& grad, const Arg& grad_output,
                                        const Arg& output, const Arg& dim, int which) {
  // gI = gO - exp(y) * sum(gO)
  const std::vector<int64_t> d = {dim.to_int()};
  const Tensor e = call("exp", {output});
  if (which == 0) return Sub(grad, call("sum", {Mul(grad, e), d, true}));
  return call("neg", {Mul(Mul(grad, e), call("sum", {grad_output, d, true}))});
}

// ---- activations: gI = gO * f'(x); these are grad * gO * f''(x) ----

Tensor gelu_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self,
                            const Arg& approximate) {
  const Tensor& x = self.tensor;
  const Tensor gg = Mul(grad, grad_output);
  const Tensor x_sq = Mul(x, x);
  if (approximate.value.s == "tanh") {
    // u = beta (x + kappa x^3), t = tanh(u):
    // f'' = (1 - t^2) (u' - x t u'^2 + 3 beta kappa x^2) with u' = beta (1 + 3 kappa x^2)
    const double beta = std::sqrt(2.0 / M_PI), kappa = 0.044715;
    const Tensor t = call("tanh", {Mul(Add(x, Mul(Mul(x_sq, x), kappa)), beta)});
    const Tensor du = Mul(Add(Mul(x_sq, 3 * kappa), 1), beta);
    const Tensor inner = Add(Sub(du, Mul(Mul(x, t), Mul(du, du))), Mul(x_sq, 3 * beta * kappa));
    return Mul(gg, Mul(call("sub", {1, Mul(t, t)}), inner));
  }
  // f'' = pdf(x) (2 - x^2)
  const Tensor pdf = Mul(call("exp", {Mul(x_sq, -0.5)}), 0.5 * M_2_SQRTPI * M_SQRT1_2);
  return Mul(gg, Mul(pdf, call("sub", {2, x_sq})));
}

Tensor silu_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self) {
  // f'' = s (1 - s) (2 + x (1 - 2 s))
  const Tensor& x = self.tensor;
  const Tensor s = Sigmoid(x);
  const Tensor ds = Mul(s, call("sub", {1, s}));
  return Mul(Mul(grad, grad_output),
             Mul(ds, Add(Mul(x, call("sub", {1, Mul(s, 2.0)})), 2)));
}

Tensor softplus_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self,
                                const Arg& beta, const Arg& threshold) {
  // f' = sigmoid(beta x) below the threshold, 1 above: f'' = beta s (1 - s) or 0.
  const Tensor z = Mul(self, beta);
  const Tensor s = Sigmoid(z);
  const Tensor d2 = Mul(Mul(s, call("sub", {1, s})), beta);
  return Where(call("gt", {z, threshold}), 0.0, Mul(Mul(grad, grad_output), d2));
}

Tensor elu_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& alpha,
                           const Arg& scale, const Arg& input_scale, const Arg& is_result,
                           const Arg& self_or_result) {
  const Tensor& v = self_or_result.tensor;
  const double in_scale = input_scale.to_double();
  const Tensor gg = Mul(grad, grad_output);
  const Tensor negative = call("le", {v, 0});
  if (is_result.to_bool()) {
    // gI = gO * input_scale * (y + alpha * scale) for y <= 0
    return Where(negative, Mul(gg, in_scale), 0.0);
  }
  const double neg = alpha.to_double() * scale.to_double();
  const Tensor d2 = Mul(call("exp", {Mul(v, in_scale)}), in_scale * in_scale * neg);
  return Where(negative, Mul(gg, d2), 0.0);
}

Tensor mish_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self) {
  // t = tanh(softplus(x)), s = sigmoid(x): f' = t + x s (1 - t^2),
  // f'' = s (1 - t^2) (2 + x (1 - s) - 2 x s t)
  const Tensor& x = self.tensor;
  const Tensor s = Sigmoid(x);
  const Tensor t = call("tanh", {call("softplus", {x})});
  const Tensor sech2 = call("sub", {1, Mul(t, t)});
  const Tensor inner = Sub(Add(Mul(x, call("sub", {1, s})), 2), Mul(Mul(Mul(x, s), t), 2.0));
  return Mul(Mul(grad, grad_output), Mul(Mul(s, sech2), inner));
}

Tensor log_sigmoid_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self) {
  // f' = 1 - sigmoid(x): f'' = -s (1 - s)
  const Tensor s = Sigmoid(self.tensor);
  return call("neg", {Mul(Mul(grad, grad_output), Mul(s, call("sub", {1, s})))});
}

namespace {
// The halves a, b of glu's input along dim and sigmoid(b).
struct GluHalves {
  Tensor a, b, s;
  int64_t dim;
};
GluHalves Halves(const Tensor& self, const Arg& dim) {
  GluHalves h;
  h.dim = WrapDim(dim.to_int(), self.dim());
  const int64_t half = self.sizes()[h.dim] / 2;
  h.a = call("narrow", {self, h.dim, 0, half});
  h.b = call("narrow", {self, h.dim, half, half});
  h.s = Sigmoid(h.b);
  return h;
}
}  // namespace

Tensor glu_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self,
                           const Arg& dim, int which) {
  // gI = [gO s, gO a s (1 - s)] for the halves [a, b].
  const GluHalves h = Halves(self.tensor, dim);
  const Tensor gg_a = call("narrow", {grad, h.dim, 0, h.a.sizes()[h.dim]});
  const Tensor gg_b = call("narrow", {grad, h.dim, h.a.sizes()[h.dim], h.a.sizes()[h.dim]});
  const Tensor ds = Mul(h.s, call("sub", {1, h.s}));
  if (which == 0) return Add(Mul(gg_a, h.s), Mul(Mul(gg_b, h.a), ds));
  const Tensor gO = grad_output.tensor;
  const Tensor ga = Mul(Mul(gg_b, gO), ds);
  const Tensor gb = Mul(Mul(ds, gO), Add(gg_a, Mul(Mul(gg_b, h.a), call("sub", {1, Mul(h.s, 2.0)}))));
  return call("cat", {std::vector<Tensor>{ga, gb}, h.dim});
}

std::vector<Tensor> prelu_double_backward(const std::vector<Tensor>& ggs, const Arg& grad_output,
                                          const Arg& self, const Arg& weight,
                                          const std::vector<int64_t>& output_mask) {
  // gI = gO where x > 0, else w gO; gW[c] = sum over channel c of x gO where x <= 0.
  const Tensor& x = self.tensor;
  const Tensor& gO = grad_output.tensor;
  const Tensor& ggI = ggs[0];
  const Tensor& ggW = ggs[1];
  const int64_t channels = weight.tensor.numel();
  // weight (and its gradient) as [C, 1, ...] against x; one weight broadcasts as a scalar.
  auto per_channel = [&](const Tensor& w) {
    return call("reshape", {w, channels == 1 ? Shape{} : ChannelView(channels, x.sizes().size())});
  };
  const Tensor positive = call("gt", {x, 0});
  std::vector<Tensor> out(3);
  if (output_mask[0]) {
    if (Arrived(ggI)) out[0] = Where(positive, ggI, Mul(ggI, per_channel(weight.tensor)));
    if (Arrived(ggW)) out[0] = AddDefined(out[0], Where(positive, 0.0, Mul(per_channel(ggW), x)));
  }
  if (output_mask[1] && Arrived(ggW)) out[1] = Where(positive, 0.0, Mul(per_channel(ggW), gO));
  if (output_mask[2] && Arrived(ggI)) {
    const Tensor g = Where(positive, 0.0, Mul(ggI, gO));
    std::vector<int64_t> dims;
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (channels == 1 || d != 1) dims.push_back(d);
    }
    out[2] = call("reshape", {dims.empty() ? g : call("sum", {g, dims}), weight.sizes()});
  }
  return out;
}

}  // namespace tensord::autograd
