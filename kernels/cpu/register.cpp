// The list of CPU kernel families. A family file defines one Register*
// function (static registrars would be dropped by the linker from a static
// library); a new family adds itself here.
#include <mutex>

#include "kernels/kernel.h"

namespace tensord {

void RegisterBinaryKernels(KernelRegistry& r);
void RegisterCompareKernels(KernelRegistry& r);
void RegisterConvKernels(KernelRegistry& r);
void RegisterCopyKernels(KernelRegistry& r);
void RegisterCreationKernels(KernelRegistry& r);
void RegisterIndexKernels(KernelRegistry& r);
void RegisterJoinKernels(KernelRegistry& r);
void RegisterLinalgKernels(KernelRegistry& r);
void RegisterMatmulKernels(KernelRegistry& r);
void RegisterNnActivationKernels(KernelRegistry& r);
void RegisterNnLossKernels(KernelRegistry& r);
void RegisterNnNormKernels(KernelRegistry& r);
void RegisterPointwiseKernels(KernelRegistry& r);
void RegisterRandomKernels(KernelRegistry& r);
void RegisterReduceKernels(KernelRegistry& r);
void RegisterScanKernels(KernelRegistry& r);
void RegisterShapeKernels(KernelRegistry& r);
void RegisterSortKernels(KernelRegistry& r);
void RegisterUnaryKernels(KernelRegistry& r);

void RegisterCpuKernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    KernelRegistry& r = KernelRegistry::Get();
    RegisterBinaryKernels(r);
    RegisterCompareKernels(r);
    RegisterConvKernels(r);
    RegisterCopyKernels(r);
    RegisterCreationKernels(r);
    RegisterIndexKernels(r);
    RegisterJoinKernels(r);
    RegisterLinalgKernels(r);
    RegisterMatmulKernels(r);
    RegisterNnActivationKernels(r);
    RegisterNnLossKernels(r);
    RegisterNnNormKernels(r);
    RegisterPointwiseKernels(r);
    RegisterRandomKernels(r);
    RegisterReduceKernels(r);
    RegisterScanKernels(r);
    RegisterShapeKernels(r);
    RegisterSortKernels(r);
    RegisterUnaryKernels(r);
  });
}

}  // namespace tensord
