// Batch, layer and group normalisation (forward and backward), softmax's
// backward ops and the embedding helpers. Each computes in double on
// contiguous copies, in parallel over channels (batch norm) or rows; float32
// batch, layer and group norm run on oneDNN (dnnl_nn.cpp) instead.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/dnnl_util.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/reduce_util.h"
#include "kernels/kernel.h"
#include "kernels/meta/nn_rule_util.h"

namespace tensord {
namespace {

// Argument i as a contiguous float64 copy, or an empty tensor for None.
Tensor OptionalDense(const KernelContext& ctx, int i) {
  return ctx.args.values[i].is_tensor() ? Dense(ctx, ctx.tensor(i)) : Tensor{};
}

double At(const Tensor& t, int64_t i, double fallback) {
  return t.defined() ? t.data<double>()[i] : fallback;
}

// Writes the contiguous float64 buffer `buf` (of as many elements) into
// result i, converted.
void Store(KernelContext& ctx, size_t i, const Tensor& buf) {
  Tensor& out = ctx.output(i);
  if (out.numel() == 0) return;
  TD_ASSERT(out.numel() == buf.numel());
  CopyInto(out, buf.View(TensorMeta::Contiguous(DType::kFloat64, buf.meta.device, out.sizes())));
}

// Batch norm's layout: input (N, C, S...) seen as [n][c][s].
struct BatchLayout {
  int64_t n, c, s;
  explicit BatchLayout(const Tensor& input)
      : n(input.sizes()[0]), c(input.sizes()[1]), s(input.numel() / std::max<int64_t>(1, n * c)) {
    if (n * c == 0) s = 0;
  }
  int64_t count() const { return n * s; }
  template <typename F>
  void ForChannel(int64_t ch, F&& f) const {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t base = (i * c + ch) * s;
      for (int64_t j = 0; j < s; ++j) f(base + j);
    }
  }
};

int64_t Grain(int64_t work_per_item) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work_per_item)); }

void BatchNormKernel(KernelContext& ctx) {
  if (DnnlBatchNorm(ctx)) return;  // float32 on oneDNN
  const Tensor& input = ctx.tensor(0);
  const BatchLayout L(input);
  const Tensor x = Dense(ctx, input);
  const Tensor w = OptionalDense(ctx, 1), b = OptionalDense(ctx, 2);
  const Tensor rm = OptionalDense(ctx, 3), rv = OptionalDense(ctx, 4);
  const bool training = ctx.args.get_bool(5);
  const double momentum = ctx.args.get_float(6), eps = ctx.args.get_float(7);
  Tensor y = Filled(ctx, input.sizes(), 0.0);
  Tensor mean = Filled(ctx, {L.c}, 0.0), invstd = Filled(ctx, {L.c}, 0.0);
  Tensor var_unbiased = Filled(ctx, {L.c}, 0.0);
  const double* xp = x.data<double>();
  double* yp = y.data<double>();
  ParallelFor(L.c, Grain(L.count()), [&](int64_t lo, int64_t hi) {
    for (int64_t ch = lo; ch < hi; ++ch) {
      double m, is;
      if (training) {
        double sum = 0, sq = 0;
        L.ForChannel(ch, [&](int64_t k) { sum += xp[k]; });
        m = sum / double(L.count());
        L.ForChannel(ch, [&](int64_t k) { sq += (xp[k] - m) * (xp[k] - m); });
        is = 1.0 / std::sqrt(sq / double(L.count()) + eps);
        mean.data<double>()[ch] = m;
        invstd.data<double>()[ch] = is;
        var_unbiased.data<double>()[ch] = sq / double(L.count() - 1);
      } else {
        m = rm.data<double>()[ch];
        is = 1.0 / std::sqrt(rv.data<double>()[ch] + eps);
      }
      const double scale = is * At(w, ch, 1.0), shift = At(b, ch, 0.0);
      L.ForChannel(ch, [&](int64_t k) { yp[k] = (xp[k] - m) * scale + shift; });
    }
  });
  Store(ctx, 0, y);
  if (!training) return;
  Store(ctx, 1, mean);
  Store(ctx, 2, invstd);
  // Running statistics are updated in place (they are inputs, not results).
  for (int i : {3, 4}) {
    if (!ctx.args.values[i].is_tensor()) continue;
    const Tensor& stat = i == 3 ? rm : rv;
    const double* batch = (i == 3 ? mean : var_unbiased).data<double>();
    Tensor updated = Filled(ctx, ctx.tensor(i).sizes(), 0.0);
    for (int64_t ch = 0; ch < L.c; ++ch) {
      updated.data<double>()[ch] = (1 - momentum) * stat.data<double>()[ch] + momentum * batch[ch];
    }
    CopyInto(ctx.tensor(i), updated);
  }
}

