// A hook that tells the daemon of each allocation a tenant's memory quota
// refused (kernels/core/tensor.cpp enforces the quota; the server counts
// refusals in its metrics without the kernels depending on the server).
#ifndef TENSORD_KERNELS_CORE_QUOTA_OBSERVER_H_
#define TENSORD_KERNELS_CORE_QUOTA_OBSERVER_H_

#include "kernels/core/tensor_meta.h"

namespace tensord {

// Called, when set, each time a storage is refused because its tenant is over
// its memory quota on `device`, before the error is thrown. Set once at
// start, before any session exists; null removes it.
using QuotaRejectionObserver = void (*)(const Device& device);
void SetMemoryQuotaRejectionObserver(QuotaRejectionObserver observer);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CORE_QUOTA_OBSERVER_H_
