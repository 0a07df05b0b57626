// Helpers shared by the metadata rules (kernels/meta/*.cpp). A rule reads
// its op's arguments by position (the schema's order) and appends one
// TensorMeta per result to `outs`.
#ifndef TENSORD_KERNELS_META_RULE_UTIL_H_
#define TENSORD_KERNELS_META_RULE_UTIL_H_

#include <span>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/schema/op_schema.h"

namespace tensord {

// torch.result_type over the given argument positions (tensors, Python
// numbers, None skipped): dimensioned tensors outrank 0-d tensors, which
// outrank Python numbers, unless a lower group has a higher category.
DType ResultType(const OpArgs& args, std::span<const int> positions);
// ResultType over every Tensor / Tensor|Scalar / Tensor[] parameter.
DType ResultTypeOfInputs(const OpSchema& op, const OpArgs& args);
// The result dtype of an elementwise op: op.dtype_rule over the promoted
// inputs, except that div with a rounding_mode keeps the promoted dtype.
DType ElementwiseResultType(const OpSchema& op, const OpArgs& args);
// Applies op.dtype_rule given the promoted input dtype.
DType ApplyDTypeRule(const OpSchema& op, const OpArgs& args, DType promoted);
// The first tensor argument's device (cpu when none); RuntimeError when
// tensor arguments live on different devices.
Device CommonDevice(const OpSchema& op, const OpArgs& args);
// Sizes of a Tensor|Scalar argument (a Python number is 0-d).
Shape ArgSizes(const OpArgs& args, int position);
// Dims of an int[]? argument, wrapped and checked for repeats; all dims when
// the argument is None or empty.
std::vector<int64_t> ReduceDims(const OpSchema& op, const OpArgs& args,
                                int position, int64_t ndim);
// The "device" argument (cpu when absent or None) and the "dtype" argument
// (`fallback` when absent or None) of factories.
Device DeviceArg(const OpSchema& op, const OpArgs& args);
DType DTypeArg(const OpSchema& op, const OpArgs& args, DType fallback);
// Checks a size list: no negative sizes except -1 where allowed.
void CheckSizes(const OpSchema& op, const Shape& sizes);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_RULE_UTIL_H_
