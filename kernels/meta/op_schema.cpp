#include "kernels/schema/op_schema.h"

namespace tensord {

int OpSchema::param_index(std::string_view n) const {
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].name == n) return static_cast<int>(i);
  }
  return -1;
}

const char* ParamTypeName(ParamType t) {
  static constexpr const char* kNames[] = {
      "Tensor", "Tensor|Scalar", "Tensor[]", "Scalar", "int", "float", "bool",
      "str", "int[]", "float[]", "ScalarType", "Device", "bytes"};
  return kNames[static_cast<int>(t)];
}

const char* ValueKindName(Value::Kind kind) {
  static constexpr const char* kNames[] = {
      "None", "bool", "int", "float", "str", "int[]", "float[]", "dtype",
      "Tensor", "Tensor[]", "bytes", "device"};
  return kNames[static_cast<int>(kind)];
}

}  // namespace tensord
