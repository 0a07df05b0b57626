// Losses of torch.nn (forward and backward) in double: pointwise losses over
// broadcast operands, nll_loss (1-d, 2-d and spatial) and CTC.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/cpu/loops.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"
#include "kernels/meta/nn_rule_util.h"

namespace tensord {
namespace {

constexpr int64_t kMean = 1, kSum = 2;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Argument i as a float64 tensor (any layout), or a 0-d `fallback` for None.
Tensor OperandOr(const KernelContext& ctx, int i, double fallback) {
  if (i >= 0 && ctx.args.values[i].is_tensor()) return CastTo(ctx.tensor(i), DType::kFloat64, ctx.tracker);
  return Tensor::Scalar(fallback, DType::kFloat64);
}

// out[i] = f(a[i], b[i], c[i], d[i]) in double over operands broadcast to sizes.
template <typename F>
Tensor Pointwise(const KernelContext& ctx, const Shape& sizes, const std::array<Tensor, 4>& in, F f) {
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(DType::kFloat64, Device{}, sizes));
  auto loop = MakeLoop<5>(sizes, {&out, &in[0], &in[1], &in[2], &in[3]});
  RunLoop<5>(loop, [f](std::array<char*, 5> p, std::array<int64_t, 5> s, int64_t n) {
    auto at = [&](int k, int64_t i) { return *reinterpret_cast<const double*>(p[k] + i * s[k]); };
    for (int64_t i = 0; i < n; ++i) {
      *reinterpret_cast<double*>(p[0] + i * s[0]) = f(at(1, i), at(2, i), at(3, i), at(4, i));
    }
  });
  return out;
}

// Writes the elementwise losses into the result: as they are, or their
// mean / sum.
void Reduce(KernelContext& ctx, const Tensor& losses, int64_t reduction) {
  Tensor& out = ctx.output();
  if (reduction != kMean && reduction != kSum) return CopyInto(out, losses);
  double s = 0;
  const double* p = losses.data<double>();
  for (int64_t i = 0, n = losses.numel(); i < n; ++i) s += p[i];
  if (reduction == kMean) s /= double(losses.numel());
  CopyInto(out, Tensor::Scalar(s, DType::kFloat64));
}

double Arg(const KernelContext& ctx, const char* name) {
  return ctx.args.get_float(ctx.op.param_index(name));
}

void CheckProbabilities(const KernelContext& ctx, const Tensor& x) {
  const Tensor d = Dense(ctx, x);
  const double* p = d.data<double>();
  for (int64_t i = 0, n = d.numel(); i < n; ++i) {
    TD_CHECK(p[i] >= 0 && p[i] <= 1, kRuntime, "[", ctx.op.name,
             "] all elements of input should be between 0 and 1");
  }
}

void PointwiseLossKernel(KernelContext& ctx) {
  const std::string& name = ctx.op.name;
  const int64_t reduction = ctx.args.get_int(ctx.op.param_index("reduction"));
  const Tensor x = OperandOr(ctx, 0, 0), t = OperandOr(ctx, 1, 0);
  Shape sizes = BroadcastShapes(name, x.sizes(), t.sizes());
  const int wi = ctx.op.param_index("weight"), pwi = ctx.op.param_index("pos_weight");
  const Tensor w = OperandOr(ctx, wi, 1.0), pw = OperandOr(ctx, pwi, 1.0);
  sizes = BroadcastShapes(name, BroadcastShapes(name, sizes, w.sizes()), pw.sizes());
  Tensor losses;
  if (name == "mse_loss") {
    losses = Pointwise(ctx, sizes, {x, t, w, pw}, [](double a, double b, double, double) {
      return (a - b) * (a - b);
    });
  } else if (name == "smooth_l1_loss") {
    const double beta = Arg(ctx, "beta");
    losses = Pointwise(ctx, sizes, {x, t, w, pw}, [beta](double a, double b, double, double) {
      const double z = std::abs(a - b);
      if (beta == 0) return z;
      return z < beta ? 0.5 * z * z / beta : z - 0.5 * beta;
    });
  } else if (name == "huber_loss") {
    const double delta = Arg(ctx, "delta");
    losses = Pointwise(ctx, sizes, {x, t, w, pw}, [delta](double a, double b, double, double) {
      const double z = std::abs(a - b);
      return z < delta ? 0.5 * z * z : delta * (z - 0.5 * delta);
    });
  } else if (name == "binary_cross_entropy") {
    CheckProbabilities(ctx, x);
    losses = Pointwise(ctx, sizes, {x, t, w, pw}, [](double a, double b, double wv, double) {
      return wv * ((b - 1) * std::max(std::log1p(-a), -100.0) - b * std::max(std::log(a), -100.0));
    });
  } else if (name == "binary_cross_entropy_with_logits") {
    const bool has_pw = ctx.args.values[pwi].is_tensor();
    losses = Pointwise(ctx, sizes, {x, t, w, pw}, [has_pw](double a, double b, double wv, double pv) {
      const double m = std::max(-a, 0.0);
      double l;
      if (has_pw) {
        const double lw = (pv - 1) * b + 1;
        l = (1 - b) * a + lw * (std::log1p(std::exp(-std::abs(a))) + m);
      } else {
        l = (1 - b) * a + m + std::log(std::exp(-m) + std::exp(-a - m));
      }
      return l * wv;
    });
  } else if (name == "kl_div") {
    const bool log_target = ctx.args.get_bool(3);
    losses = Pointwise(ctx, sizes, {x, t, w, pw}, [log_target](double a, double b, double, double) {
      if (log_target) return std::exp(b) * (b - a);
      const double xlogy = b == 0 && !std::isnan(b) ? 0.0 : b * std::log(b);
      return xlogy - b * a;
    });
  } else {
    Fail(ErrorKind::kInternal, "[", name, "] no pointwise loss of that name");
  }
  Reduce(ctx, losses, reduction);
}

// The gradients have self's shape; norm is 1 / numel for the mean.
void PointwiseLossBackwardKernel(KernelContext& ctx) {
  const std::string& name = ctx.op.name;
  const Tensor& self = ctx.tensor(1);
  const int64_t reduction = ctx.args.get_int(ctx.op.param_index("reduction"));
  const double norm = reduction == kMean ? 1.0 / double(self.numel()) : 1.0;
  const Tensor g = OperandOr(ctx, 0, 0), x = OperandOr(ctx, 1, 0), t = OperandOr(ctx, 2, 0);
  const Tensor w = OperandOr(ctx, ctx.op.param_index("weight"), 1.0);
  const Shape& sizes = self.sizes();
  Tensor grad;
  if (name == "mse_loss_backward") {
    grad = Pointwise(ctx, sizes, {g, x, t, w}, [norm](double gv, double a, double b, double) {
      return 2 * norm * (a - b) * gv;
    });
  } else if (name == "smooth_l1_loss_backward") {
    const double beta = Arg(ctx, "beta");
    grad = Pointwise(ctx, sizes, {g, x, t, w}, [norm, beta](double gv, double a, double b, double) {
      const double d = a - b;
      if (beta == 0) return d > 0 ? norm * gv : d < 0 ? -norm * gv : 0.0;
      if (d <= -beta) return -norm * gv;
      return d >= beta ? norm * gv : norm * d * gv / beta;
    });
  } else if (name == "huber_loss_backward") {
    const double delta = Arg(ctx, "delta");
    grad = Pointwise(ctx, sizes, {g, x, t, w}, [norm, delta](double gv, double a, double b, double) {
      const double d = a - b;
      if (d <= -delta) return -norm * gv * delta;
      return d >= delta ? norm * gv * delta : norm * d * gv;
    });
  } else if (name == "binary_cross_entropy_backward") {
    grad = Pointwise(ctx, sizes, {g, x, t, w}, [norm](double gv, double a, double b, double wv) {
      return norm * gv * (a - b) / std::max((1 - a) * a, 1e-12) * wv;
    });
  } else {
    Fail(ErrorKind::kInternal, "[", name, "] no pointwise loss backward of that name");
  }
  CopyInto(ctx.output(), grad);
}

// nll_loss's layout for every form: self [b][class][s], target [b][s]
// (1-d input: b = s = 1; 2-d: s = 1; spatial: s = H * W).
struct NllLayout {
  int64_t b, c, s;
  explicit NllLayout(const Tensor& self) {
    if (self.dim() == 1) {
      b = 1, c = self.sizes()[0], s = 1;
    } else {
      b = self.sizes()[0], c = self.sizes()[1], s = self.dim() == 4 ? self.sizes()[2] * self.sizes()[3] : 1;
    }
  }
};

// The targets as int64, each checked against the class count.
Tensor NllTargets(const KernelContext& ctx, const Tensor& target, int64_t classes, int64_t ignore) {
  Tensor t = Dense(ctx, target, DType::kInt64);
  const int64_t* p = t.data<int64_t>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    TD_CHECK(p[i] == ignore || (p[i] >= 0 && p[i] < classes), kIndex, "[", ctx.op.name,
             "] Target ", p[i], " is out of bounds.");
  }
  return t;
}

void NllLossKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const NllLayout L(self);
  const int64_t reduction = ctx.args.get_int(3), ignore = ctx.args.get_int(4);
  const Tensor target = NllTargets(ctx, ctx.tensor(1), L.c, ignore);
  const Tensor x = Dense(ctx, self), w = OperandOr(ctx, 2, 1.0);
  const Tensor wd = Dense(ctx, w);
  const bool has_w = ctx.args.values[2].is_tensor();
  const int64_t* tp = target.data<int64_t>();
  const double* xp = x.data<double>();
  Tensor losses = Filled(ctx, {L.b * L.s}, 0.0);
  double total_weight = 0;
  for (int64_t i = 0; i < L.b; ++i) {
    for (int64_t j = 0; j < L.s; ++j) {
      const int64_t t = tp[i * L.s + j];
      if (t == ignore) continue;
      const double wv = has_w ? wd.data<double>()[t] : 1.0;
      losses.data<double>()[i * L.s + j] = -xp[(i * L.c + t) * L.s + j] * wv;
      total_weight += wv;
    }
  }
  Tensor& out = ctx.output(0);
  if (reduction == 0) {
    CopyInto(out, losses.View(TensorMeta::Contiguous(DType::kFloat64, Device{}, out.sizes())));
    if (self.dim() > 1) total_weight = 0;  // as ATen: batched unreduced losses report 0
  } else {
    double s = 0;
    for (int64_t i = 0; i < losses.numel(); ++i) s += losses.data<double>()[i];
    if (reduction == kMean) s /= total_weight;
    CopyInto(out, Tensor::Scalar(s, DType::kFloat64));
  }
  CopyInto(ctx.output(1), Tensor::Scalar(total_weight, DType::kFloat64));
}

void NllLossBackwardKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(1);
  const NllLayout L(self);
  const int64_t reduction = ctx.args.get_int(4), ignore = ctx.args.get_int(5);
  const Tensor target = NllTargets(ctx, ctx.tensor(2), L.c, ignore);
  const Tensor g = Dense(ctx, ctx.tensor(0));
  const Tensor wd = Dense(ctx, OperandOr(ctx, 3, 1.0));
  const bool has_w = ctx.args.values[3].is_tensor();
  const double total_weight = Dense(ctx, ctx.tensor(6)).data<double>()[0];
  const int64_t* tp = target.data<int64_t>();
  Tensor gi = Filled(ctx, self.sizes(), 0.0);
  double* gp = gi.data<double>();
  for (int64_t i = 0; i < L.b; ++i) {
    for (int64_t j = 0; j < L.s; ++j) {
      const int64_t t = tp[i * L.s + j];
      if (t == ignore) continue;
      const double wv = has_w ? wd.data<double>()[t] : 1.0;
      double gv = reduction == 0 ? g.data<double>()[i * L.s + j] : g.data<double>()[0];
      if (reduction == kMean) gv /= total_weight;
      gp[(i * L.c + t) * L.s + j] = -wv * gv;
    }
  }
  CopyInto(ctx.output(), gi);
}

// CTC over one batch entry: log_probs lp[t][c] = lp[t * stride + c].
struct CtcEntry {
  const double* lp;
  int64_t stride, input_length, target_length, blank;
  const int64_t* target;

