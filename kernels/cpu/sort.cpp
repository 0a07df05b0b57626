// Sorting and selection along a dim: sort, argsort, topk, kthvalue, median,
// mode. NaN sorts above every number. Sorts are always stable, so indices
// of equal elements keep their input order (PyTorch's stable=True).
#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/reduce_util.h"
#include "kernels/kernel.h"
#include "kernels/meta/reduce_rule_util.h"

namespace tensord {

void RegisterHistogramKernels(KernelRegistry& r);
void RegisterUniqueKernels(KernelRegistry& r);

namespace {

int64_t DimArg(const KernelContext& ctx) { return OneDim(ctx.op, ctx.args, ctx.tensor(0).meta); }

bool BoolArg(const KernelContext& ctx, const char* name) {
  return ctx.args.get_bool(ctx.op.param_index(name));
}

// Fills order[0..n) with the positions of row sorted ascending (or
// descending), stable; only the first k need be in order.
template <typename T>
void SortRow(const T* row, int64_t n, bool descending, int64_t k, std::vector<int64_t>& order) {
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  auto asc = [row](int64_t a, int64_t b) { return LessNanLast(row[a], row[b]); };
  auto desc = [row](int64_t a, int64_t b) { return LessNanLast(row[b], row[a]); };
  if (k < n) {
    // partial_sort is not stable: break ties by position.
    auto tie = [](auto cmp) {
      return [cmp](int64_t a, int64_t b) { return cmp(a, b) || (!cmp(b, a) && a < b); };
    };
    if (descending) {
      std::partial_sort(order.begin(), order.begin() + k, order.end(), tie(desc));
    } else {
      std::partial_sort(order.begin(), order.begin() + k, order.end(), tie(asc));
    }
  } else if (descending) {
    std::stable_sort(order.begin(), order.end(), desc);
  } else {
    std::stable_sort(order.begin(), order.end(), asc);
  }
}

// sort, argsort and topk: the first k of each sorted row (k = size but for
// topk), values and indices stored back along dim.
void SortKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const int64_t dim = DimArg(ctx);
  const bool topk = ctx.op.variant == "topk";
  const bool argsort = ctx.op.variant == "argsort";
  const bool descending = topk ? BoolArg(ctx, "largest") : BoolArg(ctx, "descending");
  ReduceRows r = MakeDimRows(ctx, self, dim, self.dtype());
  // A 0-d input is its own top-k for k of 0 or 1, as in PyTorch.
  const int64_t k = topk && self.dim() > 0 ? ctx.args.get_int(ctx.op.param_index("k")) : r.row_size;
  const Shape& sizes = r.data.sizes();
  Shape out_sizes = sizes;
  if (!out_sizes.empty()) out_sizes.back() = k;
  Tensor values = ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, out_sizes));
  Tensor indices = ctx.NewTensor(TensorMeta::Contiguous(DType::kInt64, self.meta.device, out_sizes));
  DispatchAll(self.dtype(), ctx.op.name, [&]<typename T>() {
    const T* in = r.data.data<T>();
    T* v = values.data<T>();
    int64_t* ix = indices.data<int64_t>();
    ParallelFor(r.rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(r.row_size, 1)),
                [&](int64_t b, int64_t e) {
      std::vector<int64_t> order;
      for (int64_t i = b; i < e; ++i) {
        const T* row = in + i * r.row_size;
        SortRow(row, r.row_size, descending, k, order);
        for (int64_t j = 0; j < k; ++j) {
          v[i * k + j] = row[order[j]];
          ix[i * k + j] = order[j];
        }
      }
    });
  });
  if (argsort) {
    StoreDimRows(ctx.output(0), dim, indices);
  } else {
    StoreDimRows(ctx.output(0), dim, values);
    StoreDimRows(ctx.output(1), dim, indices);
  }
}

