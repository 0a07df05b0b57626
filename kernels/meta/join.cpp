// Metadata rules of joins (cat, stack) and splits (views of one input).
#include <algorithm>

#include "kernels/meta/rule_util.h"
#include "kernels/meta/shape_util.h"

namespace tensord::rules {
namespace {
// A requested number of pieces not bounded by the tensor's size: more would
// let one record make the client and the daemon build millions of views.
constexpr int64_t kMaxPieces = int64_t{1} << 16;
}  // namespace
namespace {

const TensorMeta& ListItem(const OpArgs& args, size_t arg, size_t i) {
  return *args.metas[args.values[arg].ints[i]];
}

// Views of consecutive pieces of `sizes` along dim.
void SplitViews(const TensorMeta& self, int64_t dim, const Shape& sizes,
                std::vector<TensorMeta>& outs) {
  int64_t start = 0;
  for (int64_t s : sizes) {
    outs.push_back(SliceMeta(self, dim, start, start + s, 1));
    start += s;
  }
}

}  // namespace

// cat: inputs of shape [0] are skipped (legacy); the rest must agree except
// along dim. The dtype promotes across inputs.
void cat(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const size_t n = args.values[0].ints.size();
  TD_CHECK(n > 0, kRuntime, "[", op.name, "] torch.cat(): expected a non-empty list of Tensors");
  const TensorMeta* first = nullptr;
  for (size_t i = 0; i < n; ++i) {
    const TensorMeta& t = ListItem(args, 0, i);
    TD_CHECK(t.dim() > 0, kRuntime, "[", op.name, "] zero-dimensional tensor (at position ", i,
             ") cannot be concatenated");
    if (!first && !(t.dim() == 1 && t.sizes[0] == 0)) first = &t;
  }
  const DType dtype = ResultTypeOfInputs(op, args);
  const Device device = CommonDevice(op, args);
  if (!first) {
    WrapDim(args.get_int(1), 1);
    outs.push_back(TensorMeta::Contiguous(dtype, device, {0}));
    return;
  }
  const int64_t dim = WrapDim(args.get_int(1), first->dim());
  Shape sizes = first->sizes;
  sizes[dim] = 0;
  for (size_t i = 0; i < n; ++i) {
    const TensorMeta& t = ListItem(args, 0, i);
    if (t.dim() == 1 && t.sizes[0] == 0) continue;
    TD_CHECK(t.dim() == first->dim(), kRuntime, "[", op.name,
             "] Tensors must have same number of dimensions: got ", first->dim(), " and ",
             t.dim());
    for (int64_t d = 0; d < t.dim(); ++d) {
      TD_CHECK(d == dim || t.sizes[d] == first->sizes[d], kRuntime, "[", op.name,
               "] Sizes of tensors must match except in dimension ", dim, ". Expected size ",
               first->sizes[d], " but got size ", t.sizes[d], " for tensor number ", i,
               " in the list.");
    }
    sizes[dim] += t.sizes[dim];
  }
  outs.push_back(TensorMeta::Contiguous(dtype, device, sizes));
}

void stack(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const size_t n = args.values[0].ints.size();
  TD_CHECK(n > 0, kRuntime, "[", op.name, "] stack expects a non-empty TensorList");
  const TensorMeta& first = ListItem(args, 0, 0);
  for (size_t i = 1; i < n; ++i) {
    const TensorMeta& t = ListItem(args, 0, i);
    TD_CHECK(t.sizes == first.sizes, kRuntime, "[", op.name,
             "] stack expects each tensor to be equal size, but got ", ShapeStr(first.sizes),
             " at entry 0 and ", ShapeStr(t.sizes), " at entry ", i);
  }
  const int64_t dim = WrapDim(args.get_int(1), first.dim() + 1);
  Shape sizes = first.sizes;
  sizes.insert(sizes.begin() + dim, static_cast<int64_t>(n));
  outs.push_back(TensorMeta::Contiguous(ResultTypeOfInputs(op, args), CommonDevice(op, args), sizes));
}

// split(int split_size) and split_with_sizes(int[] split_sizes).
void split(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() > 0, kRuntime, "[", op.name,
           "] split expects at least a 1-dimensional tensor");
  const int64_t dim = WrapDim(args.get_int(2), self.dim());
  const int64_t size = self.sizes[dim];
  Shape pieces;
  if (args.values[1].kind == Value::Kind::kInt) {
    const int64_t s = args.get_int(1);
    TD_CHECK(s >= 0, kRuntime, "[", op.name, "] split expects split_size be non-negative, but "
             "got split_size=", s);
    TD_CHECK(s > 0 || size == 0, kRuntime, "[", op.name, "] split_size can only be 0 if "
             "dimension size is 0, but got dimension size of ", size);
    const int64_t count = s == 0 ? 1 : std::max<int64_t>((size + s - 1) / s, 1);
    for (int64_t i = 0; i < count; ++i) pieces.push_back(std::min(s, size - i * s));
  } else {
    pieces = args.get_ints(1);
    int64_t sum = 0;
    for (int64_t s : pieces) {
      TD_CHECK(s >= 0, kRuntime, "[", op.name, "] split_with_sizes expects split_sizes have only "
               "non-negative entries, but got split_sizes=", ShapeStr(pieces));
      sum += s;
    }
    TD_CHECK(sum == size, kRuntime, "[", op.name, "] split_with_sizes expects split_sizes to sum "
             "exactly to ", size, " (input tensor's size at dimension ", dim,
             "), but got split_sizes=", ShapeStr(pieces));
  }
  SplitViews(self, dim, pieces, outs);
}

