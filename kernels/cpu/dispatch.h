// Dtype dispatch: calls f.template operator()<T>() for the C++ type of a
// dtype, or fails with "[op] not implemented for 'dtype'".
#ifndef TENSORD_KERNELS_CPU_DISPATCH_H_
#define TENSORD_KERNELS_CPU_DISPATCH_H_

#include <string_view>

#include "kernels/core/dtype.h"
#include "kernels/core/error.h"

namespace tensord {

[[noreturn]] inline void NotImplementedFor(std::string_view op, DType d) {
  Fail(ErrorKind::kRuntime, "[", op, "] not implemented for '", DTypeName(d), "'");
}

template <typename F>
decltype(auto) DispatchAll(DType d, std::string_view op, F&& f) {
  switch (d) {
    case DType::kBool: return f.template operator()<bool>();
    case DType::kUInt8: return f.template operator()<uint8_t>();
    case DType::kInt8: return f.template operator()<int8_t>();
    case DType::kInt16: return f.template operator()<int16_t>();
    case DType::kInt32: return f.template operator()<int32_t>();
    case DType::kInt64: return f.template operator()<int64_t>();
    case DType::kFloat16: return f.template operator()<Half>();
    case DType::kBFloat16: return f.template operator()<BFloat16>();
    case DType::kFloat32: return f.template operator()<float>();
    case DType::kFloat64: return f.template operator()<double>();
  }
  NotImplementedFor(op, d);
}

// Every dtype but bool.
template <typename F>
decltype(auto) DispatchNumeric(DType d, std::string_view op, F&& f) {
  switch (d) {
    case DType::kUInt8: return f.template operator()<uint8_t>();
    case DType::kInt8: return f.template operator()<int8_t>();
    case DType::kInt16: return f.template operator()<int16_t>();
    case DType::kInt32: return f.template operator()<int32_t>();
    case DType::kInt64: return f.template operator()<int64_t>();
    case DType::kFloat16: return f.template operator()<Half>();
    case DType::kBFloat16: return f.template operator()<BFloat16>();
    case DType::kFloat32: return f.template operator()<float>();
    case DType::kFloat64: return f.template operator()<double>();
    default: NotImplementedFor(op, d);
  }
}

template <typename F>
decltype(auto) DispatchFloating(DType d, std::string_view op, F&& f) {
  switch (d) {
    case DType::kFloat16: return f.template operator()<Half>();
    case DType::kBFloat16: return f.template operator()<BFloat16>();
    case DType::kFloat32: return f.template operator()<float>();
    case DType::kFloat64: return f.template operator()<double>();
    default: NotImplementedFor(op, d);
  }
}

template <typename F>
decltype(auto) DispatchIntegral(DType d, std::string_view op, F&& f) {
  switch (d) {
    case DType::kBool: return f.template operator()<bool>();
    case DType::kUInt8: return f.template operator()<uint8_t>();
    case DType::kInt8: return f.template operator()<int8_t>();
    case DType::kInt16: return f.template operator()<int16_t>();
    case DType::kInt32: return f.template operator()<int32_t>();
    case DType::kInt64: return f.template operator()<int64_t>();
    default: NotImplementedFor(op, d);
  }
}

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_DISPATCH_H_
