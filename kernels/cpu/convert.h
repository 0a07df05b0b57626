// Element conversion between the C++ types of dtypes, as PyTorch casts.
#ifndef TENSORD_KERNELS_CPU_CONVERT_H_
#define TENSORD_KERNELS_CPU_CONVERT_H_

#include <type_traits>

#include "kernels/core/dtype.h"

namespace tensord {

template <typename To, typename From>
inline To Convert(From v) {
  using M = opmath_t<From>;
  if constexpr (std::is_same_v<To, bool>) {
    return static_cast<M>(v) != M(0);
  } else if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BFloat16>) {
    return To(static_cast<float>(static_cast<M>(v)));
  } else {
    return static_cast<To>(static_cast<M>(v));
  }
}

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_CONVERT_H_
