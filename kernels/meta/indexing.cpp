// Metadata rules of the indexing ops: gathers, scatters, masks, index/index_put.
#include <algorithm>

#include "kernels/meta/index_util.h"
#include "kernels/meta/rule_util.h"

namespace tensord {

IndexLayout PlanIndex(std::string_view op, const TensorMeta& self,
                      const std::vector<const TensorMeta*>& indices,
                      const std::vector<int64_t>& dims) {
  Shape b;
  for (size_t k = 0; k < indices.size(); ++k) {
    const Shape& s = indices[k]->sizes;
    if (k == 0) {
      b = s;
      continue;
    }
    Shape out(std::max(b.size(), s.size()), 1);
    for (size_t i = 0; i < out.size(); ++i) {
      const int64_t x = i + b.size() >= out.size() ? b[i + b.size() - out.size()] : 1;
      const int64_t y = i + s.size() >= out.size() ? s[i + s.size() - out.size()] : 1;
      if (x != y && x != 1 && y != 1) {
        std::string shapes;
        for (size_t j = 0; j < indices.size(); ++j) {
          shapes += (j ? ", " : "") + ShapeStr(indices[j]->sizes);
        }
        Fail(ErrorKind::kIndex, "[", op, "] shape mismatch: indexing tensors could not be "
             "broadcast together with shapes ", shapes);
      }
      out[i] = x == 1 ? y : x;
    }
    b = std::move(out);
  }
  bool adjacent = true;
  for (size_t k = 1; k < dims.size(); ++k) adjacent &= dims[k] == dims[k - 1] + 1;
  const int64_t nb = static_cast<int64_t>(b.size());
  IndexLayout l;
  // Where B starts in the result.
  const int64_t at = adjacent ? dims[0] : 0;
  auto indexed = [&](int64_t d) { return std::find(dims.begin(), dims.end(), d) != dims.end(); };
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (static_cast<int64_t>(l.result.size()) == at) {
      l.result.insert(l.result.end(), b.begin(), b.end());
      l.self_strides.insert(l.self_strides.end(), nb, 0);
    }
    if (indexed(d)) continue;
    l.result.push_back(self.sizes[d]);
    l.self_strides.push_back(self.strides[d]);
  }
  if (static_cast<int64_t>(l.result.size()) == at) {
    l.result.insert(l.result.end(), b.begin(), b.end());
    l.self_strides.insert(l.self_strides.end(), nb, 0);
  }
  for (const TensorMeta* t : indices) {
    Shape st(l.result.size(), 0);
    const int64_t off = at + nb - t->dim();
    for (int64_t i = 0; i < t->dim(); ++i) {
      st[off + i] = t->sizes[i] == 1 ? 0 : t->strides[i];
    }
    l.index_strides.push_back(std::move(st));
  }
  return l;
}

