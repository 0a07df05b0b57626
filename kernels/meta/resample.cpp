// Metadata rules of resample_along, interpolate's separable resampling of one
// dim through a [out, taps] table of source positions and weights, and of
// its backward.
#include "kernels/meta/rule_util.h"
#include "kernels/meta/torch_names.h"

namespace tensord {
namespace {

// index (int64) and weight (float64), both [out, taps]: returns out.
int64_t CheckTapTable(const OpSchema& op, const OpArgs& args, int index_pos) {
  const TensorMeta& index = args.tensor(index_pos);
  const TensorMeta& weight = args.tensor(index_pos + 1);
  TD_CHECK(index.dtype == DType::kInt64 && index.dim() == 2, kRuntime, "[", op.name,
           "] expected index to be an int64 matrix [out, taps], but got ", DTypeName(index.dtype), " of size ",
           ShapeStr(index.sizes));
  TD_CHECK(weight.dtype == DType::kFloat64 && weight.sizes == index.sizes, kRuntime, "[", op.name,
           "] expected weight to be float64 of index's size ", ShapeStr(index.sizes), ", but got ",
           DTypeName(weight.dtype), " of size ", ShapeStr(weight.sizes));
  return index.sizes[0];
}

void CheckFloating(const OpSchema& op, DType d) {
  TD_CHECK(IsFloating(d), kRuntime, "[", op.name, "] expected a floating tensor, but got ", TorchTypeName(d));
}

}  // namespace

namespace rules {

void resample_along(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  const TensorMeta& self = args.tensor(0);
  CheckFloating(op, self.dtype);
  TD_CHECK(self.dim() >= 1, kRuntime, "[", op.name, "] expected a tensor of at least 1 dim, but got a 0-d one");
  Shape sizes = self.sizes;
  sizes[WrapDim(args.get_int(1), self.dim())] = CheckTapTable(op, args, 2);
  outs.push_back(TensorMeta::Contiguous(self.dtype, dev, sizes));
}

// grad_output has self's sizes but `out` along dim; the result has self's.
void resample_along_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  const TensorMeta& grad = args.tensor(0);
  CheckFloating(op, grad.dtype);
  const auto& v = args.get_ints(1);
  const Shape self_sizes(v.begin(), v.end());
  CheckSizes(op, self_sizes);
  TD_CHECK(!self_sizes.empty(), kRuntime, "[", op.name, "] expected self_sizes of at least 1 dim");
  Shape want = self_sizes;
  want[WrapDim(args.get_int(2), static_cast<int64_t>(self_sizes.size()))] = CheckTapTable(op, args, 3);
  TD_CHECK(grad.sizes == want, kRuntime, "[", op.name, "] expected grad_output of size ", ShapeStr(want),
           ", but got ", ShapeStr(grad.sizes));
  outs.push_back(TensorMeta::Contiguous(grad.dtype, dev, self_sizes));
}

}  // namespace rules
}  // namespace tensord
