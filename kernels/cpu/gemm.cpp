#include "kernels/cpu/gemm.h"

#include <dnnl.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"

namespace tensord {
namespace {

// One operand of a gemm as BLAS sees it: rows x cols per batch.
struct Operand {
  Tensor t;               // the data (a contiguous copy when strides don't fit)
  char trans = 'N';       // 'N': row-major with leading dim ld; 'T': column-major
  int64_t ld = 1;
  int64_t batch_stride = 0;
};

Operand Prepare(const KernelContext& ctx, const Tensor& t, bool allow_transposed) {
  const int64_t rows = t.sizes()[1], cols = t.sizes()[2];
  const int64_t sb = t.strides()[0], sr = t.strides()[1], sc = t.strides()[2];
  if ((sc == 1 || cols == 1) && (rows == 1 || sr >= std::max<int64_t>(1, cols))) {
    return {t, 'N', rows == 1 ? std::max<int64_t>(1, cols) : sr, sb};
  }
  if (allow_transposed && (sr == 1 || rows == 1) && (cols == 1 || sc >= std::max<int64_t>(1, rows))) {
    return {t, 'T', cols == 1 ? std::max<int64_t>(1, rows) : sc, sb};
  }
  Tensor copy = ctx.NewTensor(TensorMeta::Contiguous(t.dtype(), t.meta.device, t.sizes()));
  CopyInto(copy, t);
  return {copy, 'N', std::max<int64_t>(1, cols), rows * cols};
}

template <typename T>
T ScalarAs(double v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<int64_t>(v));
  } else {
    return static_cast<T>(v);
  }
}

// Rows [r0, r1) of the flattened [B*N, M] result, row-major operands.
template <typename T>
void NaiveRows(const Operand& a, const Operand& c, T* out, int64_t n, int64_t m, int64_t k,
               double alpha, double beta, int64_t r0, int64_t r1) {
  using M = opmath_t<T>;
  const M al = ScalarAs<M>(alpha), be = ScalarAs<M>(beta);
  std::vector<M> acc(static_cast<size_t>(m));
  const T* ap = a.t.data<T>();
  const T* cp = c.t.data<T>();
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / n, i = r % n;
    std::fill(acc.begin(), acc.end(), M(0));
    const T* arow = ap + b * a.batch_stride + i * a.ld;
    const T* cb = cp + b * c.batch_stride;
    for (int64_t p = 0; p < k; ++p) {
      const M av = M(arow[p]);
      const T* crow = cb + p * c.ld;
      for (int64_t j = 0; j < m; ++j) acc[j] = static_cast<M>(acc[j] + av * M(crow[j]));
    }
    T* orow = out + r * m;
    for (int64_t j = 0; j < m; ++j) {
      const M v = beta == 0 ? static_cast<M>(al * acc[j])
                            : static_cast<M>(al * acc[j] + be * M(orow[j]));
      orow[j] = Convert<T>(v);
    }
  }
}

}  // namespace

Tensor StridedView(const Tensor& t, Shape sizes, Shape strides) {
  TensorMeta m = t.meta;
  m.sizes = std::move(sizes);
  m.strides = std::move(strides);
  return t.View(m);
}

void BatchedGemm(const KernelContext& ctx, std::string_view op, const Tensor& a, const Tensor& c,
                 const Tensor& out, double alpha, double beta) {
  const int64_t batches = out.sizes()[0], n = out.sizes()[1], m = out.sizes()[2];
  const int64_t k = a.sizes()[2];
  if (out.numel() == 0) return;
  if (k == 0 || alpha == 0) {  // only the beta term is left
    DispatchAll(out.dtype(), op, [&]<typename T>() {
      T* o = out.data<T>();
      using M = opmath_t<T>;
      const M be = ScalarAs<M>(beta);
      for (int64_t i = 0; i < out.numel(); ++i) {
        o[i] = beta == 0 ? T(0) : Convert<T>(static_cast<M>(be * M(o[i])));
      }
    });
    return;
  }
  if (out.dtype() == DType::kFloat32) {
    Operand pa = Prepare(ctx, a, true), pc = Prepare(ctx, c, true);
    const float* ap = pa.t.data<float>();
    const float* cp = pc.t.data<float>();
    float* o = out.data<float>();
    // sgemm may still read C when beta is 0; a fresh result can hold NaN.
    if (beta == 0) std::fill(o, o + out.numel(), 0.0f);
    for (int64_t b = 0; b < batches; ++b) {
      dnnl_status_t st = dnnl_sgemm(pa.trans, pc.trans, n, m, k, static_cast<float>(alpha),
                                    ap + b * pa.batch_stride, pa.ld, cp + b * pc.batch_stride, pc.ld,
                                    static_cast<float>(beta), o + b * n * m, m);
      TD_CHECK(st == dnnl_success, kInternal, "[", op, "] oneDNN sgemm failed with status ", st);
    }
    return;
  }
  Operand pa = Prepare(ctx, a, false), pc = Prepare(ctx, c, false);
  const int64_t rows = batches * n;
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, m * k));
  DispatchAll(out.dtype(), op, [&]<typename T>() {
    T* o = out.data<T>();
    ParallelFor(rows, grain, [&](int64_t r0, int64_t r1) {
      NaiveRows<T>(pa, pc, o, n, m, k, alpha, beta, r0, r1);
    });
  });
}

}  // namespace tensord
