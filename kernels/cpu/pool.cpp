// 2-d pooling (max with indices, average, adaptive average and max) and
// their backward ops, as loops over [N*C] planes run in parallel; float32
// average pooling (adaptive too, where windows are uniform) runs on oneDNN. Window
// bounds and tie/NaN rules follow ATen's CPU kernels: a NaN wins a max, and
// indices are flat (h * W + w) within each input plane.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/dnnl_util.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"
#include "kernels/meta/conv_geometry.h"

namespace tensord {

Tensor ContiguousOf(const KernelContext& ctx, const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = ctx.NewTensor(TensorMeta::Contiguous(t.dtype(), t.meta.device, t.sizes()));
  CopyInto(c, t);
  return c;
}

namespace {

int64_t Grain(int64_t work_per_plane) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work_per_plane));
}

template <typename T>
bool IsNan(T v) {
  if constexpr (std::is_integral_v<T>) {
    return false;
  } else {
    return std::isnan(static_cast<double>(v));
  }
}

// max_pool2d_with_indices.
void MaxPool2dKernel(KernelContext& ctx) {
  const Pool2dGeometry g = ParsePool2d(ctx.op, ctx.args, ctx.op.name, 0);
  const Tensor in = ContiguousOf(ctx, ctx.tensor(0));
  Tensor& out = ctx.output(0);
  Tensor& idx = ctx.output(1);
  const int64_t planes = g.n * g.c;
  if (out.numel() == 0) return;
  DispatchFloating(in.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const T* src = in.data<T>();
    T* dst = out.data<T>();
    int64_t* ind = idx.data<int64_t>();
    ParallelFor(planes, Grain(g.oh * g.ow * g.kh * g.kw), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* plane = src + p * g.ih * g.iw;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          int64_t h0 = oh * g.sh - g.ph;
          const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.ih);
          while (h0 < 0) h0 += g.dh;
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            int64_t w0 = ow * g.sw - g.pw;
            const int64_t w1 = std::min(w0 + (g.kw - 1) * g.dw + 1, g.iw);
            while (w0 < 0) w0 += g.dw;
            int64_t best = h0 * g.iw + w0;
            M maxv = -std::numeric_limits<M>::infinity();
            for (int64_t h = h0; h < h1; h += g.dh) {
              for (int64_t w = w0; w < w1; w += g.dw) {
                const M v = static_cast<M>(plane[h * g.iw + w]);
                if (v > maxv || IsNan(v)) {
                  maxv = v;
                  best = h * g.iw + w;
                }
              }
            }
            const int64_t o = (p * g.oh + oh) * g.ow + ow;
            dst[o] = Convert<T>(maxv);
            ind[o] = best;
          }
        }
      }
    });
  });
}

// grad_input[plane][indices] += grad_output, for max_pool2d and
// adaptive_max_pool2d (indices validated first: kernels in ParallelFor
// must not throw).
void ScatterIndices(KernelContext& ctx, const Pool2dGeometry& g, const Tensor& indices) {
  Tensor grad = ContiguousOf(ctx, ctx.tensor(0));
  Tensor ind = ContiguousOf(ctx, indices);
  Tensor& out = ctx.output(0);
  const int64_t planes = g.n * g.c, area = g.ih * g.iw, oarea = g.oh * g.ow;
  const int64_t* ip = ind.data<int64_t>();
  for (int64_t i = 0; i < ind.numel(); ++i) {
    TD_CHECK(ip[i] >= 0 && ip[i] < area, kIndex, "[", ctx.op.name, "] index ", ip[i],
             " is out of bounds for an input plane of ", area, " elements");
  }
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const T* gp = grad.data<T>();
    T* dst = out.data<T>();
    ParallelFor(planes, Grain(area + oarea), [&](int64_t p0, int64_t p1) {
      std::vector<M> acc(static_cast<size_t>(area));
      for (int64_t p = p0; p < p1; ++p) {
        std::fill(acc.begin(), acc.end(), M(0));
        for (int64_t o = 0; o < oarea; ++o) acc[ip[p * oarea + o]] += static_cast<M>(gp[p * oarea + o]);
        for (int64_t i = 0; i < area; ++i) dst[p * area + i] = Convert<T>(acc[i]);
      }
    });
  });
}

void MaxPool2dBackwardKernel(KernelContext& ctx) {
  const Pool2dGeometry g = ParsePool2d(ctx.op, ctx.args, "max_pool2d_with_indices", 1);
  if (ctx.output(0).numel() == 0) return;
  ScatterIndices(ctx, g, ctx.tensor(7));
}

