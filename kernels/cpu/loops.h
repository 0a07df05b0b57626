// Strided elementwise iteration, the CPU backend's TensorIterator-lite.
//
// A loop covers an iteration shape with N operands (the output first), each
// with its own byte strides (0 along broadcast dims). Adjacent dims that are
// contiguous for every operand are merged, and the linear range is split
// across the compute pool. The innermost callback sees runs of elements:
//   inner(std::array<char*, N> ptrs, std::array<int64_t, N> strides, n)
#ifndef TENSORD_KERNELS_CPU_LOOPS_H_
#define TENSORD_KERNELS_CPU_LOOPS_H_

#include <array>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/cpu/parallel.h"

namespace tensord {

template <int N>
struct StridedLoop {
  Shape sizes;
  std::array<char*, N> base{};
  std::array<Shape, N> strides;  // bytes

  int64_t numel() const { return Numel(sizes); }
};

// Strides (bytes) of `t` broadcast to `sizes` (t's dims align to the right).
inline Shape BroadcastByteStrides(const TensorMeta& t, const Shape& sizes) {
  Shape out(sizes.size(), 0);
  const size_t off = sizes.size() - t.sizes.size();
  const int64_t item = static_cast<int64_t>(ItemSize(t.dtype));
  for (size_t i = 0; i < t.sizes.size(); ++i) {
    out[off + i] = t.sizes[i] == 1 ? 0 : t.strides[i] * item;
  }
  return out;
}

template <int N>
StridedLoop<N> MakeLoop(const Shape& sizes, const std::array<const Tensor*, N>& operands) {
  StridedLoop<N> loop;
  std::array<Shape, N> full;
  for (int k = 0; k < N; ++k) {
    loop.base[k] = operands[k]->raw();
    full[k] = BroadcastByteStrides(operands[k]->meta, sizes);
  }
  // Drop size-1 dims, then merge dim i into i+1 where every operand steps
  // through both as one run.
  Shape sz;
  std::array<Shape, N> st;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    if (!sz.empty()) {
      bool merge = true;
      for (int k = 0; k < N; ++k) {
        if (st[k].back() != full[k][d] * sizes[d]) merge = false;
      }
      if (merge) {
        sz.back() *= sizes[d];
        for (int k = 0; k < N; ++k) st[k].back() = full[k][d];
        continue;
      }
    }
    sz.push_back(sizes[d]);
    for (int k = 0; k < N; ++k) st[k].push_back(full[k][d]);
  }
  if (sz.empty()) {
    sz.push_back(1);
    for (int k = 0; k < N; ++k) st[k].push_back(0);
  }
  loop.sizes = std::move(sz);
  loop.strides = std::move(st);
  return loop;
}

// Runs `inner` over elements [begin, end) of the loop in row-major order.
template <int N, typename Inner>
void RunLoopRange(const StridedLoop<N>& loop, int64_t begin, int64_t end, Inner& inner) {
  const int nd = static_cast<int>(loop.sizes.size());
  const int64_t inner_size = loop.sizes[nd - 1];
  std::vector<int64_t> idx(nd, 0);
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % loop.sizes[d];
    rem /= loop.sizes[d];
  }
  std::array<char*, N> ptrs;
  std::array<int64_t, N> inner_strides;
  for (int k = 0; k < N; ++k) {
    char* p = loop.base[k];
    for (int d = 0; d < nd; ++d) p += idx[d] * loop.strides[k][d];
    ptrs[k] = p;
    inner_strides[k] = loop.strides[k][nd - 1];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(inner_size - idx[nd - 1], end - pos);
    inner(ptrs, inner_strides, n);
    pos += n;
    if (pos >= end) break;
    // Advance to the start of the next innermost run.
    for (int k = 0; k < N; ++k) ptrs[k] += n * inner_strides[k];
    idx[nd - 1] += n;
    for (int d = nd - 1; d > 0 && idx[d] == loop.sizes[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
      for (int k = 0; k < N; ++k) {
        ptrs[k] += loop.strides[k][d - 1] - loop.sizes[d] * loop.strides[k][d];
      }
    }
  }
}

