// Metadata rules of the elementwise ops that add a check or a dtype twist to
// the plain broadcasting rules of elementwise.cpp: square, where, lerp,
// clamp, isclose.
#include "kernels/meta/rule_util.h"

namespace tensord::rules {

void binary(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs);
void binary_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs);

namespace {

// square is pow(self, 2): a bool tensor promotes with the int 2 to int64.
DType SquareType(DType self) { return self == DType::kBool ? DType::kInt64 : self; }

// lerp needs one dtype for self, end and a tensor weight.
void CheckLerpDTypes(const OpSchema& op, const OpArgs& args) {
  const DType self = args.tensor(0).dtype;
  TD_CHECK(args.tensor(1).dtype == self, kRuntime, "[", op.name, "] expected dtype ",
           DTypeName(self), " for `end` but got dtype ", DTypeName(args.tensor(1).dtype));
  if (args.values[2].is_tensor()) {
    TD_CHECK(args.tensor(2).dtype == self, kRuntime, "[", op.name, "] expected dtype ",
             DTypeName(self), " for `weight` but got dtype ", DTypeName(args.tensor(2).dtype));
  }
}

// clamp needs a bound, and takes both bounds as numbers or both as tensors.
void CheckClampBounds(const OpSchema& op, const OpArgs& args) {
  const Value& lo = args.values[1];
  const Value& hi = args.values[2];
  TD_CHECK(!lo.is_none() || !hi.is_none(), kRuntime, "[", op.name,
           "] torch.clamp: At least one of 'min' or 'max' must not be None");
  TD_CHECK(lo.is_none() || hi.is_none() || lo.is_tensor() == hi.is_tensor(), kType, "[",
           op.name, "] received an invalid combination of arguments: min and max must both be "
           "numbers or both be tensors");
}

}  // namespace

void square(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  (void)op;
  const TensorMeta& self = args.tensor(0);
  outs.push_back(TensorMeta::Contiguous(SquareType(self.dtype), self.device, self.sizes));
}

void square_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const DType result = SquareType(self.dtype);
  TD_CHECK(CanCast(result, self.dtype), kRuntime, "[", op.name, "] result type ",
           DTypeName(result), " can't be cast to the desired output type ", DTypeName(self.dtype));
  outs.push_back(self);
}

// where(condition, self, other): all three broadcast; the dtype promotes
// self and other only.
void where(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const DType cond = args.tensor(0).dtype;
  TD_CHECK(cond == DType::kBool || cond == DType::kUInt8, kRuntime, "[", op.name,
           "] where expected condition to be a boolean tensor, but got a tensor with dtype ",
           DTypeName(cond));
  binary(op, args, outs);
  const int operands[] = {1, 2};
  outs.back().dtype = ResultType(args, operands);
}

void lerp(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  CheckLerpDTypes(op, args);
  binary(op, args, outs);
}

void lerp_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  CheckLerpDTypes(op, args);
  binary_inplace(op, args, outs);
}

void clamp(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  CheckClampBounds(op, args);
  binary(op, args, outs);
}

void clamp_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  CheckClampBounds(op, args);
  binary_inplace(op, args, outs);
}

// isclose(self, other, rtol, atol, equal_nan): one dtype, non-negative
// tolerances, a bool result of the broadcast shape.
void isclose(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const DType a = args.tensor(0).dtype;
  const DType b = args.tensor(1).dtype;
  TD_CHECK(a == b, kRuntime, "[", op.name, "] ", DTypeName(a), " did not match ", DTypeName(b));
  const double rtol = args.get_float(2);
  const double atol = args.get_float(3);
  TD_CHECK(rtol >= 0, kRuntime, "[", op.name,
           "] rtol must be greater than or equal to zero, but got ", rtol);
  TD_CHECK(atol >= 0, kRuntime, "[", op.name,
           "] atol must be greater than or equal to zero, but got ", atol);
  binary(op, args, outs);
}

}  // namespace tensord::rules
