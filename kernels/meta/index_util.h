// Advanced indexing layout shared by the index/index_put rules and kernels.
#ifndef TENSORD_KERNELS_META_INDEX_UTIL_H_
#define TENSORD_KERNELS_META_INDEX_UTIL_H_

#include <string_view>
#include <vector>

#include "kernels/core/tensor_meta.h"

namespace tensord {

// self[indices] with integer index tensors: index k selects along dim
// dims[k] (strictly increasing). The indices broadcast together to shape B;
// the result has B in place of the indexed dims when they are adjacent, else
// B first, then the other dims (PyTorch's rule).
struct IndexLayout {
  Shape result;                       // the result's sizes
  Shape self_strides;                 // self's strides over the result (0 on B)
  std::vector<Shape> index_strides;   // each index's strides over the result
};

// Throws IndexError/RuntimeError naming `op` for bad positions or shapes.
IndexLayout PlanIndex(std::string_view op, const TensorMeta& self,
                      const std::vector<const TensorMeta*>& indices,
                      const std::vector<int64_t>& dims);

// Whether an index tensor of this dtype is a mask (bool, or uint8 as in
// PyTorch's legacy byte masks).
inline bool IsMaskDType(DType d) { return d == DType::kBool || d == DType::kUInt8; }

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_INDEX_UTIL_H_
