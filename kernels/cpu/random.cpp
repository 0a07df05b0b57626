// The session generator and random factories.
#include "kernels/kernel.h"

namespace tensord {
namespace {

void ManualSeedKernel(KernelContext& ctx) {
  ctx.generator->Seed(static_cast<uint64_t>(ctx.args.get_int(0)));
}

}  // namespace

void RegisterRandomKernels(KernelRegistry& r) {
  r.Register("manual_seed", Device::Kind::kCPU, &ManualSeedKernel);
}

}  // namespace tensord
