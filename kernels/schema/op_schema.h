// The op table, generated from kernels/schema/ops.toml by gen_ops.py.
//
// Each OpSchema says how to call an op (its parameters with defaults), which
// metadata rule gives its results' shape/dtype/strides, and which devices
// implement it. The daemon validates records against it; the client core
// uses the same table and rules to know results without a round trip.
#ifndef TENSORD_KERNELS_SCHEMA_OP_SCHEMA_H_
#define TENSORD_KERNELS_SCHEMA_OP_SCHEMA_H_

#include <string>
#include <string_view>
#include <vector>

#include "kernels/core/tensor_meta.h"
#include "kernels/core/value.h"

namespace tensord {

enum class ParamType : uint8_t {
  kTensor,          // Tensor
  kTensorOrScalar,  // Tensor|Scalar: a tensor or a Python number
  kTensorList,      // Tensor[]
  kScalar,          // Scalar: a Python number
  kInt,
  kFloat,
  kBool,
  kStr,
  kInts,            // int[]
  kFloats,          // float[]
  kDType,           // ScalarType
  kDevice,          // Device
  kData,            // bytes
};
const char* ParamTypeName(ParamType t);

struct Param {
  std::string name;
  ParamType type;
  bool optional = false;     // accepts None
  bool kwarg_only = false;
  bool has_default = false;
  Value default_value;
};

// What an op returns, and whether results alias an input.
enum class ReturnKind : uint8_t {
  kNone,      // nothing (e.g. manual_seed)
  kNew,       // fresh tensor(s)
  kView,      // Tensor(a): shares the storage of param alias_param
  kInPlace,   // Tensor(a!): param alias_param itself, modified
  kViewList,  // Tensor(a)[]: views of alias_param, count from the rule
  kList,      // Tensor[]: fresh tensors, count from the rule
};

// How an op's result dtype follows from its inputs (the rule applies it).
enum class DTypeRule : uint8_t {
  kPromote,       // torch.result_type of the tensor/scalar inputs
  kPromoteFloat,  // as kPromote, integral results become the default float
  kBool,          // always bool (comparisons, isnan)
  kInt64,         // always int64 (argmax, indices)
  kSame,          // the first tensor input's dtype
  kArg,           // the "dtype" argument (its default when None)
};

// How autograd treats an op's results.
enum class Autograd : uint8_t {
  kFormula,         // derivatives in ops.toml (grad_params says for which params)
  kNotImplemented,  // results require grad; backward raises "not implemented"
  kNotInTorch,      // as kNotImplemented, with torch's error for an op it cannot differentiate
  kNone,            // results never require grad (detach, integer-valued ops)
};

struct OpSchema;
// Computes the results' metadata or throws OpError. For kInPlace ops it
// checks the op may write into the aliased input and returns its metadata.
using MetaRule = void (*)(const OpSchema& op, const OpArgs& args,
                          std::vector<TensorMeta>& outs);

struct OpSchema {
  int index = 0;
  std::string name;        // "add", "add_", "view"
  std::string signature;   // as written in ops.toml
  std::vector<Param> params;
  ReturnKind returns = ReturnKind::kNew;
  int num_returns = 1;     // for fixed tuples; lists get theirs from the rule
  int alias_param = -1;    // for kView/kInPlace/kViewList
  DTypeRule dtype_rule = DTypeRule::kPromote;
  MetaRule rule = nullptr;
  std::string rule_name;
  bool cpu = true;         // devices that implement it
  bool cuda = false;
  std::string python;      // "function", "method", "both" or "" (internal)
  std::string doc;
  // A registered kernel reads attributes from here (a string the schema
  // gives, e.g. the elementwise function name); empty when unused.
  std::string variant;
  Autograd autograd = Autograd::kNotImplemented;
  uint64_t grad_params = 0;  // bit i: param i has a derivative formula
  std::string grad_name;     // "AddBackward0": the client's grad_fn name

  int param_index(std::string_view n) const;
};

// Whether a result of `op` requires grad: grad mode is on, some tensor input
// requires grad, the op is differentiable and the result is floating point.
// The daemon and the client apply this same rule.
inline bool ResultRequiresGrad(const OpSchema& op, bool grad_mode, bool any_input_requires_grad,
                               DType result) {
  return grad_mode && any_input_requires_grad && op.autograd != Autograd::kNone &&
         IsFloating(result);
}

const std::vector<OpSchema>& AllOps();
// nullptr when no op has that name.
const OpSchema* FindOp(std::string_view name);
// A hash of ops.toml: client and daemon built from one schema agree on it.
std::string_view OpSchemaVersion();

}  // namespace tensord

#endif  // TENSORD_KERNELS_SCHEMA_OP_SCHEMA_H_
