// Metadata rules of elementwise ops: broadcasting and type promotion.
#include "kernels/meta/rule_util.h"

namespace tensord::rules {

// Every Tensor / Tensor|Scalar parameter broadcasts; dtype per op.dtype_rule.
void binary(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Shape shape;
  bool any_tensor = false;
  for (size_t i = 0; i < op.params.size(); ++i) {
    ParamType t = op.params[i].type;
    if (t != ParamType::kTensor && t != ParamType::kTensorOrScalar) continue;
    if (!args.values[i].is_tensor()) continue;
    shape = any_tensor ? BroadcastShapes(op.name, shape, args.tensor(i).sizes) : args.tensor(i).sizes;
    any_tensor = true;
  }
  TD_CHECK(any_tensor, kType, "[", op.name, "] expected at least one tensor argument");
  DType d = ElementwiseResultType(op, args);
  outs.push_back(TensorMeta::Contiguous(d, CommonDevice(op, args), shape));
}

// In place: the other operands must broadcast to self's shape, and the
// promoted result must be castable to self's dtype.
void binary_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(op.alias_param);
  for (size_t i = 0; i < op.params.size(); ++i) {
    if (static_cast<int>(i) == op.alias_param || !args.values[i].is_tensor()) continue;
    Shape b = BroadcastShapes(op.name, self.sizes, args.tensor(i).sizes);
    TD_CHECK(b == self.sizes, kRuntime, "[", op.name, "] output with shape ", ShapeStr(self.sizes),
             " doesn't match the broadcast shape ", ShapeStr(b));
  }
  DType result = ElementwiseResultType(op, args);
  TD_CHECK(CanCast(result, self.dtype), kRuntime, "[", op.name, "] result type ",
           DTypeName(result), " can't be cast to the desired output type ", DTypeName(self.dtype));
  CommonDevice(op, args);
  outs.push_back(self);
}

// Same shape as the input; dtype per op.dtype_rule.
void unary(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  DType d = ApplyDTypeRule(op, args, self.dtype);
  outs.push_back(TensorMeta::Contiguous(d, self.device, self.sizes));
}

// In place with no other tensor operand (fill_, zero_, relu_, ...).
void unary_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(op.alias_param);
  DType result = ApplyDTypeRule(op, args, self.dtype);
  TD_CHECK(CanCast(result, self.dtype), kRuntime, "[", op.name, "] result type ",
           DTypeName(result), " can't be cast to the desired output type ", DTypeName(self.dtype));
  outs.push_back(self);
}

// copy_(self, src): src broadcasts to self; any dtype converts.
void copy_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const TensorMeta& src = args.tensor(1);
  Shape b = BroadcastShapes(op.name, self.sizes, src.sizes);
  TD_CHECK(b == self.sizes, kRuntime, "[", op.name, "] output with shape ", ShapeStr(self.sizes),
           " doesn't match the broadcast shape ", ShapeStr(b));
  outs.push_back(self);
}

// A converted contiguous copy.
void to_dtype(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  outs.push_back(TensorMeta::Contiguous(args.values[1].dtype, self.device, self.sizes));
}

// A contiguous copy on the device argument.
void to_device(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  outs.push_back(TensorMeta::Contiguous(self.dtype, args.values[1].device, self.sizes));
}

}  // namespace tensord::rules
