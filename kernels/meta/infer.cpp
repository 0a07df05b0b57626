#include "kernels/meta/infer.h"

#include "kernels/core/error.h"

namespace tensord {
namespace {

bool Accepts(ParamType t, Value::Kind k) {
  using K = Value::Kind;
  switch (t) {
    case ParamType::kTensor: return k == K::kTensor;
    case ParamType::kTensorOrScalar:
      return k == K::kTensor || k == K::kBool || k == K::kInt || k == K::kFloat;
    case ParamType::kTensorList: return k == K::kTensors;
    case ParamType::kScalar: return k == K::kBool || k == K::kInt || k == K::kFloat;
    case ParamType::kInt: return k == K::kInt;
    case ParamType::kFloat: return k == K::kFloat || k == K::kInt;
    case ParamType::kBool: return k == K::kBool;
    case ParamType::kStr: return k == K::kStr;
    case ParamType::kInts: return k == K::kInts;
    case ParamType::kFloats: return k == K::kFloats;
    case ParamType::kDType: return k == K::kDType;
    case ParamType::kDevice: return k == K::kDevice;
    case ParamType::kData: return k == K::kData;
  }
  return false;
}

}  // namespace

void ValidateArgs(const OpSchema& op, const OpArgs& args) {
  TD_CHECK(args.values.size() == op.params.size(), kType, "[", op.name, "] expected ",
           op.params.size(), " arguments (", op.signature, "), got ", args.values.size());
  for (size_t i = 0; i < op.params.size(); ++i) {
    const Param& p = op.params[i];
    const Value& v = args.values[i];
    if (v.is_none()) {
      TD_CHECK(p.optional, kType, "[", op.name, "] argument '", p.name, "' (",
               ParamTypeName(p.type), ") must not be None");
      continue;
    }
    TD_CHECK(Accepts(p.type, v.kind), kType, "[", op.name, "] argument '", p.name,
             "' must be ", ParamTypeName(p.type), ", not ", ValueKindName(v.kind));
    if (v.kind == Value::Kind::kTensor) {
      TD_ASSERT(v.i >= 0 && static_cast<size_t>(v.i) < args.metas.size());
    }
    if (v.kind == Value::Kind::kTensors) {
      for (int64_t idx : v.ints) TD_ASSERT(idx >= 0 && static_cast<size_t>(idx) < args.metas.size());
    }
  }
}

std::vector<TensorMeta> InferMeta(const OpSchema& op, const OpArgs& args) {
  ValidateArgs(op, args);
  std::vector<TensorMeta> outs;
  op.rule(op, args, outs);
  // Whatever a rule computed from its arguments, no result may have a
  // negative size or more bytes than fit in 62 bits: kernels size their
  // buffers from nbytes() and loop over numel(), and a product that wrapped
  // would make them write past the buffer.
  for (const TensorMeta& m : outs) {
    if (m.dynamic_shape) continue;
    for (int64_t s : m.sizes) {
      TD_CHECK(s >= 0, kRuntime, "[", op.name, "] result size ", ShapeStr(m.sizes),
               " has a negative dimension");
    }
    TD_CHECK(CheckedNbytes(m.sizes, m.dtype).has_value(), kRuntime, "[", op.name,
             "] Storage size calculation overflowed with sizes=", ShapeStr(m.sizes));
    TD_CHECK(m.sizes.size() == m.strides.size(), kInternal, "[", op.name, "] rule ", op.rule_name,
             " gave ", m.sizes.size(), " sizes and ", m.strides.size(), " strides");
  }
  if (op.returns == ReturnKind::kNew || op.returns == ReturnKind::kView ||
      op.returns == ReturnKind::kInPlace) {
    TD_ASSERT(static_cast<int>(outs.size()) == op.num_returns, "rule ", op.rule_name, " of ",
              op.name, " gave ", outs.size(), " results");
  }
  return outs;
}

}  // namespace tensord
