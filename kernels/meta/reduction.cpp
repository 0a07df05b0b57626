// Metadata rules of reductions.
#include <algorithm>

#include "kernels/meta/rule_util.h"

namespace tensord::rules {

// (Tensor self, int[]? dim, bool keepdim, ..., ScalarType? dtype):
// reduced dims vanish, or stay as size 1 with keepdim. The result dtype:
//   promote        sum/prod: integral and bool inputs give int64
//   promote_float  mean-like: floating inputs only
//   same/bool/int64 as the schema says.
void reduce(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int dim_p = op.param_index("dim");
  const int keep_p = op.param_index("keepdim");
  const bool keepdim = keep_p >= 0 && args.get_bool(keep_p);
  std::vector<int64_t> dims;
  if (dim_p >= 0) {
    dims = ReduceDims(op, args, dim_p, self.dim());
  } else {
    for (int64_t d = 0; d < self.dim(); ++d) dims.push_back(d);
  }
  Shape out_sizes;
  for (int64_t d = 0; d < self.dim(); ++d) {
    const bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced) {
      out_sizes.push_back(self.sizes[d]);
    } else if (keepdim) {
      out_sizes.push_back(1);
    }
  }
  const int dtype_p = op.param_index("dtype");
  const bool dtype_given = dtype_p >= 0 && args.values[dtype_p].kind == Value::Kind::kDType;
  DType d = self.dtype;
  if (dtype_given) {
    d = args.values[dtype_p].dtype;
  } else if (op.dtype_rule == DTypeRule::kPromote) {
    d = IsIntegral(self.dtype, true) ? DType::kInt64 : self.dtype;
  } else if (op.dtype_rule == DTypeRule::kPromoteFloat) {
    TD_CHECK(IsFloating(self.dtype), kRuntime, "[", op.name,
             "] could not infer output dtype. Input dtype must be either a floating point or "
             "complex dtype. Got: ", DTypeName(self.dtype));
  } else {
    d = ApplyDTypeRule(op, args, self.dtype);
  }
  outs.push_back(TensorMeta::Contiguous(d, self.device, out_sizes));
}

}  // namespace tensord::rules
