// One argument of an op record, as both the client and the daemon see it.
#ifndef TENSORD_KERNELS_CORE_VALUE_H_
#define TENSORD_KERNELS_CORE_VALUE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/core/tensor_meta.h"

namespace tensord {

struct Value {
  enum class Kind : uint8_t {
    kNone, kBool, kInt, kFloat, kStr, kInts, kFloats, kDType, kTensor,
    kTensors, kData, kDevice,
  };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;          // kInt; kTensor: index into OpArgs::metas
  double f = 0;
  DType dtype = DType::kFloat32;
  Device device;
  std::string s;          // kStr, kData (raw bytes)
  std::vector<int64_t> ints;  // kInts; kTensors: indices into OpArgs::metas
  std::vector<double> floats;

  static Value None() { return {}; }
  static Value Bool(bool v) { Value x; x.kind = Kind::kBool; x.b = v; return x; }
  static Value Int(int64_t v) { Value x; x.kind = Kind::kInt; x.i = v; return x; }
  static Value Float(double v) { Value x; x.kind = Kind::kFloat; x.f = v; return x; }
  static Value Str(std::string v) { Value x; x.kind = Kind::kStr; x.s = std::move(v); return x; }
  static Value Ints(std::vector<int64_t> v) { Value x; x.kind = Kind::kInts; x.ints = std::move(v); return x; }
  static Value Floats(std::vector<double> v) { Value x; x.kind = Kind::kFloats; x.floats = std::move(v); return x; }
  static Value OfDType(DType d) { Value x; x.kind = Kind::kDType; x.dtype = d; return x; }
  static Value OfDevice(Device d) { Value x; x.kind = Kind::kDevice; x.device = d; return x; }
  static Value Tensor(int64_t index) { Value x; x.kind = Kind::kTensor; x.i = index; return x; }
  static Value Tensors(std::vector<int64_t> idx) { Value x; x.kind = Kind::kTensors; x.ints = std::move(idx); return x; }
  static Value Data(std::string bytes) { Value x; x.kind = Kind::kData; x.s = std::move(bytes); return x; }

  bool is_none() const { return kind == Kind::kNone; }
  bool is_tensor() const { return kind == Kind::kTensor; }
  // A Python number in a Tensor|Scalar slot.
  bool is_scalar() const {
    return kind == Kind::kBool || kind == Kind::kInt || kind == Kind::kFloat;
  }
  double to_double() const {
    return kind == Kind::kFloat ? f : kind == Kind::kInt ? static_cast<double>(i) : (b ? 1.0 : 0.0);
  }
  int64_t to_int() const {
    return kind == Kind::kInt ? i : kind == Kind::kFloat ? static_cast<int64_t>(f) : (b ? 1 : 0);
  }
  // The dtype a Python number takes in type promotion: bool, int64, or the
  // default float dtype.
  DType scalar_dtype(DType default_float = DType::kFloat32) const {
    return kind == Kind::kBool ? DType::kBool : kind == Kind::kInt ? DType::kInt64 : default_float;
  }
};

const char* ValueKindName(Value::Kind kind);

// The positional arguments of one op, with the metadata of the tensors they
// name. Tensor values index `metas`.
struct OpArgs {
  std::vector<Value> values;
  std::vector<const TensorMeta*> metas;

  const TensorMeta& tensor(size_t arg) const { return *metas[values[arg].i]; }
  bool is_none(size_t arg) const { return values[arg].is_none(); }
  int64_t get_int(size_t arg) const { return values[arg].to_int(); }
  double get_float(size_t arg) const { return values[arg].to_double(); }
  bool get_bool(size_t arg) const { return values[arg].b; }
  const std::vector<int64_t>& get_ints(size_t arg) const { return values[arg].ints; }
};

}  // namespace tensord

#endif  // TENSORD_KERNELS_CORE_VALUE_H_