// The window of output o of an avg_pool2d along one dim: [start, end)
// clamped to the input, and the unclamped size (padding counted).
struct Window {
  int64_t start, end, padded;
};
Window AvgWindow(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t in) {
  int64_t s = o * stride - pad;
  int64_t e = std::min(s + k, in + pad);
  const int64_t padded = e - s;
  return {std::max<int64_t>(s, 0), std::min(e, in), padded};
}

template <typename T>
void NumericPool(DType d, std::string_view op, T&& f) {
  if (d == DType::kInt64) {
    f.template operator()<int64_t>();
  } else {
    DispatchFloating(d, op, f);
  }
}

// avg_pool2d (backward when `backward`): the same windows, the same divisor.
void AvgPool2d(KernelContext& ctx, bool backward) {
  const int sp = backward ? 1 : 0;
  const Pool2dGeometry g = ParsePool2d(ctx.op, ctx.args, "avg_pool2d", sp);
  const bool count_pad = ctx.args.get_bool(sp + 5);
  const bool has_div = !ctx.args.is_none(sp + 6);
  const int64_t divisor = has_div ? ctx.args.get_int(sp + 6) : 1;
  Tensor& out = ctx.output(0);
  if (out.numel() == 0) return;
  if (!has_div && DnnlAvgPool2d(ctx, g, count_pad, backward)) return;  // float32 on oneDNN
  const Tensor src = ContiguousOf(ctx, ctx.tensor(0));  // input, or grad_output
  const int64_t planes = g.n * g.c, area = g.ih * g.iw, oarea = g.oh * g.ow;
  NumericPool(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const T* sp_ = src.data<T>();
    T* dst = out.data<T>();
    ParallelFor(planes, Grain(oarea * g.kh * g.kw + area), [&](int64_t p0, int64_t p1) {
      std::vector<M> acc(backward ? static_cast<size_t>(area) : 0);
      for (int64_t p = p0; p < p1; ++p) {
        std::fill(acc.begin(), acc.end(), M(0));
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const Window wh = AvgWindow(oh, g.sh, g.ph, g.kh, g.ih);
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            const Window ww = AvgWindow(ow, g.sw, g.pw, g.kw, g.iw);
            const int64_t o = p * oarea + oh * g.ow + ow;
            if (wh.start >= wh.end || ww.start >= ww.end) {
              if (!backward) dst[o] = T(0);
              continue;
            }
            const int64_t div = has_div ? divisor
                                : count_pad ? wh.padded * ww.padded
                                            : (wh.end - wh.start) * (ww.end - ww.start);
            if (backward) {
              const M gv = static_cast<M>(static_cast<M>(sp_[o]) / static_cast<M>(div));
              for (int64_t h = wh.start; h < wh.end; ++h) {
                for (int64_t w = ww.start; w < ww.end; ++w) acc[h * g.iw + w] += gv;
              }
            } else {
              const T* plane = sp_ + p * area;
              M sum = 0;
              for (int64_t h = wh.start; h < wh.end; ++h) {
                for (int64_t w = ww.start; w < ww.end; ++w) sum += static_cast<M>(plane[h * g.iw + w]);
              }
              dst[o] = Convert<T>(static_cast<M>(sum / static_cast<M>(div)));
            }
          }
        }
        if (backward) {
          for (int64_t i = 0; i < area; ++i) dst[p * area + i] = Convert<T>(acc[i]);
        }
      }
    });
  });
}

void AvgPool2dKernel(KernelContext& ctx) { AvgPool2d(ctx, false); }
void AvgPool2dBackwardKernel(KernelContext& ctx) { AvgPool2d(ctx, true); }

int64_t StartIndex(int64_t o, int64_t out, int64_t in) { return (o * in) / out; }
int64_t EndIndex(int64_t o, int64_t out, int64_t in) { return ((o + 1) * in + out - 1) / out; }