void BatchNormBackwardKernel(KernelContext& ctx) {
  if (DnnlBatchNormBackward(ctx)) return;  // float32 on oneDNN
  const Tensor& input = ctx.tensor(1);
  const BatchLayout L(input);
  const Tensor g = Dense(ctx, ctx.tensor(0)), x = Dense(ctx, input);
  const Tensor w = OptionalDense(ctx, 2);
  const bool train = ctx.args.get_bool(7);
  const double eps = ctx.args.get_float(8);
  const Tensor mean = OptionalDense(ctx, train ? 5 : 3), stat = OptionalDense(ctx, train ? 6 : 4);
  Tensor gi = Filled(ctx, input.sizes(), 0.0);
  Tensor gw = Filled(ctx, {L.c}, 0.0), gb = Filled(ctx, {L.c}, 0.0);
  const double* xp = x.data<double>();
  const double* gp = g.data<double>();
  double* gip = gi.data<double>();
  const double n = double(L.count());
  ParallelFor(L.c, Grain(L.count()), [&](int64_t lo, int64_t hi) {
    for (int64_t ch = lo; ch < hi; ++ch) {
      const double m = mean.data<double>()[ch];
      const double is = train ? stat.data<double>()[ch] : 1.0 / std::sqrt(stat.data<double>()[ch] + eps);
      double sum_g = 0, dotp = 0;
      L.ForChannel(ch, [&](int64_t k) {
        sum_g += gp[k];
        dotp += (xp[k] - m) * gp[k];
      });
      const double wc = At(w, ch, 1.0);
      if (train) {
        const double k2 = dotp * is * is / n, gm = sum_g / n;
        L.ForChannel(ch, [&](int64_t k) { gip[k] = (gp[k] - gm - (xp[k] - m) * k2) * is * wc; });
      } else {
        L.ForChannel(ch, [&](int64_t k) { gip[k] = gp[k] * is * wc; });
      }
      gw.data<double>()[ch] = dotp * is;
      gb.data<double>()[ch] = sum_g;
    }
  });
  Store(ctx, 0, gi);
  Store(ctx, 1, gw);
  Store(ctx, 2, gb);
}

// Rows of `len` elements normalised by mean/rstd, scaled by an element-wise
// weight w(row, j): the input gradient of layer and group norm.
//   gi = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)),  gw = g * w
template <typename W>
void NormRowBackward(const double* x, const double* g, double* gi, int64_t len, double mean,
                     double rstd, W&& weight) {
  double a = 0, b = 0;
  for (int64_t j = 0; j < len; ++j) {
    const double gw = g[j] * weight(j);
    a += gw;
    b += gw * (x[j] - mean) * rstd;
  }
  a /= double(len);
  b /= double(len);
  for (int64_t j = 0; j < len; ++j) {
    const double xhat = (x[j] - mean) * rstd;
    gi[j] = rstd * (g[j] * weight(j) - a - xhat * b);
  }
}

// mean and 1/sqrt(biased var + eps) of a row.
void RowStats(const double* x, int64_t len, double eps, double* mean, double* rstd) {
  double sum = 0, sq = 0;
  for (int64_t j = 0; j < len; ++j) sum += x[j];
  const double m = sum / double(len);
  for (int64_t j = 0; j < len; ++j) sq += (x[j] - m) * (x[j] - m);
  *mean = m;
  *rstd = 1.0 / std::sqrt(sq / double(len) + eps);
}

