// Element types, their names, and PyTorch's type-promotion rules.
#ifndef TENSORD_KERNELS_CORE_DTYPE_H_
#define TENSORD_KERNELS_CORE_DTYPE_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace tensord {

enum class DType : uint8_t {
  kBool,
  kUInt8,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFloat16,
  kBFloat16,
  kFloat32,
  kFloat64,
};
inline constexpr int kNumDTypes = 10;

size_t ItemSize(DType dtype);
// "float32", "int64", ... (PyTorch's names without the "torch." prefix).
std::string_view DTypeName(DType dtype);
// Accepts the canonical names and PyTorch's aliases ("float", "long", "half").
std::optional<DType> ParseDType(std::string_view name);

inline bool IsFloating(DType d) {
  return d == DType::kFloat16 || d == DType::kBFloat16 ||
         d == DType::kFloat32 || d == DType::kFloat64;
}
inline bool IsIntegral(DType d, bool include_bool) {
  return !IsFloating(d) && (include_bool || d != DType::kBool);
}

// torch.promote_types.
DType PromoteTypes(DType a, DType b);
// Whether a value of `from` may be written into `to` in place
// (torch.can_cast: no float->int, no int/float->bool narrowing of category).
bool CanCast(DType from, DType to);

// IEEE half and bfloat16 storage types; arithmetic happens in float.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  Half(float f);  // NOLINT: implicit like c10::Half
  operator float() const;
};
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  BFloat16(float f) {  // NOLINT: round to nearest even, NaN stays NaN
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      bits = 0x7fc0;
    } else {
      bits = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
  }
  operator float() const {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

template <typename T> struct DTypeOf;
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kUInt8; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kInt8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::kInt16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<Half> { static constexpr DType value = DType::kFloat16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::kBFloat16; };
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kFloat64; };

// The type arithmetic on T happens in: float for the 16-bit floats.
template <typename T> struct OpMath { using type = T; };
template <> struct OpMath<Half> { using type = float; };
template <> struct OpMath<BFloat16> { using type = float; };
template <typename T> using opmath_t = typename OpMath<T>::type;

}  // namespace tensord

#endif  // TENSORD_KERNELS_CORE_DTYPE_H_
