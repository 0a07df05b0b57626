// Masks and advanced indexing: masked_fill/select/scatter, nonzero, index,
// index_put. Data-dependent sizes (masked_select, nonzero, bool-mask index)
// are set by the kernel. Indices are checked before anything is written.
#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/index_util.h"
#include "kernels/meta/index_util.h"

namespace tensord {
namespace {

Tensor Target(KernelContext& ctx, const Shape& sizes) {
  const Tensor& self = ctx.tensor(0);
  if (ctx.op.returns == ReturnKind::kInPlace) return self;
  Tensor& out = ctx.output();
  TD_ASSERT(out.sizes() == sizes);
  CopyInto(out, self);
  return out;
}

// Positions (row-major over `sizes`) where the broadcast bool mask is set.
int64_t CountMask(const Tensor& mask, const Shape& sizes) {
  const char* m = mask.raw();
  int64_t n = 0;
  ForEachOffset(sizes, {BroadcastByteStrides(mask.meta, sizes)},
                [&](const int64_t* o, const int64_t*) { n += m[o[0]] != 0; });
  return n;
}

void MaskedFillKernel(KernelContext& ctx) {
  const Tensor& mask = ctx.tensor(1);
  Tensor t = Target(ctx, ctx.out_metas[0].sizes);
  Tensor value = CastTo(ctx.tensor_or_scalar(2, t.dtype()), t.dtype(), ctx.tracker);
  char v[16];
  const size_t item = ItemSize(t.dtype());
  std::memcpy(v, value.raw(), item);  // read before writing: value may alias self
  const char* m = mask.raw();
  char* base = t.raw();
  ForEachOffset(t.sizes(), {BroadcastByteStrides(t.meta, t.sizes()), BroadcastByteStrides(mask.meta, t.sizes())},
                [&](const int64_t* o, const int64_t*) {
    if (m[o[1]]) CopyElem(base + o[0], v, item);
  });
}

void MaskedSelectKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const Tensor& mask = ctx.tensor(1);
  const Shape sizes = BroadcastShapes(ctx.op.name, self.sizes(), mask.sizes());
  const int64_t n = CountMask(mask, sizes);
  ctx.outputs.assign(1, ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, {n})));
  char* out = ctx.outputs[0].raw();
  const char* m = mask.raw();
  const char* s = self.raw();
  const size_t item = ItemSize(self.dtype());
  ForEachOffset(sizes, {BroadcastByteStrides(self.meta, sizes), BroadcastByteStrides(mask.meta, sizes)},
                [&](const int64_t* o, const int64_t*) {
    if (!m[o[1]]) return;
    CopyElem(out, s + o[0], item);
    out += item;
  });
}

void MaskedScatterKernel(KernelContext& ctx) {
  const Tensor& mask = ctx.tensor(1);
  Tensor t = Target(ctx, ctx.out_metas[0].sizes);
  const int64_t n = CountMask(mask, t.sizes());
  Tensor src = ctx.tensor(2);
  TD_CHECK(src.numel() >= n, kRuntime, "[", ctx.op.name,
           "] Number of elements of source < number of ones in mask");
  src = Contiguous(ctx, Unaliased(ctx, src, t));
  const char* s = src.raw();
  const char* m = mask.raw();
  char* base = t.raw();
  const size_t item = ItemSize(t.dtype());
  ForEachOffset(t.sizes(), {BroadcastByteStrides(t.meta, t.sizes()), BroadcastByteStrides(mask.meta, t.sizes())},
                [&](const int64_t* o, const int64_t*) {
    if (!m[o[1]]) return;
    CopyElem(base + o[0], s, item);
    s += item;
  });
}

// [n, ndim] int64 coordinates of the nonzero elements of `self`.
Tensor NonzeroOf(const KernelContext& ctx, const Tensor& self) {
  std::vector<int64_t> coords;
  const int64_t nd = self.dim();
  int64_t n = 0;
  DispatchAll(self.dtype(), "nonzero", [&]<typename T>() {
    const char* base = self.raw();
    ForEachOffset(self.sizes(), {BroadcastByteStrides(self.meta, self.sizes())},
                  [&](const int64_t* o, const int64_t* idx) {
      const T v = *reinterpret_cast<const T*>(base + o[0]);
      if (static_cast<opmath_t<T>>(v) == opmath_t<T>(0)) return;
      ++n;
      if (nd) coords.insert(coords.end(), idx, idx + nd);
    });
  });
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(DType::kInt64, self.meta.device, {n, nd}));
  std::copy(coords.begin(), coords.end(), out.data<int64_t>());
  return out;
}

void NonzeroKernel(KernelContext& ctx) {
  ctx.outputs.assign(1, NonzeroOf(ctx, ctx.tensor(0)));
}

// The integer index tensors of index/index_put with masks expanded (each
// mask of k dims becomes k coordinate columns), checked against self.
struct Indices {
  std::vector<Tensor> tensors;
  std::vector<int64_t> dims;
};

Indices ReadIndices(const KernelContext& ctx, const Tensor& self, const Tensor& target) {
  Indices r;
  const auto list = ctx.tensor_list(1);
  const auto& dims = ctx.args.get_ints(2);
  for (size_t k = 0; k < list.size(); ++k) {
    const Tensor& t = *list[k];
    if (IsMaskDType(t.dtype())) {
      Tensor nz = NonzeroOf(ctx, t);
      for (int64_t j = 0; j < t.dim(); ++j) {
        TensorMeta col = nz.meta;
        col.sizes = {nz.sizes()[0]};
        col.strides = {t.dim()};
        col.offset = j;
        r.tensors.push_back(nz.View(col));
        r.dims.push_back(dims[k] + j);
      }
    } else {
      r.tensors.push_back(Unaliased(ctx, t, target));
      r.dims.push_back(dims[k]);
    }
  }
  return r;
}

