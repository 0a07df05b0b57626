#include "kernels/core/dtype.h"

#include <cmath>

namespace tensord {

size_t ItemSize(DType dtype) {
  static constexpr size_t kSizes[kNumDTypes] = {1, 1, 1, 2, 4, 8, 2, 2, 4, 8};
  return kSizes[static_cast<int>(dtype)];
}

std::string_view DTypeName(DType dtype) {
  static constexpr std::string_view kNames[kNumDTypes] = {
      "bool",    "uint8",    "int8",    "int16",   "int32",
      "int64",   "float16",  "bfloat16", "float32", "float64"};
  return kNames[static_cast<int>(dtype)];
}

std::optional<DType> ParseDType(std::string_view name) {
  if (name.starts_with("torch.")) name.remove_prefix(6);
  for (int i = 0; i < kNumDTypes; ++i) {
    if (DTypeName(static_cast<DType>(i)) == name) return static_cast<DType>(i);
  }
  if (name == "float") return DType::kFloat32;
  if (name == "double") return DType::kFloat64;
  if (name == "half") return DType::kFloat16;
  if (name == "long") return DType::kInt64;
  if (name == "int") return DType::kInt32;
  if (name == "short") return DType::kInt16;
  return std::nullopt;
}

DType PromoteTypes(DType a, DType b) {
  if (a == b) return a;
  auto lo = static_cast<int>(a) < static_cast<int>(b) ? a : b;
  auto hi = static_cast<int>(a) < static_cast<int>(b) ? b : a;
  // The enum is ordered so that the larger one wins, except for two pairs
  // that have no common type of either width.
  if (lo == DType::kUInt8 && hi == DType::kInt8) return DType::kInt16;
  if (lo == DType::kFloat16 && hi == DType::kBFloat16) return DType::kFloat32;
  return hi;
}

bool CanCast(DType from, DType to) {
  if (IsFloating(from) && IsIntegral(to, true)) return false;
  if (from != DType::kBool && to == DType::kBool) return false;
  return true;
}

Half::Half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) {  // NaN
    bits = static_cast<uint16_t>(sign | 0x7e00u);
    return;
  }
  if (abs >= 0x477ff000u) {  // rounds to >= 65520: infinity
    bits = static_cast<uint16_t>(sign | 0x7c00u);
    return;
  }
  if (abs < 0x38800000u) {  // subnormal half (or zero)
    float af;
    std::memcpy(&af, &abs, 4);
    // Scale so that the subnormal step (2^-24) becomes 1, round to even.
    float scaled = af * 16777216.0f;
    bits = static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
    return;
  }
  uint32_t mant = abs & 0x7fffffu;
  uint32_t exp = (abs >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  bits = static_cast<uint16_t>(sign | h);
}

Half::operator float() const {
  const uint32_t sign = (static_cast<uint32_t>(bits) & 0x8000u) << 16;
  uint32_t exp = (bits >> 10) & 0x1fu;
  uint32_t mant = bits & 0x3ffu;
  uint32_t out;
  if (exp == 0) {
    if (mant == 0) {
      out = sign;
    } else {  // subnormal: value = mant * 2^-24
      float f = static_cast<float>(mant) * 5.9604644775390625e-8f;
      std::memcpy(&out, &f, 4);
      out |= sign;
    }
  } else if (exp == 31) {
    out = sign | 0x7f800000u | (mant << 13);
  } else {
    out = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

}  // namespace tensord
