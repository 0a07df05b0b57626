// Helpers shared by the convolution and pooling kernels.
#ifndef TENSORD_KERNELS_CPU_NN_UTIL_H_
#define TENSORD_KERNELS_CPU_NN_UTIL_H_

#include "kernels/kernel.h"

namespace tensord {

// A contiguous tensor with t's values (t itself when already contiguous).
Tensor ContiguousOf(const KernelContext& ctx, const Tensor& t);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_NN_UTIL_H_
