// Reductions over dims. The input is viewed with the reduced dims last and
// made contiguous, so each output element reduces one contiguous row.
// Floating sums, products, moments and norms accumulate in double, integral
// ones in int64, whatever the result dtype.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/reduce_util.h"
#include "kernels/kernel.h"
#include "kernels/meta/reduce_rule_util.h"

namespace tensord {

void RegisterMinMaxKernels(KernelRegistry& r);

ReduceRows MakeReduceRows(const KernelContext& ctx, const Tensor& self, DType dtype) {
  const std::vector<int64_t> dims = ReducedDims(ctx.op, ctx.args, self.meta);
  // Permute: kept dims in order, then reduced dims.
  TensorMeta perm = self.meta;
  perm.sizes.clear();
  perm.strides.clear();
  int64_t row = 1;
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      perm.sizes.push_back(self.sizes()[d]);
      perm.strides.push_back(self.strides()[d]);
    }
  }
  const int64_t kept = Numel(perm.sizes);
  for (int64_t d : dims) {
    perm.sizes.push_back(self.sizes()[d]);
    perm.strides.push_back(self.strides()[d]);
    row *= self.sizes()[d];
  }
  Tensor permuted = self.View(perm);
  ReduceRows r;
  r.row_size = row;
  r.rows = kept;
  r.data = ctx.NewTensor(TensorMeta::Contiguous(dtype, self.meta.device, perm.sizes));
  CopyInto(r.data, permuted);
  return r;
}

Tensor MoveDim(const Tensor& t, int64_t dim, bool to_last) {
  if (t.dim() == 0) return t;
  TensorMeta m = t.meta;
  m.sizes.clear();
  m.strides.clear();
  if (!to_last) {
    m.sizes.push_back(t.sizes()[dim]);
    m.strides.push_back(t.strides()[dim]);
  }
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d == dim) continue;
    m.sizes.push_back(t.sizes()[d]);
    m.strides.push_back(t.strides()[d]);
  }
  if (to_last) {
    m.sizes.push_back(t.sizes()[dim]);
    m.strides.push_back(t.strides()[dim]);
  }
  return t.View(std::move(m));
}

ReduceRows MakeDimRows(const KernelContext& ctx, const Tensor& self, int64_t dim, DType dtype) {
  Tensor moved = MoveDim(self, dim);
  ReduceRows r;
  r.row_size = self.dim() == 0 ? 1 : self.sizes()[dim];
  r.rows = r.row_size == 0 ? Numel(Shape(moved.sizes().begin(), moved.sizes().end() - 1))
                           : self.numel() / r.row_size;
  r.data = ctx.NewTensor(TensorMeta::Contiguous(dtype, self.meta.device, moved.sizes()));
  CopyInto(r.data, moved);
  return r;
}

void StoreDimRows(const Tensor& out, int64_t dim, const Tensor& rows) {
  Tensor dst = MoveDim(out, dim);
  CopyInto(dst, rows.View(TensorMeta::Contiguous(rows.dtype(), rows.meta.device, dst.sizes())));
}