  int64_t label(int64_t s) const { return s % 2 == 0 ? blank : target[s / 2]; }
  double at(int64_t t, int64_t s) const { return lp[t * stride + label(s)]; }

  // alpha[t][s] for t < input_length, s < 2L + 1 (row pitch `pitch`), -inf
  // elsewhere; returns the negative log likelihood.
  double Alpha(double* alpha, int64_t pitch) const {
    const int64_t S = 2 * target_length + 1;
    if (input_length == 0) return target_length == 0 ? 0.0 : kInf;
    alpha[0] = at(0, 0);
    if (S > 1) alpha[1] = at(0, 1);
    for (int64_t t = 1; t < input_length; ++t) {
      const double* prev = alpha + (t - 1) * pitch;
      double* cur = alpha + t * pitch;
      for (int64_t s = 0; s < S; ++s) {
        double v = prev[s];
        if (s > 0) v = LogAddExp(v, prev[s - 1]);
        if (s > 1 && label(s) != label(s - 2)) v = LogAddExp(v, prev[s - 2]);
        cur[s] = v + at(t, s);
      }
    }
    const double* last = alpha + (input_length - 1) * pitch;
    return -(S > 1 ? LogAddExp(last[S - 1], last[S - 2]) : last[S - 1]);
  }

  void Beta(double* beta, int64_t pitch) const {
    const int64_t S = 2 * target_length + 1;
    if (input_length == 0) return;
    double* last = beta + (input_length - 1) * pitch;
    last[S - 1] = at(input_length - 1, S - 1);
    if (S > 1) last[S - 2] = at(input_length - 1, S - 2);
    for (int64_t t = input_length - 2; t >= 0; --t) {
      const double* next = beta + (t + 1) * pitch;
      double* cur = beta + t * pitch;
      for (int64_t s = 0; s < S; ++s) {
        double v = next[s];
        if (s + 1 < S) v = LogAddExp(v, next[s + 1]);
        if (s + 2 < S && label(s + 2) != label(s)) v = LogAddExp(v, next[s + 2]);
        cur[s] = v + at(t, s);
      }
    }
  }
};

// The CTC problem of an op: log_probs at argument `base`, then targets and
// the length lists.
struct Ctc {
  int64_t T, N, C, blank, pitch;
  Tensor lp, targets;
  std::vector<int64_t> offsets, input_lengths, target_lengths;

  Ctc(const KernelContext& ctx, int base) {
    const Tensor& log_probs = ctx.tensor(base);
    T = log_probs.sizes()[0], N = log_probs.sizes()[1], C = log_probs.sizes()[2];
    blank = ctx.args.get_int(ctx.op.param_index("blank"));
    lp = Dense(ctx, log_probs);
    const Tensor& tg = ctx.tensor(base + 1);
    targets = Dense(ctx, tg, DType::kInt64);
    input_lengths = ctx.args.get_ints(base + 2);
    target_lengths = ctx.args.get_ints(base + 3);
    int64_t max_target = 0, off = 0;
    for (int64_t b = 0; b < N; ++b) {
      offsets.push_back(tg.dim() == 1 ? off : b * tg.sizes()[1]);
      off += target_lengths[b];
      max_target = std::max(max_target, target_lengths[b]);
      for (int64_t k = 0; k < target_lengths[b]; ++k) {
        const int64_t v = targets.data<int64_t>()[offsets[b] + k];
        TD_CHECK(v >= 0 && v < C, kIndex, "[", ctx.op.name, "] target ", v, " is out of the label ",
                 "range [0, ", C, ")");
      }
    }
    pitch = 2 * max_target + 1;
  }

  CtcEntry entry(int64_t b) const {
    return CtcEntry{lp.data<double>() + b * C, N * C, input_lengths[b], target_lengths[b], blank,
                    targets.data<int64_t>() + offsets[b]};
  }
};

