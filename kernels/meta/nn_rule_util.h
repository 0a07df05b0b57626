// Checks shared by the nn ops' rules (kernels/meta/nn.cpp) and kernels.
#ifndef TENSORD_KERNELS_META_NN_RULE_UTIL_H_
#define TENSORD_KERNELS_META_NN_RULE_UTIL_H_

#include <array>

#include "kernels/schema/op_schema.h"

namespace tensord {

// Argument i's tensor, or nullptr for None.
const TensorMeta* OptionalTensor(const OpArgs& args, int i);
// RuntimeError "[op] not implemented for 'Long'" unless d is floating.
void CheckFloatingInput(const OpSchema& op, DType d);
// ValueError unless reduction is 0 (none), 1 (mean) or 2 (sum).
void CheckReduction(const OpSchema& op, int64_t reduction);
// The int[] output_mask argument at position i as 3 flags.
std::array<bool, 3> OutputMask(const OpSchema& op, const OpArgs& args, int i);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_NN_RULE_UTIL_H_
