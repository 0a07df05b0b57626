// Direct convolution loops for every dtype (the oneDNN path covers float32).
// All three work in the plain frame of ConvGeometry: image [N, C, I...],
// cols [N, OC, O...], weight [OC, C / groups, K...], contiguous, and
// accumulate in opmath_t<T>. Each writes every element of its result.
#ifndef TENSORD_KERNELS_CPU_CONV_DIRECT_H_
#define TENSORD_KERNELS_CPU_CONV_DIRECT_H_

#include <algorithm>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/parallel.h"
#include "kernels/meta/conv_geometry.h"

namespace tensord {
namespace conv_direct {

// The outputs o in [lo, hi) whose input o * s - p + kd falls inside [0, in).
inline void ValidRange(int64_t in, int64_t out, int64_t s, int64_t p, int64_t kd, int64_t& lo,
                       int64_t& hi) {
  const int64_t a = p - kd;           // need o * s >= a
  const int64_t b = in - 1 + p - kd;  // need o * s <= b
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = b < 0 ? 0 : std::min(out, b / s + 1);
}

struct Dims {
  int64_t iarea, oarea, karea, cg, ocg;
  explicit Dims(const ConvGeometry& g)
      : iarea(g.in[0] * g.in[1] * g.in[2]), oarea(g.out[0] * g.out[1] * g.out[2]),
        karea(g.k[0] * g.k[1] * g.k[2]), cg(g.c / g.groups), ocg(g.oc / g.groups) {}
};

// Calls fn(k index, input offset of o = 0 along each dim, ranges) for each
// kernel tap, with the output ranges where the tap reads inside the image.
template <typename F>
void ForEachTap(const ConvGeometry& g, F&& fn) {
  int64_t lo[3], hi[3];
  for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
    ValidRange(g.in[0], g.out[0], g.stride[0], g.pad[0], k0 * g.dil[0], lo[0], hi[0]);
    for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
      ValidRange(g.in[1], g.out[1], g.stride[1], g.pad[1], k1 * g.dil[1], lo[1], hi[1]);
      for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
        ValidRange(g.in[2], g.out[2], g.stride[2], g.pad[2], k2 * g.dil[2], lo[2], hi[2]);
        if (lo[0] >= hi[0] || lo[1] >= hi[1] || lo[2] >= hi[2]) continue;
        fn((k0 * g.k[1] + k1) * g.k[2] + k2, k0 * g.dil[0] - g.pad[0], k1 * g.dil[1] - g.pad[1],
           k2 * g.dil[2] - g.pad[2], lo, hi);
      }
    }
  }
}

// Calls fn(image offset, cols offset, count) for each run of taps along the
// last dim: image index = base + o2 * stride2 for o2 in [lo2, hi2).
template <typename F>
void ForEachRow(const ConvGeometry& g, int64_t b0, int64_t b1, int64_t b2, const int64_t* lo,
                const int64_t* hi, F&& fn) {
  for (int64_t o0 = lo[0]; o0 < hi[0]; ++o0) {
    const int64_t i0 = o0 * g.stride[0] + b0;
    for (int64_t o1 = lo[1]; o1 < hi[1]; ++o1) {
      const int64_t i1 = o1 * g.stride[1] + b1;
      fn((i0 * g.in[1] + i1) * g.in[2] + lo[2] * g.stride[2] + b2,
         (o0 * g.out[1] + o1) * g.out[2] + lo[2], hi[2] - lo[2]);
    }
  }
}

