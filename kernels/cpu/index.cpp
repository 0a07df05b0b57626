// Gathers and scatters along one dim: index_select, gather, take, scatter*,
// index_add/copy/fill. Every index is checked before anything is written, so
// a bad index leaves the target untouched. Masks and advanced indexing are in
// index_advanced.cpp.
#include <cstring>
#include <cmath>
#include <limits>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/index_util.h"
#include "kernels/meta/shape_util.h"

namespace tensord {

Tensor Contiguous(const KernelContext& ctx, const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = ctx.NewTensor(TensorMeta::Contiguous(t.dtype(), t.meta.device, t.sizes()));
  CopyInto(c, t);
  return c;
}

Tensor Unaliased(const KernelContext& ctx, const Tensor& src, const Tensor& dst) {
  if (src.storage != dst.storage) return src;
  Tensor c = ctx.NewTensor(TensorMeta::Contiguous(src.dtype(), src.meta.device, src.sizes()));
  CopyInto(c, src);
  return c;
}

void CheckIndices(std::string_view op, const Tensor& index, int64_t size, int64_t dim,
                  bool allow_negative, IndexMessage style) {
  const int64_t* base = index.data<int64_t>();
  const int64_t lo = allow_negative ? -size : 0;
  ForEachOffset(index.sizes(), {index.strides()}, [&](const int64_t* o, const int64_t*) {
    const int64_t v = base[o[0]];
    if (v >= lo && v < size) return;
    switch (style) {
      case IndexMessage::kBounds:
        Fail(ErrorKind::kIndex, "[", op, "] index ", v, " is out of bounds for dimension ", dim,
             " with size ", size);
      case IndexMessage::kBoundsRT:
        Fail(ErrorKind::kRuntime, "[", op, "] index ", v, " is out of bounds for dimension ", dim,
             " with size ", size);
      case IndexMessage::kOutOfRange:
        Fail(ErrorKind::kIndex, "[", op, "] index out of range in self");
      case IndexMessage::kTake:
        Fail(ErrorKind::kIndex, "[", op, "] out of range: tried to access index ", v,
             " on a tensor of ", size, " elements.");
    }
  });
}

namespace {

enum class Reduce { kAssign, kSum, kProd, kMean, kMax, kMin };

Reduce ParseReduce(const KernelContext& ctx) {
  const std::string& v = ctx.op.variant;
  if (v == "scatter_add" || v == "index_add") return Reduce::kSum;
  const int p = ctx.op.param_index("reduce");
  if (p < 0 || ctx.args.is_none(p)) return Reduce::kAssign;
  const std::string& r = ctx.args.values[p].s;
  if (r == "sum" || r == "add") return Reduce::kSum;
  if (r == "prod" || r == "multiply") return Reduce::kProd;
  if (r == "mean") return Reduce::kMean;
  if (r == "amax") return Reduce::kMax;
  return Reduce::kMin;
}

template <typename T>
void Combine(Reduce r, T* d, T s) {
  using M = opmath_t<T>;
  const M a = static_cast<M>(*d), b = static_cast<M>(s);
  switch (r) {
    case Reduce::kAssign: *d = s; break;
    case Reduce::kSum:
    case Reduce::kMean: *d = Convert<T>(a + b); break;
    case Reduce::kProd: *d = Convert<T>(a * b); break;
    case Reduce::kMax: *d = (a != a || a > b) ? *d : s; break;  // NaN propagates
    case Reduce::kMin: *d = (a != a || a < b) ? *d : s; break;
  }
}

template <typename T>
T Identity(Reduce r) {
  if constexpr (std::is_same_v<T, bool>) {
    return r == Reduce::kProd || r == Reduce::kMin;
  } else {
    using M = opmath_t<T>;
    switch (r) {
      case Reduce::kProd: return T(M(1));
      case Reduce::kMax:
        return std::numeric_limits<M>::has_infinity ? T(-std::numeric_limits<M>::infinity())
                                                    : T(std::numeric_limits<M>::lowest());
      case Reduce::kMin:
        return std::numeric_limits<M>::has_infinity ? T(std::numeric_limits<M>::infinity())
                                                    : T(std::numeric_limits<M>::max());
      default: return T(M(0));
    }
  }
}

// A 0-d tensor seen as [1], so the dim loops below need no 0-d cases.
Tensor AtLeast1d(const Tensor& t) {
  if (t.dim() > 0) return t;
  TensorMeta m = t.meta;
  m.sizes = {1};
  m.strides = {1};
  return t.View(m);
}

// The result (out-of-place: a copy of self) or self (in place).
Tensor Target(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  if (ctx.op.returns == ReturnKind::kInPlace) return self;
  Tensor& out = ctx.output();
  CopyInto(out, self);
  return out;
}

Tensor ValueAs(const KernelContext& ctx, size_t arg, DType dtype) {
  return CastTo(ctx.tensor_or_scalar(arg, dtype), dtype, ctx.tracker);
}

// The dim strides of `t` over `sizes` (same rank), in bytes, 0 along `dim`.
Shape BytesExcept(const Tensor& t, const Shape& sizes, int64_t dim) {
  Shape s(sizes.size(), 0);
  const int64_t item = static_cast<int64_t>(ItemSize(t.dtype()));
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (static_cast<int64_t>(d) != dim && d < t.strides().size()) s[d] = t.strides()[d] * item;
  }
  return s;
}

// Along-dim strides of a 1-D index over `sizes`, in elements.
Shape AlongDim(const Tensor& index, size_t ndim, int64_t dim) {
  Shape s(ndim, 0);
  s[dim] = index.dim() ? index.strides()[0] : 0;
  return s;
}

// For each element of `sizes`: d = dst + o[0] (+ idx * jump when !on_src),
// s = src + o[1] (+ idx * jump when on_src), idx = index[o[2]] wrapped by size.
template <typename Op>
void IndexedLoop(const Shape& sizes, char* dst, Shape dst_st, const char* src, Shape src_st,
                 const int64_t* index, Shape idx_st, int64_t size, int64_t jump, bool on_src,
                 Op op) {
  ForEachOffset(sizes, {std::move(dst_st), std::move(src_st), std::move(idx_st)},
                [&](const int64_t* o, const int64_t*) {
    int64_t i = index[o[2]];
    if (i < 0) i += size;
    char* d = dst + o[0];
    const char* s = src + o[1];
    if (on_src) s += i * jump; else d += i * jump;
    op(d, s);
  });
}

// Runs the (typed unless assigning) element op of `r` through IndexedLoop.
void ReduceLoop(Reduce r, DType dtype, std::string_view name, const Shape& sizes, char* dst,
                Shape dst_st, const char* src, Shape src_st, const int64_t* index,
                Shape idx_st, int64_t size, int64_t jump, bool on_src) {
  if (r == Reduce::kAssign) {
    const size_t item = ItemSize(dtype);
    IndexedLoop(sizes, dst, std::move(dst_st), src, std::move(src_st), index, std::move(idx_st),
                size, jump, on_src, [item](char* d, const char* s) { CopyElem(d, s, item); });
    return;
  }
  DispatchAll(dtype, name, [&]<typename T>() {
    IndexedLoop(sizes, dst, std::move(dst_st), src, std::move(src_st), index, std::move(idx_st),
                size, jump, on_src, [r](char* d, const char* s) {
      Combine<T>(r, reinterpret_cast<T*>(d), *reinterpret_cast<const T*>(s));
    });
  });
}

void IndexSelectKernel(KernelContext& ctx) {
  Tensor self = AtLeast1d(ctx.tensor(0));
  Tensor& out_full = ctx.output();
  Tensor out = AtLeast1d(out_full);
  const int64_t dim = WrapDim(ctx.args.get_int(1), self.dim());
  Tensor index = AsInt64(ctx, ctx.tensor(2));
  CheckIndices(ctx.op.name, index, self.sizes()[dim], dim, false, IndexMessage::kOutOfRange);
  if (out.numel() == 0) return;
  if (index.numel() == 0) {
    // A 0-d self with an empty index gives a 0-d result that PyTorch leaves
    // uninitialised; never hand out another tensor's bytes.
    std::memset(out.raw(), 0, out.meta.nbytes());
    return;
  }
  const int64_t item = static_cast<int64_t>(ItemSize(self.dtype()));
  ReduceLoop(Reduce::kAssign, self.dtype(), ctx.op.name, out.sizes(), out.raw(),
             BytesExcept(out, out.sizes(), -1), self.raw(), BytesExcept(self, out.sizes(), dim),
             index.data<int64_t>(), AlongDim(index, out.dim(), dim), self.sizes()[dim],
             self.strides()[dim] * item, true);
}

void GatherKernel(KernelContext& ctx) {
  Tensor self = AtLeast1d(ctx.tensor(0));
  Tensor index = AtLeast1d(ctx.tensor(2));
  Tensor out = AtLeast1d(ctx.output());
  const int64_t dim = WrapDim(ctx.args.get_int(1), self.dim());
  CheckIndices(ctx.op.name, index, self.sizes()[dim], dim, false, IndexMessage::kBoundsRT);
  const int64_t item = static_cast<int64_t>(ItemSize(self.dtype()));
  ReduceLoop(Reduce::kAssign, self.dtype(), ctx.op.name, index.sizes(), out.raw(),
             BytesExcept(out, index.sizes(), -1), self.raw(), BytesExcept(self, index.sizes(), dim),
             index.data<int64_t>(), index.strides(), self.sizes()[dim],
             self.strides()[dim] * item, true);
}

void TakeKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const Tensor& index = ctx.tensor(1);
  Tensor& out = ctx.output();
  CheckIndices(ctx.op.name, index, self.numel(), 0, true, IndexMessage::kTake);
  Tensor flat = Contiguous(ctx, self);
  const Shape zeros(index.dim(), 0);
  ReduceLoop(Reduce::kAssign, self.dtype(), ctx.op.name, index.sizes(), out.raw(),
             BroadcastByteStrides(out.meta, index.sizes()), flat.raw(), zeros, index.data<int64_t>(),
             index.strides(), self.numel(), static_cast<int64_t>(ItemSize(self.dtype())), true);
}