template <int N, typename Inner>
void RunLoop(const StridedLoop<N>& loop, Inner inner, int64_t grain = 32768) {
  ParallelFor(loop.numel(), grain, [&](int64_t b, int64_t e) {
    Inner local = inner;
    RunLoopRange<N>(loop, b, e, local);
  });
}

// out[i] = f(a[i]) with Out/In the C++ element types of the operands.
template <typename Out, typename In, typename F>
void UnaryLoop(const Tensor& out, const Tensor& a, F f) {
  auto loop = MakeLoop<2>(out.sizes(), {&out, &a});
  RunLoop<2>(loop, [f](std::array<char*, 2> p, std::array<int64_t, 2> s, int64_t n) {
    if (s[0] == sizeof(Out) && s[1] == sizeof(In)) {
      Out* o = reinterpret_cast<Out*>(p[0]);
      const In* x = reinterpret_cast<const In*>(p[1]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const In*>(p[1] + i * s[1]));
      }
    }
  });
}

// Whether `t` can be read as a flat array alongside a contiguous `out`: it is
// contiguous with out's sizes, or a single element (then `*single` is set).
inline bool FlatOperand(const Tensor& t, const Tensor& out, bool* single) {
  if (t.numel() == 1 && out.numel() != 1) {
    *single = true;
    return true;
  }
  *single = false;
  return t.sizes() == out.sizes() && t.is_contiguous();
}

// out[i] = f(a[i], b[i]); a and b broadcast to out.
template <typename Out, typename In, typename F>
void BinaryLoop(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  bool a1 = false, b1 = false;
  if (out.is_contiguous() && FlatOperand(a, out, &a1) && FlatOperand(b, out, &b1)) {
    // The common case (same shapes, or a tensor and a number): no strided
    // iterator to build, which matters for small tensors.
    Out* o = out.data<Out>();
    const In* x = a.data<In>();
    const In* y = b.data<In>();
    const int64_t n = out.numel();
    auto run = [&](int64_t lo, int64_t hi) {
      if (!a1 && !b1) {
        for (int64_t i = lo; i < hi; ++i) o[i] = f(x[i], y[i]);
      } else if (!a1) {
        const In yv = *y;
        for (int64_t i = lo; i < hi; ++i) o[i] = f(x[i], yv);
      } else if (!b1) {
        const In xv = *x;
        for (int64_t i = lo; i < hi; ++i) o[i] = f(xv, y[i]);
      } else {
        for (int64_t i = lo; i < hi; ++i) o[i] = f(*x, *y);
      }
    };
    if (n < 65536) {
      run(0, n);
    } else {
      ParallelFor(n, 32768, run);
    }
    return;
  }
  auto loop = MakeLoop<3>(out.sizes(), {&out, &a, &b});
  RunLoop<3>(loop, [f](std::array<char*, 3> p, std::array<int64_t, 3> s, int64_t n) {
    Out* o = reinterpret_cast<Out*>(p[0]);
    const In* x = reinterpret_cast<const In*>(p[1]);
    const In* y = reinterpret_cast<const In*>(p[2]);
    if (s[0] == sizeof(Out) && s[1] == sizeof(In) && s[2] == sizeof(In)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (s[0] == sizeof(Out) && s[1] == sizeof(In) && s[2] == 0) {
      const In yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        *reinterpret_cast<Out*>(p[0] + i * s[0]) =
            f(*reinterpret_cast<const In*>(p[1] + i * s[1]),
              *reinterpret_cast<const In*>(p[2] + i * s[2]));
      }
    }
  });
}

// out[i] = f(a[i], b[i], c[i]); inputs broadcast to out.
template <typename Out, typename In, typename F>
void TernaryLoop(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  auto loop = MakeLoop<4>(out.sizes(), {&out, &a, &b, &c});
  RunLoop<4>(loop, [f](std::array<char*, 4> p, std::array<int64_t, 4> s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      *reinterpret_cast<Out*>(p[0] + i * s[0]) =
          f(*reinterpret_cast<const In*>(p[1] + i * s[1]),
            *reinterpret_cast<const In*>(p[2] + i * s[2]),
            *reinterpret_cast<const In*>(p[3] + i * s[3]));
    }
  });
}

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_LOOPS_H_
