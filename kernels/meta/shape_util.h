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

// View metadata shared by view rules and kernels (dims already wrapped;
// SliceMeta clamps start/end like Python and needs step > 0).
TensorMeta SelectMeta(const TensorMeta& self, int64_t dim, int64_t index);
TensorMeta SliceMeta(const TensorMeta& self, int64_t dim, int64_t start, int64_t end,
                     int64_t step);
TensorMeta PermuteMeta(const TensorMeta& self, const std::vector<int64_t>& order);

// self seen with `sizes`: a view when its strides allow one (the daemon
// then aliases self's storage), else a contiguous result (a copy).
TensorMeta ViewOrCopy(const TensorMeta& self, Shape sizes);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_SHAPE_UTIL_H_
