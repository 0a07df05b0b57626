// The daemon's view of its devices: allocators per device, and the CUDA
// backend (libtensord_cuda.so) once the server has loaded it. Nothing here
// links CUDA; CUDA work goes through the backend's C function table.
#ifndef TENSORD_KERNELS_DEVICE_BACKEND_H_
#define TENSORD_KERNELS_DEVICE_BACKEND_H_

#include <string>

#include "kernels/core/tensor.h"
#include "kernels/cuda/backend_abi.h"

namespace tensord {

// Makes `count` CUDA devices usable and registers the CUDA kernels.
// `backend` must outlive the process (it is a static table in the library).
void InstallCudaBackend(const TensordCudaBackend* backend, int count);
// Why there is no CUDA (for error messages), set when none was installed.
void SetCudaUnavailableReason(std::string reason);
const TensordCudaBackend* CudaBackend();  // nullptr: CPU only

// The allocator for tensors on `device`; RuntimeError when the device does
// not exist on this daemon.
Allocator* AllocatorFor(const Device& device);
// Waits until every device has finished the work queued on it (a sync
// point: tensord.synchronize()).
void SynchronizeDevices();
// A contiguous host copy of `t` (t itself when it is already a contiguous
// CPU tensor).
Tensor ToHost(const Tensor& t, const std::shared_ptr<MemoryTracker>& tracker = nullptr);

}  // namespace tensord

#endif  // TENSORD_KERNELS_DEVICE_BACKEND_H_