// adaptive_avg_pool2d, adaptive_max_pool2d and the average's backward.
void AdaptivePool2d(KernelContext& ctx, bool is_max, bool backward) {
  const int sp = backward ? 1 : 0;
  const Pool2dGeometry g = ParseAdaptivePool2d(
      ctx.op, ctx.args, is_max ? "adaptive_max_pool2d" : "adaptive_avg_pool2d", sp,
      backward ? 0 : -1);
  Tensor& out = ctx.output(0);
  int64_t* ind = is_max ? ctx.output(1).data<int64_t>() : nullptr;
  if (out.numel() == 0) return;
  if (!is_max && g.ih % g.oh == 0 && g.iw % g.ow == 0) {
    // Output sizes dividing the input sizes (global pooling among them): the
    // adaptive windows are then those of an unpadded avg_pool2d with
    // kernel = stride = in / out, which oneDNN runs for float32.
    Pool2dGeometry fixed = g;
    fixed.kh = fixed.sh = g.ih / g.oh;
    fixed.kw = fixed.sw = g.iw / g.ow;
    if (DnnlAvgPool2d(ctx, fixed, /*count_pad=*/false, backward)) return;
  }
  const Tensor src = ContiguousOf(ctx, ctx.tensor(0));
  const int64_t planes = g.n * g.c, area = g.ih * g.iw, oarea = g.oh * g.ow;
  DispatchFloating(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const T* s = src.data<T>();
    T* dst = out.data<T>();
    ParallelFor(planes, Grain(area + oarea), [&](int64_t p0, int64_t p1) {
      std::vector<M> acc(backward ? static_cast<size_t>(area) : 0);
      for (int64_t p = p0; p < p1; ++p) {
        std::fill(acc.begin(), acc.end(), M(0));
        const T* plane = s + p * area;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const int64_t h0 = StartIndex(oh, g.oh, g.ih), h1 = EndIndex(oh, g.oh, g.ih);
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            const int64_t w0 = StartIndex(ow, g.ow, g.iw), w1 = EndIndex(ow, g.ow, g.iw);
            const int64_t o = p * oarea + oh * g.ow + ow;
            const M cnt = static_cast<M>((h1 - h0) * (w1 - w0));
            if (backward) {
              const M gv = static_cast<M>(s[o]) / cnt;
              for (int64_t h = h0; h < h1; ++h) {
                for (int64_t w = w0; w < w1; ++w) acc[h * g.iw + w] += gv;
              }
            } else if (is_max) {
              int64_t best = h0 * g.iw + w0;
              M maxv = -std::numeric_limits<M>::infinity();
              for (int64_t h = h0; h < h1; ++h) {
                for (int64_t w = w0; w < w1; ++w) {
                  const M v = static_cast<M>(plane[h * g.iw + w]);
                  if (v > maxv || IsNan(v)) {
                    maxv = v;
                    best = h * g.iw + w;
                  }
                }
              }
              dst[o] = Convert<T>(maxv);
              ind[o] = best;
            } else {
              M sum = 0;
              for (int64_t h = h0; h < h1; ++h) {
                for (int64_t w = w0; w < w1; ++w) sum += static_cast<M>(plane[h * g.iw + w]);
              }
              dst[o] = Convert<T>(static_cast<M>(sum / cnt));
            }
          }
        }
        if (backward) {
          for (int64_t i = 0; i < area; ++i) dst[p * area + i] = Convert<T>(acc[i]);
        }
      }
    });
  });
}

void AdaptiveAvgPool2dKernel(KernelContext& ctx) { AdaptivePool2d(ctx, false, false); }
void AdaptiveMaxPool2dKernel(KernelContext& ctx) { AdaptivePool2d(ctx, true, false); }
void AdaptiveAvgPool2dBackwardKernel(KernelContext& ctx) { AdaptivePool2d(ctx, false, true); }

void AdaptiveMaxPool2dBackwardKernel(KernelContext& ctx) {
  const Pool2dGeometry g = ParseAdaptivePool2d(ctx.op, ctx.args, "adaptive_max_pool2d", 1, 0);
  if (ctx.output(0).numel() == 0) return;
  ScatterIndices(ctx, g, ctx.tensor(2));
}

}  // namespace

void RegisterPoolKernels(KernelRegistry& r) {
  r.Register("max_pool2d_with_indices", Device::Kind::kCPU, &MaxPool2dKernel);
  r.Register("max_pool2d_with_indices_backward", Device::Kind::kCPU, &MaxPool2dBackwardKernel);
  r.Register("avg_pool2d", Device::Kind::kCPU, &AvgPool2dKernel);
  r.Register("avg_pool2d_backward", Device::Kind::kCPU, &AvgPool2dBackwardKernel);
  r.Register("adaptive_avg_pool2d", Device::Kind::kCPU, &AdaptiveAvgPool2dKernel);
  r.Register("adaptive_avg_pool2d_backward", Device::Kind::kCPU, &AdaptiveAvgPool2dBackwardKernel);
  r.Register("adaptive_max_pool2d", Device::Kind::kCPU, &AdaptiveMaxPool2dKernel);
  r.Register("adaptive_max_pool2d_backward", Device::Kind::kCPU, &AdaptiveMaxPool2dBackwardKernel);
}

}  // namespace tensord