void CtcLossKernel(KernelContext& ctx) {
  const Ctc P(ctx, 0);
  Tensor alpha = Filled(ctx, {P.N, P.T, P.pitch}, -kInf);
  Tensor nll = Filled(ctx, {P.N}, 0.0);
  ParallelFor(P.N, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      nll.data<double>()[b] = P.entry(b).Alpha(alpha.data<double>() + b * P.T * P.pitch, P.pitch);
    }
  });
  if (ctx.op.name != "ctc_loss") {
    CopyInto(ctx.output(0), nll);
    CopyInto(ctx.output(1), alpha);
    return;
  }
  // ATen's ctc_loss: zero_infinity, then mean of nll / target length or sum.
  const int64_t reduction = ctx.args.get_int(5);
  const bool zero_infinity = ctx.args.get_bool(6);
  double* p = nll.data<double>();
  double total = 0;
  for (int64_t b = 0; b < P.N; ++b) {
    if (zero_infinity && p[b] == kInf) p[b] = 0;
    total += reduction == kMean ? p[b] / double(std::max<int64_t>(P.target_lengths[b], 1)) : p[b];
  }
  if (reduction == 0) return CopyInto(ctx.output(), nll);
  if (reduction == kMean) total /= double(P.N);
  CopyInto(ctx.output(), Tensor::Scalar(total, DType::kFloat64));
}

// d nll / d log_probs[t][c] = exp(lp) - exp(logsumexp_{s: l'(s) = c}(alpha + beta) + nll - lp),
// times grad[b]; zero for t >= input_length (and for infinite losses with
// zero_infinity). alpha and nll are recomputed, not read from the arguments.
void CtcLossBackwardKernel(KernelContext& ctx) {
  const Ctc P(ctx, 1);
  const Tensor grad = Dense(ctx, ctx.tensor(0));
  const bool zero_infinity = ctx.args.get_bool(ctx.op.param_index("zero_infinity"));
  Tensor out = Filled(ctx, {P.T, P.N, P.C}, 0.0);
  ParallelFor(P.N, 1, [&](int64_t lo, int64_t hi) {
    std::vector<double> alpha, beta, lcab(P.C);
    for (int64_t b = lo; b < hi; ++b) {
      const CtcEntry e = P.entry(b);
      alpha.assign(P.T * P.pitch, -kInf);
      beta.assign(P.T * P.pitch, -kInf);
      const double nll = e.Alpha(alpha.data(), P.pitch);
      e.Beta(beta.data(), P.pitch);
      if (zero_infinity && nll == kInf) continue;
      const double gr = grad.data<double>()[b];
      for (int64_t t = 0; t < e.input_length; ++t) {
        std::fill(lcab.begin(), lcab.end(), -kInf);
        for (int64_t s = 0; s < 2 * e.target_length + 1; ++s) {
          double& l = lcab[e.label(s)];
          l = LogAddExp(l, alpha[t * P.pitch + s] + beta[t * P.pitch + s]);
        }
        double* o = out.data<double>() + (t * P.N + b) * P.C;
        for (int64_t c = 0; c < P.C; ++c) {
          const double lp = e.lp[t * e.stride + c];
          o[c] = (std::exp(lp) - std::exp(lcab[c] + nll - lp)) * gr;
        }
      }
    }
  });
  CopyInto(ctx.output(), out);
}

}  // namespace

void RegisterNnLossKernels(KernelRegistry& r) {
  const auto cpu = Device::Kind::kCPU;
  for (const char* op : {"mse_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                         "binary_cross_entropy_with_logits", "kl_div"}) {
    r.Register(op, cpu, &PointwiseLossKernel);
  }
  for (const char* op : {"mse_loss_backward", "smooth_l1_loss_backward", "huber_loss_backward",
                         "binary_cross_entropy_backward"}) {
    r.Register(op, cpu, &PointwiseLossBackwardKernel);
  }
  r.Register("nll_loss_forward", cpu, &NllLossKernel);
  r.Register("nll_loss2d_forward", cpu, &NllLossKernel);
  r.Register("nll_loss_backward", cpu, &NllLossBackwardKernel);
  r.Register("nll_loss2d_backward", cpu, &NllLossBackwardKernel);
  r.Register("_ctc_loss", cpu, &CtcLossKernel);
  r.Register("ctc_loss", cpu, &CtcLossKernel);
  r.Register("_ctc_loss_backward", cpu, &CtcLossBackwardKernel);
}

}  // namespace tensord