// scatter / scatter_add / scatter_reduce, in place or not.
void ScatterKernel(KernelContext& ctx) {
  Tensor target = Target(ctx);
  Tensor t = AtLeast1d(target);
  const int64_t dim = WrapDim(ctx.args.get_int(1), t.dim());
  Tensor index = AtLeast1d(Unaliased(ctx, ctx.tensor(2), target));
  CheckIndices(ctx.op.name, index, t.sizes()[dim], dim, false, IndexMessage::kBoundsRT);
  if (index.numel() == 0) return;
  Tensor src = AtLeast1d(Unaliased(ctx, ValueAs(ctx, 3, t.dtype()), target));
  const bool src_0d = !ctx.args.values[3].is_tensor() || ctx.tensor(3).dim() == 0;
  const Shape src_st = src_0d ? Shape(index.dim(), 0) : BytesExcept(src, index.sizes(), -1);
  const Reduce r = ParseReduce(ctx);
  const int64_t item = static_cast<int64_t>(ItemSize(t.dtype()));
  const int64_t jump = t.strides()[dim] * item;
  const int64_t size = t.sizes()[dim];
  const int is = ctx.op.param_index("include_self");
  const bool include_self = is < 0 || ctx.args.get_bool(is);
  if (r == Reduce::kAssign || (include_self && r != Reduce::kMean)) {
    ReduceLoop(r, t.dtype(), ctx.op.name, index.sizes(), t.raw(), BytesExcept(t, index.sizes(), dim),
               src.raw(), src_st, index.data<int64_t>(), index.strides(), size, jump, false);
    return;
  }
  // Mean, or reductions that skip self's values: work on a contiguous copy,
  // count contributions per element, then write back.
  Tensor work = ctx.NewTensor(TensorMeta::Contiguous(t.dtype(), t.meta.device, t.sizes()));
  CopyInto(work, t);
  const Shape work_st = BytesExcept(work, index.sizes(), dim);
  const int64_t wjump = work.strides()[dim] * item;
  std::vector<int64_t> count(work.numel(), include_self ? 1 : 0);
  DispatchAll(t.dtype(), ctx.op.name, [&]<typename T>() {
    T* base = work.data<T>();
    if (!include_self) {
      const T id = Identity<T>(r);
      IndexedLoop(index.sizes(), work.raw(), work_st, src.raw(), src_st, index.data<int64_t>(),
                  index.strides(), size, wjump, false,
                  [id](char* d, const char*) { *reinterpret_cast<T*>(d) = id; });
    }
    IndexedLoop(index.sizes(), work.raw(), work_st, src.raw(), src_st, index.data<int64_t>(),
                index.strides(), size, wjump, false, [&](char* d, const char* s) {
      Combine<T>(r, reinterpret_cast<T*>(d), *reinterpret_cast<const T*>(s));
      ++count[reinterpret_cast<T*>(d) - base];
    });
    if (r != Reduce::kMean) return;
    using M = opmath_t<T>;
    for (int64_t e = 0; e < work.numel(); ++e) {
      if (count[e] <= 1) continue;
      if constexpr (std::is_floating_point_v<M>) {
        base[e] = Convert<T>(static_cast<M>(base[e]) / static_cast<M>(count[e]));
      } else if constexpr (!std::is_same_v<T, bool>) {
        const int64_t v = static_cast<int64_t>(base[e]);
        const int64_t q = v / count[e] - ((v % count[e] != 0) && (v < 0) ? 1 : 0);  // floor
        base[e] = static_cast<T>(q);
      }
    }
  });
  CopyInto(t, work);
}