// cols = conv(image, weight).
template <typename T>
void Forward(const ConvGeometry& g, const T* image, const T* weight, T* cols) {
  using M = opmath_t<T>;
  const Dims d(g);
  const int64_t s2 = g.stride[2];
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, d.oarea * d.cg * d.karea));
  ParallelFor(g.n * g.oc, grain, [&](int64_t r0, int64_t r1) {
    std::vector<M> acc(static_cast<size_t>(d.oarea));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.oc, oc = r % g.oc, grp = oc / d.ocg;
      std::fill(acc.begin(), acc.end(), M(0));
      for (int64_t c = 0; c < d.cg; ++c) {
        const T* x = image + (n * g.c + grp * d.cg + c) * d.iarea;
        const T* w = weight + (oc * d.cg + c) * d.karea;
        ForEachTap(g, [&](int64_t k, int64_t b0, int64_t b1, int64_t b2, const int64_t* lo,
                          const int64_t* hi) {
          const M wv = static_cast<M>(w[k]);
          ForEachRow(g, b0, b1, b2, lo, hi, [&](int64_t xi, int64_t oi, int64_t cnt) {
            const T* xp = x + xi;
            M* ap = acc.data() + oi;
            for (int64_t j = 0; j < cnt; ++j) ap[j] += wv * static_cast<M>(xp[j * s2]);
          });
        });
      }
      T* out = cols + r * d.oarea;
      for (int64_t j = 0; j < d.oarea; ++j) out[j] = Convert<T>(acc[j]);
    }
  });
}

// image = the gradient of conv with respect to its image, given cols.
template <typename T>
void BackwardData(const ConvGeometry& g, const T* cols, const T* weight, T* image) {
  using M = opmath_t<T>;
  const Dims d(g);
  const int64_t s2 = g.stride[2];
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, d.oarea * d.ocg * d.karea));
  ParallelFor(g.n * g.c, grain, [&](int64_t r0, int64_t r1) {
    std::vector<M> acc(static_cast<size_t>(d.iarea));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.c, c = r % g.c, grp = c / d.cg, cl = c % d.cg;
      std::fill(acc.begin(), acc.end(), M(0));
      for (int64_t ol = 0; ol < d.ocg; ++ol) {
        const int64_t oc = grp * d.ocg + ol;
        const T* y = cols + (n * g.oc + oc) * d.oarea;
        const T* w = weight + (oc * d.cg + cl) * d.karea;
        ForEachTap(g, [&](int64_t k, int64_t b0, int64_t b1, int64_t b2, const int64_t* lo,
                          const int64_t* hi) {
          const M wv = static_cast<M>(w[k]);
          ForEachRow(g, b0, b1, b2, lo, hi, [&](int64_t xi, int64_t oi, int64_t cnt) {
            M* ap = acc.data() + xi;
            const T* yp = y + oi;
            for (int64_t j = 0; j < cnt; ++j) ap[j * s2] += wv * static_cast<M>(yp[j]);
          });
        });
      }
      T* out = image + r * d.iarea;
      for (int64_t j = 0; j < d.iarea; ++j) out[j] = Convert<T>(acc[j]);
    }
  });
}

// weight = the gradient of conv with respect to its weight, given image and cols.
template <typename T>
void BackwardWeight(const ConvGeometry& g, const T* image, const T* cols, T* weight) {
  using M = opmath_t<T>;
  const Dims d(g);
  const int64_t s2 = g.stride[2];
  ParallelFor(g.oc * d.cg, 1, [&](int64_t r0, int64_t r1) {
    std::vector<M> sums(static_cast<size_t>(d.karea));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t oc = r / d.cg, cl = r % d.cg, grp = oc / d.ocg, c = grp * d.cg + cl;
      std::fill(sums.begin(), sums.end(), M(0));
      for (int64_t n = 0; n < g.n; ++n) {
        const T* x = image + (n * g.c + c) * d.iarea;
        const T* y = cols + (n * g.oc + oc) * d.oarea;
        ForEachTap(g, [&](int64_t k, int64_t b0, int64_t b1, int64_t b2, const int64_t* lo,
                          const int64_t* hi) {
          M s = 0;
          ForEachRow(g, b0, b1, b2, lo, hi, [&](int64_t xi, int64_t oi, int64_t cnt) {
            const T* xp = x + xi;
            const T* yp = y + oi;
            for (int64_t j = 0; j < cnt; ++j) s += static_cast<M>(yp[j]) * static_cast<M>(xp[j * s2]);
          });
          sums[k] += s;
        });
      }
      T* out = weight + r * d.karea;
      for (int64_t j = 0; j < d.karea; ++j) out[j] = Convert<T>(sums[j]);
    }
  });
}

}  // namespace conv_direct
}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_CONV_DIRECT_H_