void LayerNormKernel(KernelContext& ctx) {
  if (DnnlLayerNorm(ctx)) return;  // float32 on oneDNN
  const Tensor& input = ctx.tensor(0);
  int64_t len = 1;
  for (int64_t v : ctx.args.get_ints(1)) len *= v;
  const int64_t rows = len == 0 ? ctx.output(1).numel() : input.numel() / len;
  const Tensor x = Dense(ctx, input), w = OptionalDense(ctx, 2), b = OptionalDense(ctx, 3);
  const double eps = ctx.args.get_float(4);
  Tensor y = Filled(ctx, input.sizes(), 0.0);
  Tensor mean = Filled(ctx, {rows}, 0.0), rstd = Filled(ctx, {rows}, 0.0);
  ParallelFor(rows, Grain(len), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const double* xr = x.data<double>() + r * len;
      double* yr = y.data<double>() + r * len;
      double m, rs;
      RowStats(xr, len, eps, &m, &rs);
      mean.data<double>()[r] = m;
      rstd.data<double>()[r] = rs;
      for (int64_t j = 0; j < len; ++j) yr[j] = (xr[j] - m) * rs * At(w, j, 1.0) + At(b, j, 0.0);
    }
  });
  Store(ctx, 0, y);
  Store(ctx, 1, mean);
  Store(ctx, 2, rstd);
}

void LayerNormBackwardKernel(KernelContext& ctx) {
  if (DnnlLayerNormBackward(ctx)) return;  // float32 on oneDNN
  const Tensor& input = ctx.tensor(1);
  int64_t len = 1;
  for (int64_t v : ctx.args.get_ints(2)) len *= v;
  const int64_t rows = ctx.tensor(3).numel();
  const Tensor g = Dense(ctx, ctx.tensor(0)), x = Dense(ctx, input);
  const Tensor mean = Dense(ctx, ctx.tensor(3)), rstd = Dense(ctx, ctx.tensor(4));
  const Tensor w = OptionalDense(ctx, 5);
  Tensor gi = Filled(ctx, input.sizes(), 0.0);
  Tensor gw = Filled(ctx, {len}, 0.0), gb = Filled(ctx, {len}, 0.0);
  const double* mp = mean.data<double>();
  const double* rp = rstd.data<double>();
  if (len > 0) {
    ParallelFor(rows, Grain(len), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        NormRowBackward(x.data<double>() + r * len, g.data<double>() + r * len,
                        gi.data<double>() + r * len, len, mp[r], rp[r],
                        [&](int64_t j) { return At(w, j, 1.0); });
      }
    });
  }
  ParallelFor(len, Grain(rows), [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      double sw = 0, sb = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const double gv = g.data<double>()[r * len + j];
        sw += gv * (x.data<double>()[r * len + j] - mp[r]) * rp[r];
        sb += gv;
      }
      gw.data<double>()[j] = sw;
      gb.data<double>()[j] = sb;
    }
  });
  Store(ctx, 0, gi);
  Store(ctx, 1, gw);
  Store(ctx, 2, gb);
}

// Group norm's layout: [n][group][c in group][hxw]; a row is one (n, group).
struct GroupLayout {
  int64_t n, c, hxw, group, d;
  GroupLayout(const KernelContext& ctx, int first)
      : n(ctx.args.get_int(first)), c(ctx.args.get_int(first + 1)),
        hxw(ctx.args.get_int(first + 2)), group(ctx.args.get_int(first + 3)), d(c / group) {}
  int64_t row_len() const { return d * hxw; }
  // The channel of element j of row r.
  int64_t channel(int64_t r, int64_t j) const { return (r % group) * d + j / std::max<int64_t>(1, hxw); }
};