// index_add / index_copy / index_fill, in place or not.
void IndexAlongKernel(KernelContext& ctx) {
  Tensor target = Target(ctx);
  Tensor t = AtLeast1d(target);
  const int64_t dim = WrapDim(ctx.args.get_int(1), t.dim());
  Tensor index = AsInt64(ctx, Unaliased(ctx, ctx.tensor(2), target));
  const std::string& v = ctx.op.variant;
  const int64_t size = t.sizes()[dim];
  if (v == "index_copy") {
    const int64_t* p = index.data<int64_t>();
    ForEachOffset(index.sizes(), {index.strides()}, [&](const int64_t* o, const int64_t*) {
      TD_CHECK(p[o[0]] >= 0 && p[o[0]] < size, kIndex, "[", ctx.op.name, "] index_copy_(): index ",
               p[o[0]], " is out of bounds for dimension ", dim, " with size ", size);
    });
  } else if (v == "index_fill") {
    CheckIndices(ctx.op.name, index, size, dim, true, IndexMessage::kBounds);
  } else {
    CheckIndices(ctx.op.name, index, size, dim, false, IndexMessage::kOutOfRange);
  }
  if (index.numel() == 0 || t.numel() == 0) return;
  const int64_t item = static_cast<int64_t>(ItemSize(t.dtype()));
  const int64_t jump = t.strides()[dim] * item;
  if (v == "index_fill") {
    Tensor value = ValueAs(ctx, 3, t.dtype());
    Shape sizes = t.sizes();
    sizes[dim] = index.numel();
    ReduceLoop(Reduce::kAssign, t.dtype(), ctx.op.name, sizes, t.raw(), BytesExcept(t, sizes, dim),
               value.raw(), Shape(sizes.size(), 0), index.data<int64_t>(),
               AlongDim(index, sizes.size(), dim), size, jump, false);
    return;
  }
  Tensor src = AtLeast1d(Unaliased(ctx, ctx.tensor(3), target));
  if (v == "index_copy") {
    ReduceLoop(Reduce::kAssign, t.dtype(), ctx.op.name, src.sizes(), t.raw(),
               BytesExcept(t, src.sizes(), dim), src.raw(), BytesExcept(src, src.sizes(), -1),
               index.data<int64_t>(), AlongDim(index, src.dim(), dim), size, jump, false);
    return;
  }
  const Value& alpha = ctx.args.values[4];
  DispatchAll(t.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const M a = alpha.kind == Value::Kind::kFloat ? static_cast<M>(alpha.f)
                                                  : static_cast<M>(alpha.to_int());
    IndexedLoop(src.sizes(), t.raw(), BytesExcept(t, src.sizes(), dim), src.raw(),
                BytesExcept(src, src.sizes(), -1), index.data<int64_t>(),
                AlongDim(index, src.dim(), dim), size, jump, false, [a](char* d, const char* s) {
      T* o = reinterpret_cast<T*>(d);
      *o = Convert<T>(static_cast<M>(*o) + a * static_cast<M>(*reinterpret_cast<const T*>(s)));
    });
  });
}

}  // namespace

void RegisterAdvancedIndexKernels(KernelRegistry& r);

void RegisterIndexKernels(KernelRegistry& r) {
  r.Register("index_select", Device::Kind::kCPU, &IndexSelectKernel);
  r.Register("gather", Device::Kind::kCPU, &GatherKernel);
  r.Register("take", Device::Kind::kCPU, &TakeKernel);
  for (const char* op : {"scatter", "scatter_", "scatter_add", "scatter_add_", "scatter_reduce",
                         "scatter_reduce_"}) {
    r.Register(op, Device::Kind::kCPU, &ScatterKernel);
  }
  for (const char* op : {"index_add", "index_add_", "index_copy", "index_copy_", "index_fill",
                         "index_fill_"}) {
    r.Register(op, Device::Kind::kCPU, &IndexAlongKernel);
  }
  RegisterAdvancedIndexKernels(r);
}

}  // namespace tensord
