// unique and unique along a dim: sorted distinct elements (or slices), the
// inverse mapping and the counts. Result sizes depend on the data, so the
// kernel sets the values and counts outputs itself. NaN equals nothing, so
// each NaN is its own (last-sorted) value.
#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/reduce_util.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

void UniqueKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const int dim_p = ctx.op.param_index("dim");
  const bool has_dim = !ctx.args.is_none(dim_p);
  const int64_t dim = has_dim ? WrapDim(ctx.args.get_int(dim_p), self.dim()) : 0;
  // n slices of len elements each, contiguous: the dim first, or every element.
  Tensor moved = has_dim ? MoveDim(self, dim, /*to_last=*/false) : self;
  Tensor flat = ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, moved.sizes()));
  CopyInto(flat, moved);
  const int64_t n = has_dim ? self.sizes()[dim] : self.numel();
  const int64_t len = has_dim ? (n == 0 ? 0 : self.numel() / n) : 1;

  Tensor& inverse = ctx.output(1);  // also sizes ctx.outputs for all three
  std::vector<int64_t> order(n), firsts, counts;
  std::iota(order.begin(), order.end(), 0);
  DispatchAll(self.dtype(), ctx.op.name, [&]<typename T>() {
    const T* p = flat.data<T>();
    auto less = [&](int64_t a, int64_t b) {
      for (int64_t j = 0; j < len; ++j) {
        const T x = p[a * len + j], y = p[b * len + j];
        if (LessNanLast(x, y)) return true;
        if (LessNanLast(y, x)) return false;
      }
      return false;
    };
    auto same = [&](int64_t a, int64_t b) {
      for (int64_t j = 0; j < len; ++j) {
        if (!Same(p[a * len + j], p[b * len + j])) return false;
      }
      return true;
    };
    std::stable_sort(order.begin(), order.end(), less);
    int64_t* inv = inverse.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      if (i == 0 || !same(order[i - 1], order[i])) {
        firsts.push_back(order[i]);
        counts.push_back(0);
      }
      ++counts.back();
      inv[order[i]] = static_cast<int64_t>(firsts.size()) - 1;
    }
    const int64_t u = static_cast<int64_t>(firsts.size());
    Shape buf_sizes = moved.sizes();
    if (has_dim) {
      buf_sizes[0] = u;
    } else {
      buf_sizes = {u};
    }
    Tensor buf = ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, buf_sizes));
    T* b = buf.data<T>();
    for (int64_t g = 0; g < u; ++g) std::copy_n(p + firsts[g] * len, len, b + g * len);
    Shape out_sizes = has_dim ? self.sizes() : Shape{u};
    if (has_dim) out_sizes[dim] = u;
    Tensor values = ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, out_sizes));
    CopyInto(has_dim ? MoveDim(values, dim, false) : values, buf);
    ctx.outputs[0] = std::move(values);
  });
  Tensor c = ctx.NewTensor(TensorMeta::Contiguous(DType::kInt64, self.meta.device,
                                                  {static_cast<int64_t>(counts.size())}));
  std::copy(counts.begin(), counts.end(), c.data<int64_t>());
  ctx.outputs[2] = std::move(c);
}

}  // namespace

void RegisterUniqueKernels(KernelRegistry& r) {
  r.Register("unique_all", Device::Kind::kCPU, &UniqueKernel);
}

}  // namespace tensord
