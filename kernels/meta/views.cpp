// Metadata rules of view ops: each result shares the input's storage, so its
// strides and offset index into that storage.
#include <algorithm>

#include "kernels/meta/rule_util.h"
#include "kernels/meta/shape_util.h"

namespace tensord {

TensorMeta SelectMeta(const TensorMeta& self, int64_t dim, int64_t index) {
  TensorMeta m = self;
  m.offset += index * self.strides[dim];
  m.sizes.erase(m.sizes.begin() + dim);
  m.strides.erase(m.strides.begin() + dim);
  return m;
}

TensorMeta SliceMeta(const TensorMeta& self, int64_t dim, int64_t start, int64_t end,
                     int64_t step) {
  const int64_t size = self.sizes[dim];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  TensorMeta m = self;
  m.offset += start * self.strides[dim];
  m.sizes[dim] = (end - start + step - 1) / step;
  m.strides[dim] *= step;
  return m;
}

TensorMeta PermuteMeta(const TensorMeta& self, const std::vector<int64_t>& order) {
  TensorMeta m = self;
  for (size_t i = 0; i < order.size(); ++i) {
    m.sizes[i] = self.sizes[order[i]];
    m.strides[i] = self.strides[order[i]];
  }
  return m;
}

namespace rules {
namespace {

// Wrapped, distinct dims of an int[] argument.
std::vector<int64_t> DistinctDims(const OpSchema& op, const std::vector<int64_t>& dims,
                                  int64_t ndim, const char* what) {
  std::vector<int64_t> out;
  for (int64_t d : dims) {
    const int64_t w = WrapDim(d, ndim);
    TD_CHECK(std::find(out.begin(), out.end(), w) == out.end(), kRuntime, "[", op.name, "] ",
             what, ": repeated dim ", w, " in ", ShapeStr(dims));
    out.push_back(w);
  }
  return out;
}

}  // namespace

void permute(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const auto& dims = args.get_ints(1);
  TD_CHECK(static_cast<int64_t>(dims.size()) == self.dim(), kRuntime, "[", op.name,
           "] number of dimensions in the tensor input does not match the length of the "
           "desired ordering of dimensions i.e. input.dim() = ", self.dim(),
           " is not equal to len(dims) = ", dims.size());
  std::vector<int64_t> order;
  for (int64_t d : dims) {
    const int64_t w = WrapDim(d, self.dim());
    TD_CHECK(std::find(order.begin(), order.end(), w) == order.end(), kRuntime, "[", op.name,
             "] permute(): duplicate dims are not allowed.");
    order.push_back(w);
  }
  outs.push_back(PermuteMeta(self, order));
}

void transpose(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  (void)op;
  const TensorMeta& self = args.tensor(0);
  TensorMeta m = self;
  if (self.dim() == 0) {
    WrapDim(args.get_int(1), 0);
    WrapDim(args.get_int(2), 0);
  } else {
    const int64_t a = WrapDim(args.get_int(1), self.dim());
    const int64_t b = WrapDim(args.get_int(2), self.dim());
    std::swap(m.sizes[a], m.sizes[b]);
    std::swap(m.strides[a], m.strides[b]);
  }
  outs.push_back(std::move(m));
}

void t(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() <= 2, kRuntime, "[", op.name,
           "] t() expects a tensor with <= 2 dimensions, but self is ", self.dim(), "D");
  TensorMeta m = self;
  std::reverse(m.sizes.begin(), m.sizes.end());
  std::reverse(m.strides.begin(), m.strides.end());
  outs.push_back(std::move(m));
}

void squeeze(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  (void)op;
  const TensorMeta& self = args.tensor(0);
  TensorMeta m = self;
  m.sizes.clear();
  m.strides.clear();
  const bool all = args.is_none(1);
  const int64_t dim = all ? -1 : WrapDim(args.get_int(1), self.dim());
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (self.sizes[d] == 1 && (all || d == dim)) continue;
    m.sizes.push_back(self.sizes[d]);
    m.strides.push_back(self.strides[d]);
  }
  outs.push_back(std::move(m));
}

void unsqueeze(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  (void)op;
  const TensorMeta& self = args.tensor(0);
  const int64_t dim = WrapDim(args.get_int(1), self.dim() + 1);
  TensorMeta m = self;
  const int64_t stride = dim >= self.dim() ? 1 : self.sizes[dim] * self.strides[dim];
  m.sizes.insert(m.sizes.begin() + dim, 1);
  m.strides.insert(m.strides.begin() + dim, stride);
  outs.push_back(std::move(m));
}

