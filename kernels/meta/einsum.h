// Parsing torch.einsum equations, shared by the metadata rule and the kernel.
#ifndef TENSORD_KERNELS_META_EINSUM_H_
#define TENSORD_KERNELS_META_EINSUM_H_

#include <string_view>
#include <vector>

#include "kernels/core/tensor_meta.h"

namespace tensord {

// Labels are small ints: 'A'-'Z' are 0-25 and 'a'-'z' 26-51 (torch's order
// for the implicit output), the dims an ellipsis covers 52 and up.
struct EinsumSpec {
  std::vector<std::vector<int>> inputs;  // the label of each dim of each operand
  std::vector<int> output;               // the label of each output dim
  std::vector<int64_t> label_size;       // broadcast size per label (-1: unused)

  Shape OutputSizes() const;
  // Whether some label is summed over (not in the output).
  bool Contracts() const;
};

// Parses `equation` for operands of `shapes`, with torch's checks and
// messages (RuntimeError "[einsum] einsum(): ...").
EinsumSpec ParseEinsum(std::string_view equation, const std::vector<Shape>& shapes);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_EINSUM_H_
