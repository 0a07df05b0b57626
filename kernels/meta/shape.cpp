// Metadata rules of views and shape ops. View results keep the input's
// storage: their strides and offset index into it.
#include <algorithm>

#include "kernels/meta/shape_util.h"
#include "kernels/meta/rule_util.h"

namespace tensord {

Shape InferSize(std::string_view op, const Shape& requested, int64_t numel) {
  Shape out = requested;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      TD_CHECK(infer < 0, kRuntime, "[", op, "] only one dimension can be inferred");
      infer = static_cast<int>(i);
    } else {
      TD_CHECK(out[i] >= 0, kRuntime, "[", op, "] invalid shape dimension ", out[i]);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    TD_CHECK(known != 0, kRuntime, "[", op, "] cannot reshape tensor of ", numel,
             " elements into shape ", ShapeStr(requested),
             " because the unspecified dimension size -1 can be any value and is ambiguous");
    TD_CHECK(numel % known == 0, kRuntime, "[", op, "] shape '", ShapeStr(requested),
             "' is invalid for input of size ", numel);
    out[infer] = numel / known;
  }
  TD_CHECK(Numel(out) == numel, kRuntime, "[", op, "] shape '", ShapeStr(requested),
           "' is invalid for input of size ", numel);
  return out;
}

std::optional<Shape> ViewStrides(const Shape& old_sizes, const Shape& old_strides,
                                 const Shape& new_sizes) {
  // ATen's computeStride: walk old dims in chunks that are contiguous among
  // themselves and match them against runs of new dims with equal numel.
  if (old_sizes.empty()) return Shape(new_sizes.size(), 1);
  const int64_t numel = Numel(old_sizes);
  if (numel == 0) {
    if (old_sizes == new_sizes) return old_strides;
    return ContiguousStrides(new_sizes);
  }
  Shape new_strides(new_sizes.size(), 0);
  int64_t view_d = static_cast<int64_t>(new_sizes.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t tensor_d = static_cast<int64_t>(old_sizes.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_sizes[tensor_d];
    if (tensor_d == 0 ||
        (old_sizes[tensor_d - 1] != 1 &&
         old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
        new_strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_sizes[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[tensor_d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

TensorMeta ViewOrCopy(const TensorMeta& self, Shape sizes) {
  if (auto strides = ViewStrides(self.sizes, self.strides, sizes)) {
    TensorMeta m = self;
    m.sizes = std::move(sizes);
    m.strides = std::move(*strides);
    return m;
  }
  return TensorMeta::Contiguous(self.dtype, self.device, std::move(sizes));
}

namespace rules {

void view(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  Shape sizes = InferSize(op.name, args.get_ints(1), self.numel());
  auto strides = ViewStrides(self.sizes, self.strides, sizes);
  TD_CHECK(strides.has_value(), kRuntime, "[view] view size is not compatible with input "
           "tensor's size and stride (at least one dimension spans across two contiguous "
           "subspaces). Use .reshape(...) instead.");
  TensorMeta m = self;
  m.sizes = std::move(sizes);
  m.strides = std::move(*strides);
  outs.push_back(std::move(m));
}

// A view when the strides allow it (the kernel decides the same way), else
// a contiguous copy.
void reshape(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  outs.push_back(ViewOrCopy(self, InferSize(op.name, args.get_ints(1), self.numel())));
}

void contiguous(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, self.sizes));
}

void repeat(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const Shape& reps = args.get_ints(1);
  TD_CHECK(static_cast<int64_t>(reps.size()) >= self.dim(), kRuntime, "[", op.name,
           "] Number of dimensions of repeat dims can not be smaller than number of dimensions "
           "of tensor");
  Shape sizes = reps;
  const size_t lead = reps.size() - self.sizes.size();
  for (size_t i = 0; i < self.sizes.size(); ++i) sizes[lead + i] *= self.sizes[i];
  for (int64_t r : reps) {
    TD_CHECK(r >= 0, kRuntime, "[", op.name, "] Trying to create tensor with negative dimension ",
             r, ": ", ShapeStr(reps));
  }
  CheckSizes(op, sizes);
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, sizes));
}

// repeat_interleave: with a tensor of repeats the size depends on its values
// (unless output_size is given); dim None repeats the flattened input.
void repeat_interleave(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const bool flat = args.is_none(2);
  const int64_t dim = flat ? 0 : WrapDim(args.get_int(2), self.dim());
  const int64_t size = flat ? self.numel() : (self.dim() ? self.sizes[dim] : 1);
  Shape sizes = flat ? Shape{size} : self.sizes;
  if (sizes.empty()) sizes = {1};
  bool dynamic = false;
  if (args.values[1].is_tensor()) {
    const TensorMeta& r = args.tensor(1);
    TD_CHECK(r.dim() <= 1, kRuntime, "[", op.name, "] repeats must be 0-dim or 1-dim tensor");
    TD_CHECK(r.dtype == DType::kInt64 || r.dtype == DType::kInt32, kRuntime, "[", op.name,
             "] \"repeat_interleave_cpu\" not implemented for '", DTypeName(r.dtype), "'");
    TD_CHECK(r.numel() == 1 || r.numel() == size, kRuntime, "[", op.name,
             "] repeats must have the same size as input along dim, but got repeats.size(0) = ",
             r.numel(), " and input.size(", dim, ") = ", size);
    if (args.is_none(3)) {
      dynamic = true;
    } else {
      sizes[dim] = args.get_int(3);
    }
  } else {
    const int64_t r = args.values[1].to_int();
    TD_CHECK(r >= 0, kRuntime, "[", op.name, "] repeats can not be negative");
    sizes[dim] = size * r;
  }
  TensorMeta m = TensorMeta::Contiguous(self.dtype, self.device, sizes);
  m.dynamic_shape = dynamic;
  outs.push_back(std::move(m));
}

void flip(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  std::vector<int64_t> seen;
  for (int64_t d : args.get_ints(1)) {
    const int64_t w = WrapDim(d, self.dim());
    TD_CHECK(std::find(seen.begin(), seen.end(), w) == seen.end(), kRuntime, "[", op.name,
             "] dim ", w, " appears multiple times in the list of dims");
    seen.push_back(w);
  }
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, self.sizes));
}

void roll(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const auto& shifts = args.get_ints(1);
  const auto& dims = args.get_ints(2);
  TD_CHECK(!shifts.empty(), kRuntime, "[", op.name, "] `shifts` required");
  if (dims.empty()) {
    TD_CHECK(shifts.size() == 1, kRuntime, "[", op.name, "] shifts and dimensions must align. "
             "shifts: ", shifts.size(), ", dims:", dims.size());
  } else {
    TD_CHECK(shifts.size() == dims.size(), kRuntime, "[", op.name,
             "] shifts and dimensions must align. shifts: ", shifts.size(), ", dims:", dims.size());
    for (int64_t d : dims) WrapDim(d, self.dim());
  }
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, self.sizes));
}

// tril/triu and their in-place forms.
void tril(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  WrapDim(-2, self.dim());  // IndexError for 0-d/1-d, as PyTorch
  TD_CHECK(self.dim() >= 2, kRuntime, "[", op.name, "] ", op.variant,
           ": input tensor must have at least 2 dimensions");
  if (op.returns == ReturnKind::kInPlace) {
    outs.push_back(self);
  } else {
    outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, self.sizes));
  }
}

void diag(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t k = args.get_int(1);
  Shape sizes;
  if (self.dim() == 1) {
    const int64_t n = self.sizes[0] + (k >= 0 ? k : -k);
    sizes = {n, n};
  } else {
    TD_CHECK(self.dim() == 2, kRuntime, "[", op.name, "] matrix or a vector expected");
    const int64_t n = k >= 0 ? std::min(self.sizes[0], self.sizes[1] - k)
                             : std::min(self.sizes[0] + k, self.sizes[1]);
    sizes = {std::max<int64_t>(n, 0)};
  }
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, sizes));
}

}  // namespace rules
}  // namespace tensord
