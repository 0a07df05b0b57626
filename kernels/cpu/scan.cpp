// Ops along one dim that keep its size: running sums/products/extremes and
// softmax. The input is copied with the dim last (MakeDimRows), each row is
// processed in place, and the rows are stored back into the result.
#include <cmath>
#include <limits>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/reduce_util.h"
#include "kernels/kernel.h"
#include "kernels/meta/reduce_rule_util.h"

namespace tensord {
namespace {

int64_t DimArg(const KernelContext& ctx) { return OneDim(ctx.op, ctx.args, ctx.tensor(0).meta); }

// The input converted to the result dtype first (cumsum's dtype argument),
// then accumulated in double or int64.
void CumKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const bool prod = ctx.op.variant == "cumprod";
  const int64_t dim = DimArg(ctx);
  Tensor in = CastTo(ctx.tensor(0), out.dtype(), ctx.tracker);
  const DType acc = IsFloating(out.dtype()) ? DType::kFloat64 : DType::kInt64;
  ReduceRows r = MakeDimRows(ctx, in, dim, acc);
  auto run = [&]<typename A>() {
    A* p = r.data.data<A>();
    ForEachRow(r.rows, r.row_size, [&](int64_t i) {
      A* row = p + i * r.row_size;
      for (int64_t j = 1; j < r.row_size; ++j) row[j] = prod ? row[j - 1] * row[j] : row[j - 1] + row[j];
    });
  };
  if (acc == DType::kFloat64) {
    run.template operator()<double>();
  } else {
    run.template operator()<int64_t>();
  }
  StoreDimRows(out, dim, r.data);
}

// Running max/min: a later equal element takes over the index (PyTorch's
// >=), and NaN, once seen, stays with the index of the latest NaN.
void CumExtremeKernel(KernelContext& ctx) {
  const bool is_max = ctx.op.variant == "cummax";
  const int64_t dim = DimArg(ctx);
  const Tensor& self = ctx.tensor(0);
  ReduceRows r = MakeDimRows(ctx, self, dim, self.dtype());
  Tensor idx = ctx.NewTensor(TensorMeta::Contiguous(DType::kInt64, self.meta.device, r.data.sizes()));
  DispatchAll(self.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    T* p = r.data.data<T>();
    int64_t* ix = idx.data<int64_t>();
    ForEachRow(r.rows, r.row_size, [&](int64_t i) {
      T* row = p + i * r.row_size;
      int64_t* irow = ix + i * r.row_size;
      int64_t best = 0;
      for (int64_t j = 0; j < r.row_size; ++j) {
        const M a = row[j], b = row[best];
        if (IsNan(row[j]) || (!IsNan(row[best]) && (is_max ? a >= b : a <= b))) best = j;
        row[j] = row[best];
        irow[j] = best;
      }
    });
  });
  StoreDimRows(ctx.output(0), dim, r.data);
  StoreDimRows(ctx.output(1), dim, idx);
}

// softmax / log_softmax in double, shifted by the row max.
void SoftmaxKernel(KernelContext& ctx) {
  const bool log = ctx.op.variant == "log_softmax";
  const int64_t dim = DimArg(ctx);
  Tensor& out = ctx.output();
  Tensor in = CastTo(ctx.tensor(0), out.dtype(), ctx.tracker);
  ReduceRows r = MakeDimRows(ctx, in, dim, DType::kFloat64);
  double* p = r.data.data<double>();
  ForEachRow(r.rows, r.row_size, [&](int64_t i) {
    double* row = p + i * r.row_size;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < r.row_size; ++j) m = std::isnan(row[j]) || row[j] > m ? row[j] : m;
    double s = 0;
    for (int64_t j = 0; j < r.row_size; ++j) s += std::exp(row[j] - m);
    const double ls = std::log(s);
    for (int64_t j = 0; j < r.row_size; ++j) {
      row[j] = log ? row[j] - m - ls : std::exp(row[j] - m) / s;
    }
  });
  StoreDimRows(out, dim, r.data);
}

}  // namespace

void RegisterScanKernels(KernelRegistry& r) {
  r.Register("cumsum", Device::Kind::kCPU, &CumKernel);
  r.Register("cumprod", Device::Kind::kCPU, &CumKernel);
  r.Register("cummax", Device::Kind::kCPU, &CumExtremeKernel);
  r.Register("cummin", Device::Kind::kCPU, &CumExtremeKernel);
  r.Register("softmax", Device::Kind::kCPU, &SoftmaxKernel);
  r.Register("log_softmax", Device::Kind::kCPU, &SoftmaxKernel);
}

}  // namespace tensord
