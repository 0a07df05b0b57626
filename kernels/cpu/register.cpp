// The list of CPU kernel families. A family file defines one Register*
// function; add yours here (static registrars would be dropped by the
// linker from a static library).
#include <mutex>

#include "kernels/kernel.h"

namespace tensord {

void RegisterBinaryKernels(KernelRegistry& r);
void RegisterCopyKernels(KernelRegistry& r);
void RegisterCreationKernels(KernelRegistry& r);
void RegisterMatmulKernels(KernelRegistry& r);
void RegisterRandomKernels(KernelRegistry& r);
void RegisterReduceKernels(KernelRegistry& r);
void RegisterShapeKernels(KernelRegistry& r);
void RegisterUnaryKernels(KernelRegistry& r);

void RegisterCpuKernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    KernelRegistry& r = KernelRegistry::Get();
    RegisterBinaryKernels(r);
    RegisterCopyKernels(r);
    RegisterCreationKernels(r);
    RegisterMatmulKernels(r);
    RegisterRandomKernels(r);
    RegisterReduceKernels(r);
    RegisterShapeKernels(r);
    RegisterUnaryKernels(r);
  });
}

}  // namespace tensord