namespace rules {
namespace {

void CheckIndexDType(const OpSchema& op, const TensorMeta& index, std::string_view what,
                     bool allow_int32 = false) {
  TD_CHECK(index.dtype == DType::kInt64 || (allow_int32 && index.dtype == DType::kInt32),
           kRuntime, "[", op.name, "] ", what, "(): Expected dtype int64 for index");
}

// For gather/scatter: index has self's rank and fits inside `other` (self
// apart from dim, or src everywhere).
void CheckScatterShape(const OpSchema& op, const TensorMeta& self, const TensorMeta& index,
                       int64_t dim, const TensorMeta* src) {
  TD_CHECK(index.dim() == self.dim() || (index.dim() <= 1 && self.dim() <= 1), kRuntime, "[",
           op.name, "] Index tensor must have the same number of dimensions as self tensor");
  if (index.numel() == 0) return;
  for (int64_t d = 0; d < index.dim(); ++d) {
    const int64_t isz = index.sizes[d];
    TD_CHECK(d == dim || self.dim() == 0 || isz <= self.sizes[d], kRuntime, "[", op.name,
             "] Size does not match at dimension ", d, " expected index ", ShapeStr(index.sizes),
             " to be smaller than self ", ShapeStr(self.sizes), " apart from dimension ", dim);
    if (src && src->dim() > 0) {
      TD_CHECK(src->dim() == index.dim(), kRuntime, "[", op.name,
               "] Index tensor must have the same number of dimensions as src tensor");
      TD_CHECK(isz <= src->sizes[d], kRuntime, "[", op.name,
               "] Size does not match at dimension ", d, " expected index ",
               ShapeStr(index.sizes), " to be smaller than src ", ShapeStr(src->sizes));
    }
  }
}

TensorMeta ResultOf(const OpSchema& op, const TensorMeta& self) {
  if (op.returns == ReturnKind::kInPlace) return self;
  return TensorMeta::Contiguous(self.dtype, self.device, self.sizes);
}

// The index tensors of index/index_put, checked; masks are expanded to one
// placeholder per masked dim (length 1, so they broadcast with anything).
struct IndexArgs {
  std::vector<const TensorMeta*> indices;
  std::vector<int64_t> dims;
  std::vector<TensorMeta> placeholders;
  bool has_mask = false;
};

IndexArgs ReadIndexArgs(const OpSchema& op, const OpArgs& args) {
  const TensorMeta& self = args.tensor(0);
  const auto& list = args.values[1].ints;
  const auto& dims = args.get_ints(2);
  TD_CHECK(list.size() == dims.size() && !list.empty(), kValue, "[", op.name,
           "] expected one dim per index tensor, got ", list.size(), " tensors and ",
           dims.size(), " dims");
  IndexArgs ia;
  ia.placeholders.reserve(self.dim() + 1);
  int64_t next = 0;
  for (size_t k = 0; k < list.size(); ++k) {
    const TensorMeta& t = *args.metas[list[k]];
    const int64_t d = dims[k];
    TD_CHECK(d >= next, kValue, "[", op.name, "] index dims must increase, got ", ShapeStr(dims));
    const bool mask = IsMaskDType(t.dtype);
    TD_CHECK(mask || t.dtype == DType::kInt64, kIndex, "[", op.name,
             "] tensors used as indices must be long, byte or bool tensors");
    const int64_t used = mask ? t.dim() : 1;
    TD_CHECK(!mask || used > 0, kValue, "[", op.name, "] a 0-d mask index is not supported");
    TD_CHECK(d + used <= self.dim(), kIndex, "[", op.name, "] too many indices for tensor of "
             "dimension ", self.dim(), " (got ", d + used, ")");
    if (mask) {
      for (int64_t j = 0; j < used; ++j) {
        TD_CHECK(t.sizes[j] == self.sizes[d + j], kIndex, "[", op.name, "] The shape of the mask ",
                 ShapeStr(t.sizes), " at index ", j, " does not match the shape of the indexed "
                 "tensor ", ShapeStr(self.sizes), " at index ", d + j);
        ia.placeholders.push_back(TensorMeta::Contiguous(DType::kInt64, t.device, {1}));
        ia.indices.push_back(&ia.placeholders.back());
        ia.dims.push_back(d + j);
      }
      ia.has_mask = true;
    } else {
      ia.indices.push_back(&t);
      ia.dims.push_back(d);
    }
    next = d + used;
  }
  return ia;
}

}  // namespace

void index_select(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  const TensorMeta& index = args.tensor(2);
  TD_CHECK(index.dim() <= 1, kIndex, "[", op.name, "] index_select(): Index is supposed to be a vector");
  TD_CHECK(index.dtype == DType::kInt64 || index.dtype == DType::kInt32, kRuntime, "[", op.name,
           "] index_select(): Expected dtype int32 or int64 for index");
  Shape sizes = self.sizes;
  if (self.dim() > 0) sizes[dim] = index.numel();
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, sizes));
}