void GroupNormKernel(KernelContext& ctx) {
  if (DnnlGroupNorm(ctx)) return;  // float32 on oneDNN
  const Tensor& input = ctx.tensor(0);
  const GroupLayout L(ctx, 3);
  const Tensor x = Dense(ctx, input), w = OptionalDense(ctx, 1), b = OptionalDense(ctx, 2);
  const double eps = ctx.args.get_float(7);
  const int64_t rows = L.n * L.group, len = L.row_len();
  Tensor y = Filled(ctx, input.sizes(), 0.0);
  Tensor mean = Filled(ctx, {rows}, 0.0), rstd = Filled(ctx, {rows}, 0.0);
  ParallelFor(rows, Grain(len), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const double* xr = x.data<double>() + r * len;
      double* yr = y.data<double>() + r * len;
      double m, rs;
      RowStats(xr, len, eps, &m, &rs);
      mean.data<double>()[r] = m;
      rstd.data<double>()[r] = rs;
      for (int64_t j = 0; j < len; ++j) {
        const int64_t ch = L.channel(r, j);
        yr[j] = (xr[j] - m) * rs * At(w, ch, 1.0) + At(b, ch, 0.0);
      }
    }
  });
  Store(ctx, 0, y);
  Store(ctx, 1, mean);
  Store(ctx, 2, rstd);
}

void GroupNormBackwardKernel(KernelContext& ctx) {
  if (DnnlGroupNormBackward(ctx)) return;  // float32 on oneDNN
  const Tensor& input = ctx.tensor(1);
  const GroupLayout L(ctx, 5);
  const Tensor g = Dense(ctx, ctx.tensor(0)), x = Dense(ctx, input);
  const Tensor mean = Dense(ctx, ctx.tensor(2)), rstd = Dense(ctx, ctx.tensor(3));
  const Tensor w = OptionalDense(ctx, 4);
  const int64_t rows = L.n * L.group, len = L.row_len();
  const double* mp = mean.data<double>();
  const double* rp = rstd.data<double>();
  Tensor gi = Filled(ctx, input.sizes(), 0.0);
  Tensor gw = Filled(ctx, {L.c}, 0.0), gb = Filled(ctx, {L.c}, 0.0);
  if (len > 0) {
    ParallelFor(rows, Grain(len), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        NormRowBackward(x.data<double>() + r * len, g.data<double>() + r * len,
                        gi.data<double>() + r * len, len, mp[r], rp[r],
                        [&](int64_t j) { return At(w, L.channel(r, j), 1.0); });
      }
    });
  }
  // Per channel: sums over the batch and the spatial positions.
  ParallelFor(L.c, Grain(L.n * L.hxw), [&](int64_t lo, int64_t hi) {
    for (int64_t ch = lo; ch < hi; ++ch) {
      double sw = 0, sb = 0;
      for (int64_t i = 0; i < L.n; ++i) {
        const int64_t r = i * L.group + ch / L.d;
        const int64_t base = (i * L.c + ch) * L.hxw;
        for (int64_t k = 0; k < L.hxw; ++k) {
          const double gv = g.data<double>()[base + k];
          sw += gv * (x.data<double>()[base + k] - mp[r]) * rp[r];
          sb += gv;
        }
      }
      gw.data<double>()[ch] = sw;
      gb.data<double>()[ch] = sb;
    }
  });
  Store(ctx, 0, gi);
  Store(ctx, 1, gw);
  Store(ctx, 2, gb);
}

void SoftmaxBackwardKernel(KernelContext& ctx) {
  const bool log = ctx.op.name == "_log_softmax_backward_data";
  const Tensor& grad = ctx.tensor(0);
  const int64_t dim = WrapDim(ctx.args.get_int(2), grad.dim());
  ReduceRows g = MakeDimRows(ctx, grad, dim, DType::kFloat64);
  ReduceRows y = MakeDimRows(ctx, ctx.tensor(1), dim, DType::kFloat64);
  double* gp = g.data.data<double>();
  const double* yp = y.data.data<double>();
  ForEachRow(g.rows, g.row_size, [&](int64_t i) {
    double* gr = gp + i * g.row_size;
    const double* yr = yp + i * g.row_size;
    double s = 0;
    for (int64_t j = 0; j < g.row_size; ++j) s += log ? gr[j] : gr[j] * yr[j];
    for (int64_t j = 0; j < g.row_size; ++j) {
      gr[j] = log ? gr[j] - std::exp(yr[j]) * s : yr[j] * (gr[j] - s);
    }
  });
  StoreDimRows(ctx.output(), dim, g.data);
}