void expand(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const Shape& size = args.get_ints(1);
  const int64_t n = static_cast<int64_t>(size.size());
  TD_CHECK(n >= self.dim(), kRuntime, "[", op.name, "] the number of sizes provided (", n,
           ") must be greater or equal to the number of dimensions in the tensor (", self.dim(),
           ")");
  TensorMeta m = self;
  m.sizes.assign(n, 0);
  m.strides.assign(n, 0);
  for (int64_t i = n - 1; i >= 0; --i) {
    const int64_t j = i - (n - self.dim());
    int64_t want = size[i];
    if (j < 0) {
      TD_CHECK(want >= 0, kRuntime, "[", op.name, "] The expanded size of the tensor (", want,
               ") isn't allowed in a leading, non-existing dimension ", i);
      m.sizes[i] = want;
      m.strides[i] = 0;
      continue;
    }
    if (want == -1) want = self.sizes[j];
    if (self.sizes[j] == want) {
      m.sizes[i] = want;
      m.strides[i] = self.strides[j];
    } else {
      TD_CHECK(self.sizes[j] == 1 && want >= 0, kRuntime, "[", op.name,
               "] The expanded size of the tensor (", want, ") must match the existing size (",
               self.sizes[j], ") at non-singleton dimension ", i, ".  Target sizes: ",
               ShapeStr(size), ".  Tensor sizes: ", ShapeStr(self.sizes));
      m.sizes[i] = want;
      m.strides[i] = 0;
    }
  }
  outs.push_back(std::move(m));
}

// flatten: a reshape that merges start_dim..end_dim (a 0-d input gives [1]).
void flatten(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t s = WrapDim(args.get_int(1), self.dim());
  const int64_t e = WrapDim(args.get_int(2), self.dim());
  TD_CHECK(s <= e, kRuntime, "[", op.name,
           "] flatten() has invalid args: start_dim cannot come after end_dim");
  Shape sizes;
  if (self.dim() == 0) {
    sizes = {1};
  } else {
    sizes.assign(self.sizes.begin(), self.sizes.begin() + s);
    int64_t merged = 1;
    for (int64_t d = s; d <= e; ++d) merged *= self.sizes[d];
    sizes.push_back(merged);
    sizes.insert(sizes.end(), self.sizes.begin() + e + 1, self.sizes.end());
  }
  if (self.dim() > 0 && s == e) {
    outs.push_back(self);
  } else {
    outs.push_back(ViewOrCopy(self, std::move(sizes)));
  }
}

void unflatten(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  const Shape& req = args.get_ints(2);
  TD_CHECK(!req.empty(), kRuntime, "[", op.name, "] unflatten: sizes must be non-empty");
  const int64_t size = self.dim() ? self.sizes[dim] : 1;
  Shape part = req;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < part.size(); ++i) {
    if (part[i] == -1 && infer < 0) {
      infer = static_cast<int64_t>(i);
    } else {
      known *= part[i];
    }
  }
  if (infer >= 0 && known != 0 && size % known == 0) part[infer] = size / known;
  TD_CHECK(Numel(part) == size && std::all_of(part.begin(), part.end(), [](int64_t v) { return v >= 0; }),
           kRuntime, "[", op.name, "] unflatten: Provided sizes ", ShapeStr(req),
           " don't multiply up to the size of dim ", dim, " (", size, ") in the input tensor");
  Shape sizes(self.sizes.begin(), self.sizes.begin() + dim);
  sizes.insert(sizes.end(), part.begin(), part.end());
  if (self.dim() > 0) sizes.insert(sizes.end(), self.sizes.begin() + dim + 1, self.sizes.end());
  auto strides = ViewStrides(self.sizes, self.strides, sizes);
  TD_ASSERT(strides.has_value(), "splitting one dim always has view strides");
  TensorMeta m = self;
  m.sizes = std::move(sizes);
  m.strides = std::move(*strides);
  outs.push_back(std::move(m));
}

void narrow(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() > 0, kRuntime, "[", op.name, "] narrow() cannot be applied to a 0-dim tensor.");
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  const int64_t size = self.sizes[dim];
  int64_t start = args.get_int(2);
  const int64_t length = args.get_int(3);
  TD_CHECK(length >= 0, kRuntime, "[", op.name, "] narrow(): length must be non-negative.");
  if (start != size) start = WrapDim(start, size);
  TD_CHECK(start <= size - length, kRuntime, "[", op.name, "] start (", start, ") + length (",
           length, ") exceeds dimension size (", size, ").");
  outs.push_back(SliceMeta(self, dim, start, start + length, 1));
}

