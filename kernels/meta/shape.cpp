// Metadata rules of views and shape ops. View results keep the input's
// storage: their strides and offset index into it.
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
  Shape sizes = InferSize(op.name, args.get_ints(1), self.numel());
  if (auto strides = ViewStrides(self.sizes, self.strides, sizes)) {
    TensorMeta m = self;
    m.sizes = std::move(sizes);
    m.strides = std::move(*strides);
    outs.push_back(std::move(m));
  } else {
    outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, sizes));
  }
}

void contiguous(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, self.sizes));
}

}  // namespace rules
}  // namespace tensord