void chunk(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() > 0, kRuntime, "[", op.name, "] chunk expects at least a 1-dimensional tensor");
  const int64_t chunks = args.get_int(1);
  TD_CHECK(chunks > 0, kRuntime, "[", op.name, "] chunk expects `chunks` to be greater than 0, "
           "got: ", chunks);
  TD_CHECK(chunks <= kMaxPieces, kRuntime, "[", op.name, "] ", chunks,
           " chunks is more than tensord splits into (", kMaxPieces, ")");
  const int64_t dim = WrapDim(args.get_int(2), self.dim());
  const int64_t size = self.sizes[dim];
  const int64_t s = (size + chunks - 1) / chunks;
  Shape pieces;
  if (s == 0) {
    pieces.assign(chunks, 0);
  } else {
    for (int64_t start = 0; start < size || pieces.empty(); start += s) {
      pieces.push_back(std::min(s, size - start));
    }
  }
  SplitViews(self, dim, pieces, outs);
}

// tensor_split(indices=[...]) or tensor_split(sections=n): slices that clamp
// like Python's, so decreasing or out-of-range indices give empty pieces.
void tensor_split(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() > 0, kRuntime, "[", op.name, "] tensor_split expected at least a "
           "1-dimensional tensor, but got a tensor with 0 dims");
  const int64_t dim = WrapDim(args.get_int(2), self.dim());
  const int64_t size = self.sizes[dim];
  if (!args.is_none(3)) {
    const int64_t sections = args.get_int(3);
    TD_CHECK(sections > 0, kRuntime, "[", op.name,
             "] number of sections must be larger than 0, got ", sections);
    TD_CHECK(sections <= kMaxPieces, kRuntime, "[", op.name, "] ", sections,
             " sections is more than tensord splits into (", kMaxPieces, ")");
    const int64_t base = size / sections, extra = size % sections;
    int64_t start = 0;
    for (int64_t i = 0; i < sections; ++i) {
      const int64_t len = base + (i < extra ? 1 : 0);
      outs.push_back(SliceMeta(self, dim, start, start + len, 1));
      start += len;
    }
    return;
  }
  TD_CHECK(!args.is_none(1), kType, "[", op.name, "] tensor_split needs indices or sections");
  int64_t start = 0;
  for (int64_t idx : args.get_ints(1)) {
    outs.push_back(SliceMeta(self, dim, start, idx, 1));
    start = idx;
  }
  outs.push_back(SliceMeta(self, dim, start, size, 1));
}

}  // namespace tensord::rules