void select(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() > 0, kIndex, "[", op.name, "] select() cannot be applied to a 0-dim tensor.");
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  const int64_t size = self.sizes[dim];
  int64_t index = args.get_int(2);
  TD_CHECK(index >= -size && index < size, kIndex, "[", op.name, "] select(): index ", index,
           " out of range for tensor of size ", ShapeStr(self.sizes), " at dimension ", dim);
  if (index < 0) index += size;
  outs.push_back(SelectMeta(self, dim, index));
}

void slice(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() > 0, kIndex, "[", op.name, "] slice() cannot be applied to a 0-dim tensor.");
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  const int64_t step = args.get_int(4);
  TD_CHECK(step > 0, kRuntime, "[", op.name, "] slice step must be positive");
  const int64_t start = args.is_none(2) ? 0 : args.get_int(2);
  const int64_t end = args.is_none(3) ? self.sizes[dim] : args.get_int(3);
  outs.push_back(SliceMeta(self, dim, start, end, step));
}

void unbind(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() > 0, kIndex, "[", op.name, "] Dimension specified as ", args.get_int(1),
           " but tensor has no dimensions");
  const int64_t dim = WrapDim(args.get_int(1), self.dim());
  for (int64_t i = 0; i < self.sizes[dim]; ++i) outs.push_back(SelectMeta(self, dim, i));
}

void movedim(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const auto& src_arg = args.get_ints(1);
  const auto& dst_arg = args.get_ints(2);
  TD_CHECK(src_arg.size() == dst_arg.size(), kRuntime, "[", op.name,
           "] movedim: Invalid source or destination dims: source (", ShapeStr(src_arg),
           " dims) should contain the same number of dims as destination (", ShapeStr(dst_arg),
           " dims)");
  const int64_t n = self.dim();
  auto src = DistinctDims(op, src_arg, n, "movedim: source");
  auto dst = DistinctDims(op, dst_arg, n, "movedim: destination");
  if (n == 0) {  // dims 0 and -1 of a 0-d tensor name nothing to move
    outs.push_back(self);
    return;
  }
  std::vector<int64_t> order(std::max<int64_t>(n, 0), -1);
  std::vector<bool> used(n, false);
  for (size_t i = 0; i < src.size(); ++i) {
    order[dst[i]] = src[i];
    used[src[i]] = true;
  }
  int64_t next = 0;
  for (int64_t& o : order) {
    if (o >= 0) continue;
    while (used[next]) ++next;
    o = next++;
  }
  outs.push_back(PermuteMeta(self, order));
}

void diagonal(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t offset = args.get_int(1);
  const int64_t d1 = WrapDim(args.get_int(2), self.dim());
  const int64_t d2 = WrapDim(args.get_int(3), self.dim());
  TD_CHECK(d1 != d2, kRuntime, "[", op.name, "] diagonal dimensions cannot be identical ",
           args.get_int(2), ", ", args.get_int(3));
  int64_t n;
  TensorMeta m = self;
  if (offset >= 0) {
    n = std::max<int64_t>(std::min(self.sizes[d1], self.sizes[d2] - offset), 0);
  } else {
    n = std::max<int64_t>(std::min(self.sizes[d1] + offset, self.sizes[d2]), 0);
  }
  if (n > 0) m.offset += offset >= 0 ? offset * self.strides[d2] : -offset * self.strides[d1];
  m.sizes.clear();
  m.strides.clear();
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (d == d1 || d == d2) continue;
    m.sizes.push_back(self.sizes[d]);
    m.strides.push_back(self.strides[d]);
  }
  m.sizes.push_back(n);
  m.strides.push_back(self.strides[d1] + self.strides[d2]);
  outs.push_back(std::move(m));
}

// The storage bound is checked by the kernel (only the daemon knows it).
void as_strided(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const Shape& size = args.get_ints(1);
  const Shape& stride = args.get_ints(2);
  TD_CHECK(size.size() == stride.size(), kRuntime, "[", op.name, "] mismatch in length of "
           "strides and shape");
  CheckSizes(op, size);
  for (int64_t s : stride) {
    TD_CHECK(s >= 0, kRuntime, "[", op.name, "] as_strided: Negative strides are not "
             "supported at the moment, got strides: ", ShapeStr(stride));
  }
  TensorMeta m = self;
  m.sizes = size;
  m.strides = stride;
  if (!args.is_none(3)) m.offset = args.get_int(3);
  TD_CHECK(m.offset >= 0, kRuntime, "[", op.name, "] Tensor: invalid storage offset ", m.offset);
  outs.push_back(std::move(m));
}

}  // namespace rules
}  // namespace tensord