// Position of the k-th smallest (0-based) of row in sort order; NaN is
// largest, so a row with NaN has its first NaN at the top.
template <typename T>
int64_t SelectRow(const T* row, int64_t n, int64_t k, std::vector<int64_t>& order) {
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  std::nth_element(order.begin(), order.begin() + k, order.end(), [row](int64_t a, int64_t b) {
    return LessNanLast(row[a], row[b]) || (!LessNanLast(row[b], row[a]) && a < b);
  });
  return order[k];
}

// kthvalue, median, median_dim: one selected element per row. median of a
// row with NaN is its first NaN.
void SelectKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const std::string& v = ctx.op.variant;
  ReduceRows r = MakeReduceRows(ctx, self, self.dtype());
  Tensor& values = ctx.output(0);
  int64_t* ix = v == "median" ? nullptr : ctx.output(1).data<int64_t>();
  const int64_t kth = v == "kthvalue" ? ctx.args.get_int(ctx.op.param_index("k")) - 1 : -1;
  DispatchAll(self.dtype(), ctx.op.name, [&]<typename T>() {
    const T* in = r.data.data<T>();
    T* o = values.data<T>();
    if (r.row_size == 0) {
      // Only median of an empty tensor gets here: NaN, as PyTorch.
      // (Integral results get PyTorch's lowest value.)
      for (int64_t i = 0; i < r.rows; ++i) {
        if constexpr (std::is_integral_v<T>) {
          o[i] = std::numeric_limits<T>::lowest();
        } else {
          o[i] = Convert<T>(std::numeric_limits<double>::quiet_NaN());
        }
      }
      return;
    }
    ParallelFor(r.rows, std::max<int64_t>(1, 4096 / r.row_size), [&](int64_t b, int64_t e) {
      std::vector<int64_t> order;
      for (int64_t i = b; i < e; ++i) {
        const T* row = in + i * r.row_size;
        int64_t pos = -1;
        if (kth < 0) {
          for (int64_t j = 0; j < r.row_size && pos < 0; ++j) {
            if (IsNan(row[j])) pos = j;
          }
        }
        if (pos < 0) pos = SelectRow(row, r.row_size, kth >= 0 ? kth : (r.row_size - 1) / 2, order);
        o[i] = row[pos];
        if (ix) ix[i] = pos;
      }
    });
  });
}

// mode: the most frequent value of each row (the smallest on ties, each NaN
// counting once) and the last index where it occurs.
void ModeKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  ReduceRows r = MakeReduceRows(ctx, self, self.dtype());
  Tensor& values = ctx.output(0);
  int64_t* ix = ctx.output(1).data<int64_t>();
  DispatchAll(self.dtype(), ctx.op.name, [&]<typename T>() {
    const T* in = r.data.data<T>();
    T* o = values.data<T>();
    ParallelFor(r.rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(r.row_size, 1)),
                [&](int64_t b, int64_t e) {
      std::vector<int64_t> order;
      for (int64_t i = b; i < e; ++i) {
        const T* row = in + i * r.row_size;
        SortRow(row, r.row_size, false, r.row_size, order);
        int64_t best_count = 0, best_last = 0;
        for (int64_t s = 0; s < r.row_size;) {
          int64_t t = s + 1;
          while (t < r.row_size && Same(row[order[t]], row[order[s]])) ++t;
          if (t - s > best_count) {
            best_count = t - s;
            best_last = *std::max_element(order.begin() + s, order.begin() + t);
          }
          s = t;
        }
        o[i] = row[best_last];
        ix[i] = best_last;
      }
    });
  });
}

}  // namespace

void RegisterSortKernels(KernelRegistry& r) {
  r.Register("sort", Device::Kind::kCPU, &SortKernel);
  r.Register("argsort", Device::Kind::kCPU, &SortKernel);
  r.Register("topk", Device::Kind::kCPU, &SortKernel);
  r.Register("kthvalue", Device::Kind::kCPU, &SelectKernel);
  r.Register("median", Device::Kind::kCPU, &SelectKernel);
  r.Register("median_dim", Device::Kind::kCPU, &SelectKernel);
  r.Register("mode", Device::Kind::kCPU, &ModeKernel);
  RegisterUniqueKernels(r);
  RegisterHistogramKernels(r);
}

}  // namespace tensord
