// The fused optimizer ops of the schema ([optim] in ops.toml) as kernels.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_OPTIM_OPS_H_
#define TENSORD_SCHEDULER_AUTOGRAD_OPTIM_OPS_H_

namespace tensord::autograd {

// Registers them (their CPU kernels serve every device: they run daemon ops).
void RegisterOptimKernels();

}  // namespace tensord::autograd

#endif  // TENSORD_SCHEDULER_AUTOGRAD_OPTIM_OPS_H_
