// Helpers shared by the rules of reductions, scans and sorts.
#ifndef TENSORD_KERNELS_META_REDUCE_RULE_UTIL_H_
#define TENSORD_KERNELS_META_REDUCE_RULE_UTIL_H_

#include <string_view>
#include <vector>

#include "kernels/meta/rule_util.h"
#include "kernels/meta/torch_names.h"

namespace tensord {

// PyTorch 1.13's CPU kernels lack some dtypes (no float16 prod or cumsum, no
// bool topk, ...). Raises the error PyTorch raises for op computing in `d`,
// so programs fail here where they would fail under PyTorch.
void CheckKernelDType(const OpSchema& op, const OpArgs& args, DType d);

// The op's "dim" argument wrapped to self's dims (every dim when there is no
// such parameter or it is None/empty). A 0-d tensor accepts dim 0 and -1
// and gives no dims.
std::vector<int64_t> ReducedDims(const OpSchema& op, const OpArgs& args, const TensorMeta& self);

// Sizes of self with `dims` removed, or kept as 1 with keepdim.
Shape ReducedSizes(const TensorMeta& self, const std::vector<int64_t>& dims, bool keepdim);

// The op's "dim" argument (an int) wrapped to self's dims; 0 for 0-d tensors.
int64_t OneDim(const OpSchema& op, const OpArgs& args, const TensorMeta& self);

// The size of `dim` of self; 1 for 0-d tensors.
inline int64_t DimSize(const TensorMeta& self, int64_t dim) {
  return self.dim() == 0 ? 1 : self.sizes[dim];
}

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_REDUCE_RULE_UTIL_H_