void gather(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  const TensorMeta& index = args.tensor(2);
  CheckIndexDType(op, index, "gather");
  CheckScatterShape(op, self, index, dim, nullptr);
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, index.sizes));
}

// scatter, scatter_add, scatter_reduce and their in-place forms.
void scatter(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  const TensorMeta& index = args.tensor(2);
  CheckIndexDType(op, index, op.variant);
  const TensorMeta* src = args.values[3].is_tensor() ? &args.tensor(3) : nullptr;
  if (src) {
    TD_CHECK(src->dtype == self.dtype, kRuntime, "[", op.name, "] ", op.variant,
             "(): Expected self.dtype to be equal to src.dtype");
  }
  CheckScatterShape(op, self, index, dim, src);
  const int reduce_p = op.param_index("reduce");
  if (reduce_p >= 0 && !args.is_none(reduce_p)) {
    const std::string& r = args.values[reduce_p].s;
    if (op.variant == "scatter_reduce") {
      TD_CHECK(r == "sum" || r == "prod" || r == "mean" || r == "amax" || r == "amin", kRuntime,
               "[", op.name, "] reduce argument must be either sum, prod, mean, amax or amin, got ",
               r);
    } else {
      TD_CHECK(r == "add" || r == "multiply", kRuntime, "[", op.name,
               "] reduce argument must be either add or multiply.");
    }
  }
  outs.push_back(ResultOf(op, self));
}

// index_add / index_copy / index_fill (source or value at param 3).
void index_along(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  const TensorMeta& index = args.tensor(2);
  const std::string& v = op.variant;
  TD_CHECK(index.dim() <= 1, kIndex, "[", op.name, "] ", v, "_(): Index is supposed to be a vector");
  TD_CHECK(index.dtype == DType::kInt64 || (v == "index_add" && index.dtype == DType::kInt32),
           kRuntime, "[", op.name, "] ", v, "_(): Expected dtype int64 for index");
  if (v == "index_fill") {
    if (args.values[3].is_tensor()) {
      TD_CHECK(args.tensor(3).dim() == 0, kRuntime, "[", op.name, "] index_fill_ only supports a "
               "0-dimensional value tensor, but got tensor with ", args.tensor(3).dim(),
               " dimension(s).");
    }
  } else {
    const TensorMeta& src = args.tensor(3);
    TD_CHECK(src.dtype == self.dtype, kRuntime, "[", op.name, "] ", v, "_(): self (",
             DTypeName(self.dtype), ") and source (", DTypeName(src.dtype),
             ") must have the same scalar type");
    const int64_t n = src.dim() == 0 ? 1 : (src.dim() > dim ? src.sizes[dim] : -1);
    TD_CHECK(n == index.numel(), kRuntime, "[", op.name, "] ", v, "_(): Number of indices (",
             index.numel(), ") should be equal to source.size(dim) (", n, ")");
    bool same = src.dim() == self.dim() || (src.dim() <= 1 && self.dim() <= 1);
    for (int64_t d = 0; same && d < src.dim() && self.dim() > 0; ++d) {
      same = d == dim || src.sizes[d] == self.sizes[d];
    }
    TD_CHECK(same, kRuntime, "[", op.name, "] ", v, "_(): source tensor shape must match self "
             "tensor shape, excluding the specified dimension. Got self.shape = ",
             ShapeStr(self.sizes), " source.shape = ", ShapeStr(src.sizes));
  }
  outs.push_back(ResultOf(op, self));
}

namespace {

// masked_fill/masked_scatter: self and mask broadcast; in place, the mask
// must broadcast to self's own shape.
TensorMeta MaskedResult(const OpSchema& op, const TensorMeta& self, const TensorMeta& mask) {
  const Shape b = BroadcastShapes(op.name, self.sizes, mask.sizes);
  if (op.returns == ReturnKind::kInPlace) {
    TD_CHECK(b == self.sizes, kRuntime, "[", op.name, "] output with shape ", ShapeStr(self.sizes),
             " doesn't match the broadcast shape ", ShapeStr(b));
    return self;
  }
  return TensorMeta::Contiguous(self.dtype, self.device, b);
}

}  // namespace

