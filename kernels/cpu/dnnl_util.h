// oneDNN on the CPU: the engine every float32 oneDNN path shares, a cache of
// primitives keyed by shapes, and the float32 pooling/normalisation paths
// (dnnl_nn.cpp) that the loop kernels of pool.cpp and nn_norm.cpp try first.
// Each Dnnl* function returns false, having written nothing, when oneDNN does
// not take the case (another dtype, an empty tensor, a refused geometry).
#ifndef TENSORD_KERNELS_CPU_DNNL_UTIL_H_
#define TENSORD_KERNELS_CPU_DNNL_UTIL_H_

#include <dnnl.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/meta/conv_geometry.h"

namespace tensord {

dnnl::engine& DnnlEngine();

// False when the daemon was started with TENSORD_ONEDNN_NN=0: pooling and
// normalisation then keep their loops (for comparisons and benchmarks).
bool DnnlNnEnabled();

// A built primitive with the descriptors its arguments use and the size of
// the scratchpad it wants (scratchpad_mode::user: each call brings its own,
// so one primitive may run on several threads at once).
// When `relayout`, its data argument has the layout descs[0] and the
// reorders to_inner / from_inner convert from / to the plain layout `plain`.
struct DnnlPrim {
  dnnl::primitive prim;
  std::vector<dnnl::memory::desc> descs;
  size_t scratch_bytes = 0;
  bool relayout = false;
  dnnl::memory::desc plain;
  dnnl::reorder to_inner, from_inner;
};

// The primitive cached under `key` (its first element names the kind), built
// by `build` on a miss; null when oneDNN refuses to build it (remembered).
std::shared_ptr<const DnnlPrim> DnnlCached(const std::vector<int64_t>& key,
                                           const std::function<DnnlPrim()>& build);

// Executes p with `args` plus a scratchpad, and waits.
void DnnlExecute(const DnnlPrim& p, std::unordered_map<int, dnnl::memory> args);

// How many pooling / normalisation calls oneDNN ran (tests read them through
// the daemon's ONEDNN_VERBOSE log; kept for C++ tests).
std::atomic<int64_t>& DnnlNnCalls();

bool DnnlAvgPool2d(KernelContext& ctx, const Pool2dGeometry& g, bool count_pad, bool backward);
bool DnnlBatchNorm(KernelContext& ctx);
bool DnnlBatchNormBackward(KernelContext& ctx);
bool DnnlLayerNorm(KernelContext& ctx);
bool DnnlLayerNormBackward(KernelContext& ctx);
bool DnnlGroupNorm(KernelContext& ctx);
bool DnnlGroupNormBackward(KernelContext& ctx);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_DNNL_UTIL_H_