void EmbeddingDenseBackwardKernel(KernelContext& ctx) {
  const Tensor& grad = ctx.tensor(0);
  const Tensor idx = Dense(ctx, ctx.tensor(1), DType::kInt64);
  const int64_t num_weights = ctx.args.get_int(2), padding_idx = ctx.args.get_int(3);
  const bool scale = ctx.args.get_bool(4);
  const int64_t k = idx.numel(), d = grad.sizes()[grad.dim() - 1];
  const int64_t* ip = idx.data<int64_t>();
  std::unordered_map<int64_t, int64_t> counts;
  for (int64_t i = 0; i < k; ++i) {
    TD_CHECK(ip[i] >= 0 && ip[i] < num_weights, kIndex, "[", ctx.op.name,
             "] index out of range in self: ", ip[i], " is not in [0, ", num_weights, ")");
    if (scale) ++counts[ip[i]];
  }
  const Tensor g = Dense(ctx, grad);
  Tensor out = Filled(ctx, {num_weights, d}, 0.0);
  double* op = out.data<double>();
  const double* gp = g.data<double>();
  ParallelFor(d, Grain(k), [&](int64_t lo, int64_t hi) {
    for (int64_t i = 0; i < k; ++i) {
      if (ip[i] == padding_idx) continue;
      const double f = scale ? 1.0 / double(counts.at(ip[i])) : 1.0;
      for (int64_t j = lo; j < hi; ++j) op[ip[i] * d + j] += gp[i * d + j] * f;
    }
  });
  Store(ctx, 0, out);
}

// Rows of self at indices whose norm exceeds max_norm are scaled to
// max_norm / (norm + 1e-7), once per distinct index.
void EmbeddingRenormKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const Tensor idx = Dense(ctx, ctx.tensor(1), DType::kInt64);
  const double max_norm = ctx.args.get_float(2), p = ctx.args.get_float(3);
  const int64_t rows = self.sizes()[0], d = self.sizes()[1];
  std::vector<int64_t> v(idx.data<int64_t>(), idx.data<int64_t>() + idx.numel());
  for (int64_t i : v) {
    TD_CHECK(i >= 0 && i < rows, kIndex, "[", ctx.op.name, "] index out of range in self: ", i,
             " is not in [0, ", rows, ")");
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  DispatchFloating(self.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    T* base = self.data<T>();
    const int64_t s0 = self.strides()[0], s1 = self.strides()[1];
    for (int64_t i : v) {
      T* row = base + i * s0;
      double norm = 0;
      for (int64_t j = 0; j < d; ++j) {
        const double a = std::abs(double(M(row[j * s1])));
        if (p == 0) {
          norm += a != 0;
        } else if (std::isinf(p)) {
          norm = p > 0 ? std::max(norm, a) : (j == 0 ? a : std::min(norm, a));
        } else {
          norm += std::pow(a, p);
        }
      }
      if (p != 0 && !std::isinf(p)) norm = std::pow(norm, 1.0 / p);
      if (norm > max_norm) {
        const double s = max_norm / (norm + 1e-7);
        for (int64_t j = 0; j < d; ++j) row[j * s1] = Convert<T>(M(double(M(row[j * s1])) * s));
      }
    }
  });
}

}  // namespace

void RegisterNnNormKernels(KernelRegistry& r) {
  const auto cpu = Device::Kind::kCPU;
  r.Register("native_batch_norm", cpu, &BatchNormKernel);
  r.Register("native_batch_norm_backward", cpu, &BatchNormBackwardKernel);
  r.Register("native_layer_norm", cpu, &LayerNormKernel);
  r.Register("native_layer_norm_backward", cpu, &LayerNormBackwardKernel);
  r.Register("native_group_norm", cpu, &GroupNormKernel);
  r.Register("native_group_norm_backward", cpu, &GroupNormBackwardKernel);
  r.Register("_softmax_backward_data", cpu, &SoftmaxBackwardKernel);
  r.Register("_log_softmax_backward_data", cpu, &SoftmaxBackwardKernel);
  r.Register("embedding_dense_backward", cpu, &EmbeddingDenseBackwardKernel);
  r.Register("embedding_renorm_", cpu, &EmbeddingRenormKernel);
}

}  // namespace tensord