// Bounds of every index value; like PyTorch, only when the result has
// elements (an empty result reads and writes nothing, so nothing is checked).
void CheckBounds(const KernelContext& ctx, const Tensor& self, const Indices& ix,
                 const Shape& result) {
  if (Numel(result) == 0) return;
  for (size_t k = 0; k < ix.tensors.size(); ++k) {
    CheckIndices(ctx.op.name, ix.tensors[k], self.sizes()[ix.dims[k]], ix.dims[k], true,
                 IndexMessage::kBounds);
  }
}

// Runs op(self_element, other_element) over the indexed positions, where
// `other` is the result (index) or the values (index_put) over the layout.
template <typename Op>
void IndexLoop(const Tensor& self, const Indices& ix, const IndexLayout& l, const Tensor& other,
               Op op) {
  const int64_t item = static_cast<int64_t>(ItemSize(self.dtype()));
  std::vector<Shape> strides;
  Shape st = l.self_strides;
  for (auto& s : st) s *= item;
  strides.push_back(std::move(st));
  strides.push_back(BroadcastByteStrides(other.meta, l.result));
  std::vector<const int64_t*> bases;
  std::vector<int64_t> jumps, sizes;
  for (size_t k = 0; k < ix.tensors.size(); ++k) {
    strides.push_back(l.index_strides[k]);
    bases.push_back(ix.tensors[k].data<int64_t>());
    jumps.push_back(self.strides()[ix.dims[k]] * item);
    sizes.push_back(self.sizes()[ix.dims[k]]);
  }
  char* sbase = self.raw();
  char* obase = other.raw();
  const size_t m = bases.size();
  ForEachOffset(l.result, strides, [&](const int64_t* o, const int64_t*) {
    char* p = sbase + o[0];
    for (size_t k = 0; k < m; ++k) {
      int64_t i = bases[k][o[2 + k]];
      if (i < 0) i += sizes[k];
      p += i * jumps[k];
    }
    op(p, obase + o[1]);
  });
}

IndexLayout Layout(const KernelContext& ctx, const Tensor& self, const Indices& ix) {
  std::vector<const TensorMeta*> metas;
  for (const Tensor& t : ix.tensors) metas.push_back(&t.meta);
  return PlanIndex(ctx.op.name, self.meta, metas, ix.dims);
}

void IndexKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Indices ix = ReadIndices(ctx, self, self);
  IndexLayout l = Layout(ctx, self, ix);
  CheckBounds(ctx, self, ix, l.result);
  ctx.outputs.assign(1, ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, l.result)));
  const size_t item = ItemSize(self.dtype());
  IndexLoop(self, ix, l, ctx.outputs[0],
            [item](char* s, char* o) { CopyElem(o, s, item); });
}

void IndexPutKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor t = Target(ctx, self.sizes());
  Indices ix = ReadIndices(ctx, t, t);
  IndexLayout l = Layout(ctx, t, ix);
  CheckBounds(ctx, t, ix, l.result);
  Tensor values = Unaliased(ctx, CastTo(ctx.tensor_or_scalar(3, t.dtype()), t.dtype(), ctx.tracker), t);
  bool fits = values.dim() <= static_cast<int64_t>(l.result.size());
  for (int64_t i = 1; fits && i <= values.dim(); ++i) {
    const int64_t v = values.sizes()[values.dim() - i];
    fits = v == 1 || v == l.result[l.result.size() - i];
  }
  TD_CHECK(fits, kRuntime, "[", ctx.op.name, "] shape mismatch: value tensor of shape ",
           ShapeStr(values.sizes()), " cannot be broadcast to indexing result of shape ",
           ShapeStr(l.result));
  const bool accumulate = ctx.args.get_bool(4);
  if (!accumulate) {
    const size_t item = ItemSize(t.dtype());
    IndexLoop(t, ix, l, values, [item](char* s, char* v) { CopyElem(s, v, item); });
    return;
  }
  DispatchAll(t.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    IndexLoop(t, ix, l, values, [](char* s, char* v) {
      T* d = reinterpret_cast<T*>(s);
      *d = Convert<T>(static_cast<M>(*d) + static_cast<M>(*reinterpret_cast<T*>(v)));
    });
  });
}

}  // namespace

void RegisterAdvancedIndexKernels(KernelRegistry& r) {
  r.Register("masked_fill", Device::Kind::kCPU, &MaskedFillKernel);
  r.Register("masked_fill_", Device::Kind::kCPU, &MaskedFillKernel);
  r.Register("masked_select", Device::Kind::kCPU, &MaskedSelectKernel);
  r.Register("masked_scatter", Device::Kind::kCPU, &MaskedScatterKernel);
  r.Register("masked_scatter_", Device::Kind::kCPU, &MaskedScatterKernel);
  r.Register("nonzero", Device::Kind::kCPU, &NonzeroKernel);
  r.Register("index", Device::Kind::kCPU, &IndexKernel);
  r.Register("index_put", Device::Kind::kCPU, &IndexPutKernel);
  r.Register("index_put_", Device::Kind::kCPU, &IndexPutKernel);
}

}  // namespace tensord