namespace {

// The accumulator type of sum-like ops producing `out`.
DType AccFor(DType out) { return IsFloating(out) ? DType::kFloat64 : DType::kInt64; }

// Reduces each row with fn(const Acc* row, n) -> Acc and converts into out.
template <typename Acc, typename F>
void ReduceInto(const ReduceRows& r, const Tensor& out, std::string_view op, F fn) {
  DispatchAll(out.dtype(), op, [&]<typename T>() {
    T* o = out.data<T>();
    const Acc* in = r.data.data<Acc>();
    ForEachRow(r.rows, r.row_size, [&](int64_t i) {
      o[i] = Convert<T>(fn(in + i * r.row_size, r.row_size));
    });
  });
}

// sum/mean of a contiguous float tensor over its leading dims (a linear
// layer's bias gradient): whole rows accumulate into the result, with no
// transposing copy. False when the case does not apply.
bool SumLeadingDims(KernelContext& ctx, Tensor& out, bool mean) {
  const Tensor& self = ctx.tensor(0);
  const DType d = self.dtype();
  if ((d != DType::kFloat32 && d != DType::kFloat64) || out.dtype() != d ||
      !self.is_contiguous() || !out.is_contiguous()) {
    return false;
  }
  const int p = ctx.op.param_index("dim");
  if (p < 0 || ctx.args.is_none(p) || ctx.args.get_ints(p).empty()) return false;
  const int64_t ndim = self.dim();
  if (ndim == 0) return false;
  std::vector<bool> reduced(static_cast<size_t>(ndim), false);
  for (int64_t dim : ctx.args.get_ints(p)) reduced[WrapDim(dim, ndim)] = true;
  int64_t k = 0;
  while (k < ndim && reduced[k]) ++k;
  for (int64_t i = k; i < ndim; ++i) {
    if (reduced[i]) return false;
  }
  if (k == 0 || k == ndim) return false;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < k; ++i) outer *= self.sizes()[i];
  for (int64_t i = k; i < ndim; ++i) inner *= self.sizes()[i];
  DispatchFloating(d, ctx.op.name, [&]<typename T>() {
    const T* in = self.data<T>();
    T* o = out.data<T>();
    ParallelFor(inner, 2048, [&](int64_t b, int64_t e) {
      std::vector<double> acc(static_cast<size_t>(e - b), 0.0);
      for (int64_t i = 0; i < outer; ++i) {
        const T* row = in + i * inner;
        for (int64_t j = b; j < e; ++j) acc[j - b] += static_cast<double>(row[j]);
      }
      for (int64_t j = b; j < e; ++j) {
        double v = acc[j - b];
        if (mean) v = outer == 0 ? std::numeric_limits<double>::quiet_NaN() : v / outer;
        o[j] = static_cast<T>(v);
      }
    });
  });
  return true;
}

// sum, mean, nansum, prod (variant = op name).
void SumProdKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const std::string& v = ctx.op.variant;
  if ((v == "sum" || v == "mean") && SumLeadingDims(ctx, out, v == "mean")) return;
  if (out.dtype() == DType::kBool) {
    // The input converts to bool first: a bool sum is any, a product all.
    ReduceRows r = MakeReduceRows(ctx, ctx.tensor(0), DType::kBool);
    const bool all = v == "prod";
    ReduceInto<bool>(r, out, ctx.op.name, [all](const bool* p, int64_t n) {
      for (int64_t j = 0; j < n; ++j) {
        if (p[j] != all) return !all;
      }
      return all;
    });
    return;
  }
  const DType acc = AccFor(out.dtype());
  ReduceRows r = MakeReduceRows(ctx, ctx.tensor(0), acc);
  auto run = [&]<typename A>() {
    ReduceInto<A>(r, out, ctx.op.name, [&](const A* p, int64_t n) {
      A s = v == "prod" ? A(1) : A(0);
      if (v == "prod") {
        for (int64_t j = 0; j < n; ++j) s *= p[j];
      } else if (v == "nansum") {
        for (int64_t j = 0; j < n; ++j) s += IsNan(p[j]) ? A(0) : p[j];
      } else {
        for (int64_t j = 0; j < n; ++j) s += p[j];
      }
      if (v == "mean" && n != 0) s /= static_cast<A>(n);
      if constexpr (std::is_floating_point_v<A>) {
        if (v == "mean" && n == 0) s = std::numeric_limits<A>::quiet_NaN();
      }
      return s;
    });
  };
  if (acc == DType::kFloat64) {
    run.template operator()<double>();
  } else {
    run.template operator()<int64_t>();
  }
}

// The divisor offset of std/var: correction, else 1 - !unbiased, else 1.
double Correction(const KernelContext& ctx) {
  const int c = ctx.op.param_index("correction");
  if (!ctx.args.is_none(c)) return static_cast<double>(ctx.args.get_int(c));
  const int u = ctx.op.param_index("unbiased");
  if (!ctx.args.is_none(u)) return ctx.args.get_bool(u) ? 1.0 : 0.0;
  return 1.0;
}

// std, var, std_mean, var_mean: two passes in double.
void MomentsKernel(KernelContext& ctx) {
  const std::string& v = ctx.op.variant;
  const bool root = v.starts_with("std");
  const bool with_mean = v.ends_with("_mean");
  const double correction = Correction(ctx);
  ReduceRows r = MakeReduceRows(ctx, ctx.tensor(0), DType::kFloat64);
  Tensor& out = ctx.output(0);
  Tensor* mean_out = with_mean ? &ctx.output(1) : nullptr;
  const double* in = r.data.data<double>();
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    T* o = out.data<T>();
    T* m = mean_out ? mean_out->data<T>() : nullptr;
    ForEachRow(r.rows, r.row_size, [&](int64_t i) {
      const double* p = in + i * r.row_size;
      const int64_t n = r.row_size;
      double mean = 0;
      for (int64_t j = 0; j < n; ++j) mean += p[j];
      mean /= static_cast<double>(n);
      double m2 = 0;
      for (int64_t j = 0; j < n; ++j) m2 += (p[j] - mean) * (p[j] - mean);
      const double var = m2 / std::max(0.0, static_cast<double>(n) - correction);
      o[i] = Convert<T>(root ? std::sqrt(var) : var);
      if (m) m[i] = Convert<T>(mean);
    });
  });
}

