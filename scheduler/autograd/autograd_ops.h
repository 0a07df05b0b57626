// The autograd ops of the schema ([autograd] in ops.toml) as kernels.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_AUTOGRAD_OPS_H_
#define TENSORD_SCHEDULER_AUTOGRAD_AUTOGRAD_OPS_H_

namespace tensord::autograd {

// Registers them for every device; idempotent.
void RegisterAutogradKernels();

}  // namespace tensord::autograd

#endif  // TENSORD_SCHEDULER_AUTOGRAD_AUTOGRAD_OPS_H_
