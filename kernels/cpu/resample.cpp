// resample_along and its backward: interpolate's separable resampling, one
// dim at a time. With self seen as [outer][n][inner],
//   out[o][j][i] = sum over t of weight[j][t] * self[o][index[j][t]][i],
// and the backward adds each grad_output row, weighted, into those rows. Work
// is split over (outer, block of inner) so no two threads write one element.
#include <algorithm>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

constexpr int64_t kBlock = 256;  // inner elements per work item

// A [outer][n_in -> n_out][inner] resampling with its tap table.
struct Taps {
  int64_t outer = 1, n_in = 0, n_out = 0, inner = 1, taps = 0;
  Tensor index, weight;  // contiguous [n_out, taps]

  Taps(const KernelContext& ctx, const Shape& in_sizes, int64_t dim_arg, int index_pos) {
    const int64_t dim = WrapDim(dim_arg, static_cast<int64_t>(in_sizes.size()));
    for (int64_t d = 0; d < dim; ++d) outer *= in_sizes[d];
    for (size_t d = dim + 1; d < in_sizes.size(); ++d) inner *= in_sizes[d];
    n_in = in_sizes[dim];
    index = ContiguousOf(ctx, ctx.tensor(index_pos));
    weight = ContiguousOf(ctx, ctx.tensor(index_pos + 1));
    n_out = index.sizes()[0];
    taps = index.sizes()[1];
    const int64_t* ip = index.data<int64_t>();
    for (int64_t k = 0; k < index.numel(); ++k) {
      TD_CHECK(ip[k] >= 0 && ip[k] < n_in, kIndex, "[", ctx.op.name, "] index ", ip[k],
               " is out of bounds for a dim of size ", n_in);
    }
  }
  int64_t blocks() const { return (inner + kBlock - 1) / kBlock; }
  int64_t grain() const { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, (n_in + n_out * taps) * std::min(inner, kBlock))); }
};

// Runs f(o, i0, i1, scratch) over every (outer row, inner block) in
// parallel; scratch holds `scratch_len` opmath values per chunk of work.
template <typename M, typename F>
void ForBlocks(const Taps& t, int64_t scratch_len, F&& f) {
  const int64_t nb = t.blocks();
  ParallelFor(t.outer * nb, t.grain(), [&](int64_t lo, int64_t hi) {
    std::vector<M> scratch(static_cast<size_t>(scratch_len));
    for (int64_t w = lo; w < hi; ++w) {
      const int64_t o = w / nb, i0 = (w % nb) * kBlock;
      f(o, i0, std::min(t.inner, i0 + kBlock), scratch.data());
    }
  });
}

// Result 0 as a contiguous buffer: the result itself, or scratch copied in by
// the caller after.
Tensor ContiguousResult(const KernelContext& ctx, Tensor& out) {
  return out.is_contiguous() ? out : ctx.NewTensor(TensorMeta::Contiguous(out.dtype(), out.meta.device, out.sizes()));
}

void ResampleAlongKernel(KernelContext& ctx) {
  const Tensor in = ContiguousOf(ctx, ctx.tensor(0));
  const Taps t(ctx, in.sizes(), ctx.args.get_int(1), 2);
  Tensor& out = ctx.output(0);
  if (out.numel() == 0) return;
  Tensor dst = ContiguousResult(ctx, out);
  const int64_t* ip = t.index.data<int64_t>();
  const double* wp = t.weight.data<double>();
  DispatchFloating(in.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const T* src = in.data<T>();
    T* dp = dst.data<T>();
    std::vector<M> w(wp, wp + t.weight.numel());
    ForBlocks<M>(t, std::min(t.inner, kBlock), [&](int64_t o, int64_t i0, int64_t i1, M* acc) {
      const T* plane = src + o * t.n_in * t.inner;
      T* oplane = dp + o * t.n_out * t.inner;
      for (int64_t j = 0; j < t.n_out; ++j) {
        const int64_t* jp = ip + j * t.taps;
        const M* jw = w.data() + j * t.taps;
        if (t.inner == 1) {  // the last dim: a short dot product per output
          // Sums start from the first tap, so one tap of weight 1 copies
          // exactly (-0.0 included): nearest is a 1-tap table.
          M sum = jw[0] * static_cast<M>(plane[jp[0]]);
          for (int64_t k = 1; k < t.taps; ++k) sum += jw[k] * static_cast<M>(plane[jp[k]]);
          oplane[j] = Convert<T>(sum);
          continue;
        }
        const T* first = plane + jp[0] * t.inner;
        for (int64_t i = i0; i < i1; ++i) acc[i - i0] = jw[0] * static_cast<M>(first[i]);
        for (int64_t k = 1; k < t.taps; ++k) {
          const T* row = plane + jp[k] * t.inner;
          for (int64_t i = i0; i < i1; ++i) acc[i - i0] += jw[k] * static_cast<M>(row[i]);
        }
        T* orow = oplane + j * t.inner;
        for (int64_t i = i0; i < i1; ++i) orow[i] = Convert<T>(acc[i - i0]);
      }
    });
  });
  if (!out.is_contiguous()) CopyInto(out, dst);
}

void ResampleAlongBackwardKernel(KernelContext& ctx) {
  const Tensor grad = ContiguousOf(ctx, ctx.tensor(0));
  Tensor& out = ctx.output(0);
  const Taps t(ctx, out.sizes(), ctx.args.get_int(2), 3);
  if (out.numel() == 0) return;
  Tensor dst = ContiguousResult(ctx, out);
  const int64_t* ip = t.index.data<int64_t>();
  const double* wp = t.weight.data<double>();
  DispatchFloating(grad.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const T* gp = grad.data<T>();
    T* dp = dst.data<T>();
    std::vector<M> w(wp, wp + t.weight.numel());
    ForBlocks<M>(t, t.n_in * std::min(t.inner, kBlock), [&](int64_t o, int64_t i0, int64_t i1, M* acc) {
      const int64_t width = i1 - i0;
      std::fill(acc, acc + t.n_in * width, M(0));
      for (int64_t j = 0; j < t.n_out; ++j) {
        const T* grow = gp + (o * t.n_out + j) * t.inner;
        for (int64_t k = j * t.taps; k < (j + 1) * t.taps; ++k) {
          M* arow = acc + ip[k] * width;
          for (int64_t i = i0; i < i1; ++i) arow[i - i0] += w[k] * static_cast<M>(grow[i]);
        }
      }
      for (int64_t r = 0; r < t.n_in; ++r) {
        T* orow = dp + (o * t.n_in + r) * t.inner;
        for (int64_t i = i0; i < i1; ++i) orow[i] = Convert<T>(acc[r * width + i - i0]);
      }
    });
  });
  if (!out.is_contiguous()) CopyInto(out, dst);
}

}  // namespace

void RegisterResampleKernels(KernelRegistry& r) {
  r.Register("resample_along", Device::Kind::kCPU, &ResampleAlongKernel);
  r.Register("resample_along_backward", Device::Kind::kCPU, &ResampleAlongBackwardKernel);
}

}  // namespace tensord
