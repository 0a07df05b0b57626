// Intra-op parallelism for CPU kernels: one process-wide pool of compute
// threads (sized by the daemon from config or OMP_NUM_THREADS). The caller
// runs a share of the work itself, so a pool of N threads uses N cores.
#ifndef TENSORD_KERNELS_CPU_PARALLEL_H_
#define TENSORD_KERNELS_CPU_PARALLEL_H_

#include <cstdint>
#include <functional>

namespace tensord {

// Sets the number of threads kernels may use (>= 1). Call before serving.
void SetComputeThreads(int n);
int ComputeThreads();

// Calls fn(begin, end) over disjoint chunks covering [0, n), in parallel
// when n >= 2 * grain. fn must not throw (check arguments before).
void ParallelFor(int64_t n, int64_t grain,
                 const std::function<void(int64_t, int64_t)>& fn);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CPU_PARALLEL_H_