void masked_fill(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const TensorMeta& mask = args.tensor(1);
  TD_CHECK(mask.dtype == DType::kBool, kRuntime, "[", op.name, "] masked_fill_ only supports "
           "boolean masks, but got mask with dtype ", DTypeName(mask.dtype));
  if (args.values[2].is_tensor()) {
    TD_CHECK(args.tensor(2).dim() == 0, kRuntime, "[", op.name, "] masked_fill_ only supports a "
             "0-dimensional value tensor, but got tensor with ", args.tensor(2).dim(),
             " dimension(s).");
  }
  outs.push_back(MaskedResult(op, self, mask));
}

void masked_select(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const TensorMeta& mask = args.tensor(1);
  TD_CHECK(mask.dtype == DType::kBool, kRuntime, "[", op.name, "] masked_select: expected "
           "BoolTensor for mask");
  BroadcastShapes(op.name, self.sizes, mask.sizes);
  TensorMeta m = TensorMeta::Contiguous(self.dtype, self.device, {0});
  m.dynamic_shape = true;
  outs.push_back(std::move(m));
}

void masked_scatter(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const TensorMeta& mask = args.tensor(1);
  const TensorMeta& src = args.tensor(2);
  TD_CHECK(mask.dtype == DType::kBool, kRuntime, "[", op.name, "] masked_scatter_ only supports "
           "boolean masks, but got mask with dtype ", DTypeName(mask.dtype));
  TD_CHECK(src.dtype == self.dtype, kRuntime, "[", op.name, "] masked_scatter: expected self and "
           "source to have same dtypes but got ", DTypeName(self.dtype), " and ",
           DTypeName(src.dtype));
  outs.push_back(MaskedResult(op, self, mask));
}

void take(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const TensorMeta& index = args.tensor(1);
  TD_CHECK(index.dtype == DType::kInt64, kRuntime, "[", op.name,
           "] take(): Expected a long tensor for index, but got ", DTypeName(index.dtype));
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, index.sizes));
}

void nonzero(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  (void)op;
  const TensorMeta& self = args.tensor(0);
  TensorMeta m = TensorMeta::Contiguous(DType::kInt64, self.device, {0, self.dim()});
  m.dynamic_shape = true;
  outs.push_back(std::move(m));
}

void index(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  IndexArgs ia = ReadIndexArgs(op, args);
  IndexLayout l = PlanIndex(op.name, self, ia.indices, ia.dims);
  TensorMeta m = TensorMeta::Contiguous(self.dtype, self.device, l.result);
  m.dynamic_shape = ia.has_mask;
  outs.push_back(std::move(m));
}

void index_put(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  IndexArgs ia = ReadIndexArgs(op, args);
  IndexLayout l = PlanIndex(op.name, self, ia.indices, ia.dims);
  if (args.values[3].is_tensor()) {
    const TensorMeta& v = args.tensor(3);
    TD_CHECK(v.dtype == self.dtype, kRuntime, "[", op.name, "] Index put requires the source and "
             "destination dtypes match, got ", DTypeName(self.dtype), " for the destination and ",
             DTypeName(v.dtype), " for the source.");
    bool fits = v.dim() <= static_cast<int64_t>(l.result.size());
    for (int64_t i = 1; fits && i <= v.dim(); ++i) {
      const int64_t want = l.result[l.result.size() - i];
      fits = v.sizes[v.dim() - i] == 1 || v.sizes[v.dim() - i] == want || ia.has_mask;
    }
    TD_CHECK(fits, kRuntime, "[", op.name, "] shape mismatch: value tensor of shape ",
             ShapeStr(v.sizes), " cannot be broadcast to indexing result of shape ",
             ShapeStr(l.result));
  }
  outs.push_back(ResultOf(op, self));
}

}  // namespace rules
}  // namespace tensord
