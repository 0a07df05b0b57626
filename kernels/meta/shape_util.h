// Shape arithmetic shared by view rules and kernels.
#ifndef TENSORD_KERNELS_META_SHAPE_UTIL_H_
#define TENSORD_KERNELS_META_SHAPE_UTIL_H_

#include <optional>
#include <string_view>

#include "kernels/core/tensor_meta.h"

namespace tensord {

// Resolves one -1 in `requested` so the result has `numel` elements.
Shape InferSize(std::string_view op, const Shape& requested, int64_t numel);
// Strides that view (old_sizes, old_strides) as new_sizes without copying,
// or nullopt when no such strides exist.
std::optional<Shape> ViewStrides(const Shape& old_sizes, const Shape& old_strides,
                                 const Shape& new_sizes);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_SHAPE_UTIL_H_
