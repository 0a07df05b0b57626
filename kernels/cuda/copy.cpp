// Copies between host and device, and synchronize(). All run on the device's
// stream; copies to the host and synchronize() block until it has drained.
#include <cstdio>

#include "kernels/cuda/internal.h"

namespace tensord_cuda {
namespace {

int Copy(const char* api, int device, void* dst, const void* src,
         size_t nbytes, cudaMemcpyKind kind, bool wait) {
  if (int rc = UseDevice(api, device)) return rc;
  if (nbytes == 0) return 0;
  if (dst == nullptr || src == nullptr) {
    return SetError("%s: NULL pointer with %zu bytes", api, nbytes);
  }
  cudaStream_t stream = DeviceStream(api, device);
  if (stream == nullptr) return -1;
  cudaError_t err = cudaMemcpyAsync(dst, src, nbytes, kind, stream);
  if (err == cudaSuccess && wait) err = cudaStreamSynchronize(stream);
  if (err != cudaSuccess) {
    char what[128];
    std::snprintf(what, sizeof(what), "%s: %zu bytes on device %d", api,
                  nbytes, device);
    return SetCudaError(what, err);
  }
  return 0;
}

}  // namespace

// From pageable memory, cudaMemcpyAsync returns once the source has been
// staged, so the caller may reuse `src` when this returns.
int CopyToDevice(int device, void* dst, const void* src, size_t nbytes) {
  return Copy("copy_to_device", device, dst, src, nbytes,
              cudaMemcpyHostToDevice, /*wait=*/false);
}

int CopyToHost(int device, void* dst, const void* src, size_t nbytes) {
  return Copy("copy_to_host", device, dst, src, nbytes,
              cudaMemcpyDeviceToHost, /*wait=*/true);
}

int CopyDeviceToDevice(int device, void* dst, const void* src, size_t nbytes) {
  return Copy("copy_device_to_device", device, dst, src, nbytes,
              cudaMemcpyDeviceToDevice, /*wait=*/false);
}

int Synchronize(int device) {
  if (int rc = UseDevice("synchronize", device)) return rc;
  cudaStream_t stream = DeviceStream("synchronize", device);
  if (stream == nullptr) return -1;
  cudaError_t err = cudaStreamSynchronize(stream);
  if (err != cudaSuccess) return SetCudaError("synchronize", err);
  return 0;
}

}  // namespace tensord_cuda