// all, any: rows of bools; the result is bool or uint8.
void AllAnyKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const bool all = ctx.op.variant == "all";
  ReduceRows r = MakeReduceRows(ctx, ctx.tensor(0), DType::kBool);
  ReduceInto<bool>(r, out, ctx.op.name, [all](const bool* p, int64_t n) {
    for (int64_t j = 0; j < n; ++j) {
      if (p[j] != all) return !all;
    }
    return all;
  });
}

void CountNonzeroKernel(KernelContext& ctx) {
  ReduceRows r = MakeReduceRows(ctx, ctx.tensor(0), DType::kBool);
  ReduceInto<bool>(r, ctx.output(), ctx.op.name, [](const bool* p, int64_t n) {
    int64_t c = 0;
    for (int64_t j = 0; j < n; ++j) c += p[j];
    return c;
  });
}

// Vector p-norm: inf/-inf are max/min of |x|, 0 counts nonzeros.
void NormKernel(KernelContext& ctx) {
  const int pp = ctx.op.param_index("p");
  const double p = ctx.args.is_none(pp) ? 2.0 : ctx.args.get_float(pp);
  ReduceRows r = MakeReduceRows(ctx, ctx.tensor(0), DType::kFloat64);
  ReduceInto<double>(r, ctx.output(), ctx.op.name, [p](const double* x, int64_t n) {
    if (std::isinf(p)) {
      double best = n == 0 ? 0.0 : std::fabs(x[0]);
      for (int64_t j = 0; j < n; ++j) {
        const double a = std::fabs(x[j]);
        if (std::isnan(a)) return a;
        best = p > 0 ? std::max(best, a) : std::min(best, a);
      }
      return best;
    }
    double s = 0;
    if (p == 0) {
      for (int64_t j = 0; j < n; ++j) s += x[j] != 0 ? 1.0 : 0.0;
      return s;
    }
    if (p == 1) {
      for (int64_t j = 0; j < n; ++j) s += std::fabs(x[j]);
      return s;
    }
    if (p == 2) {
      for (int64_t j = 0; j < n; ++j) s += x[j] * x[j];
      return std::sqrt(s);
    }
    for (int64_t j = 0; j < n; ++j) s += std::pow(std::fabs(x[j]), p);
    return std::pow(s, 1.0 / p);
  });
}

// max + log(sum(exp(x - max))); an infinite max is the answer itself.
void LogSumExpKernel(KernelContext& ctx) {
  ReduceRows r = MakeReduceRows(ctx, ctx.tensor(0), DType::kFloat64);
  ReduceInto<double>(r, ctx.output(), ctx.op.name, [](const double* x, int64_t n) {
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < n; ++j) {
      if (std::isnan(x[j])) return x[j];
      m = std::max(m, x[j]);
    }
    if (std::isinf(m)) return m;
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::exp(x[j] - m);
    return m + std::log(s);
  });
}

}  // namespace

void RegisterReduceKernels(KernelRegistry& r) {
  for (const char* op : {"sum", "mean", "nansum", "prod"}) r.Register(op, Device::Kind::kCPU, &SumProdKernel);
  for (const char* op : {"std", "var", "std_mean", "var_mean"}) {
    r.Register(op, Device::Kind::kCPU, &MomentsKernel);
  }
  r.Register("all", Device::Kind::kCPU, &AllAnyKernel);
  r.Register("any", Device::Kind::kCPU, &AllAnyKernel);
  r.Register("count_nonzero", Device::Kind::kCPU, &CountNonzeroKernel);
  r.Register("norm", Device::Kind::kCPU, &NormKernel);
  r.Register("logsumexp", Device::Kind::kCPU, &LogSumExpKernel);
  RegisterMinMaxKernels(r);
}

}  // namespace tensord
