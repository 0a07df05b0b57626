// Matrix products. float32 goes to oneDNN's sgemm; other dtypes use a plain
// blocked loop (correct, not tuned).
#include <dnnl.h>

#include <algorithm>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

// `t` (viewed with `sizes`) broadcast to `shape`, as one contiguous buffer.
Tensor ContiguousAs(const KernelContext& ctx, const Tensor& t, const Shape& sizes, const Shape& shape) {
  TensorMeta m = t.meta;
  if (sizes != t.sizes()) {  // a 1-D operand seen as a row or a column
    m.sizes = sizes;
    m.strides.assign(sizes.size(), 0);
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] != 1) m.strides[i] = t.strides()[0];
    }
  }
  Tensor view = t.View(m);
  if (view.sizes() == shape && view.is_contiguous()) return view;
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(t.dtype(), t.meta.device, shape));
  CopyInto(out, view);
  return out;
}

template <typename T>
void NaiveGemm(int64_t n, int64_t m, int64_t k, const T* a, const T* b, T* c) {
  using M = opmath_t<T>;
  std::vector<M> acc(static_cast<size_t>(m));
  for (int64_t i = 0; i < n; ++i) {
    std::fill(acc.begin(), acc.end(), M(0));
    for (int64_t p = 0; p < k; ++p) {
      const M av = M(a[i * k + p]);
      const T* brow = b + p * m;
      for (int64_t j = 0; j < m; ++j) acc[j] += av * M(brow[j]);
    }
    for (int64_t j = 0; j < m; ++j) c[i * m + j] = Convert<T>(acc[j]);
  }
}

void MatmulKernel(KernelContext& ctx) {
  const Tensor& a = ctx.tensor(0);
  const Tensor& b = ctx.tensor(1);
  Tensor& out = ctx.output();
  const int64_t k = a.sizes().back();
  Shape as = a.dim() == 1 ? Shape{1, k} : a.sizes();
  Shape bs = b.dim() == 1 ? Shape{k, 1} : b.sizes();
  const int64_t n = as[as.size() - 2], m = bs.back();
  Shape batch = BroadcastShapes("matmul", Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2));
  Shape ash = batch, bsh = batch;
  ash.insert(ash.end(), {n, k});
  bsh.insert(bsh.end(), {k, m});
  Tensor ac = ContiguousAs(ctx, a, as, ash);
  Tensor bc = ContiguousAs(ctx, b, bs, bsh);
  const int64_t batches = Numel(batch);
  if (out.numel() == 0) return;
  DispatchNumeric(out.dtype(), "matmul", [&]<typename T>() {
    const T* ap = ac.data<T>();
    const T* bp = bc.data<T>();
    T* cp = out.data<T>();
    for (int64_t i = 0; i < batches; ++i) {
      if constexpr (std::is_same_v<T, float>) {
        if (k == 0) {
          std::fill(cp + i * n * m, cp + (i + 1) * n * m, 0.0f);
          continue;
        }
        dnnl_status_t st = dnnl_sgemm('N', 'N', n, m, k, 1.0f, ap + i * n * k, k,
                                      bp + i * k * m, m, 0.0f, cp + i * n * m, m);
        TD_CHECK(st == dnnl_success, kInternal, "[matmul] oneDNN sgemm failed with status ", st);
      } else {
        NaiveGemm<T>(n, m, k, ap + i * n * k, bp + i * k * m, cp + i * n * m);
      }
    }
  });
}

}  // namespace

void RegisterMatmulKernels(KernelRegistry& r) {
  r.Register("matmul", Device::Kind::kCPU, &MatmulKernel);
}

}  // namespace tensord
