// PyTorch's names for dtypes as its error messages spell them.
#ifndef TENSORD_KERNELS_META_TORCH_NAMES_H_
#define TENSORD_KERNELS_META_TORCH_NAMES_H_

#include <string>

#include "kernels/core/tensor_meta.h"

namespace tensord {

// c10::ScalarType names: "Float", "Long", "Half", "BFloat16", ...
inline const char* TorchTypeName(DType d) {
  switch (d) {
    case DType::kBool: return "Bool";
    case DType::kUInt8: return "Byte";
    case DType::kInt8: return "Char";
    case DType::kInt16: return "Short";
    case DType::kInt32: return "Int";
    case DType::kInt64: return "Long";
    case DType::kFloat16: return "Half";
    case DType::kBFloat16: return "BFloat16";
    case DType::kFloat32: return "Float";
    case DType::kFloat64: return "Double";
  }
  return "?";
}

// The C++ type ATen names in its conversion messages ("value cannot be
// converted to type int64_t without overflow").
inline const char* TorchCTypeName(DType d) {
  switch (d) {
    case DType::kBool: return "bool";
    case DType::kUInt8: return "uint8_t";
    case DType::kInt8: return "int8_t";
    case DType::kInt16: return "int16_t";
    case DType::kInt32: return "int";
    case DType::kInt64: return "int64_t";
    case DType::kFloat16: return "at::Half";
    case DType::kBFloat16: return "c10::BFloat16";
    case DType::kFloat32: return "float";
    case DType::kFloat64: return "double";
  }
  return "?";
}

// Throws ATen's expand error unless `from` broadcasts to exactly `to`.
void CheckExpandable(std::string_view op, const Shape& from, const Shape& to);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_TORCH_NAMES_H_
