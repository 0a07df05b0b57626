// Internal declarations shared by the CUDA backend's translation units.
// Nothing here is exported: the library's only public symbol is
// tensord_cuda_backend_v1 (backend.cpp, exports.map).
#ifndef TENSORD_KERNELS_CUDA_INTERNAL_H_
#define TENSORD_KERNELS_CUDA_INTERNAL_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/backend_abi.h"

namespace tensord_cuda {

// ---- error.cpp: the calling thread's last error ---------------------------
void ClearError();
// Formats the calling thread's last error; always returns -1.
int SetError(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// "<what>: <cudaGetErrorString> (<cudaGetErrorName>)"; returns -1.
int SetCudaError(const char* what, cudaError_t err);
const char* LastError();

// ---- device.cpp: devices and their streams --------------------------------
// Cached after the first call; 0 with `why` filled when there is no GPU.
int DeviceCount(char* why, size_t why_len);
int DeviceInfo(int device, TensordCudaDeviceInfo* out);
// Checks `device` and makes it the calling thread's current device.
// Returns 0, or non-zero with the error set (messages start with `api`).
int UseDevice(const char* api, int device);
// The device's stream, created on first use; nullptr with the error set on
// failure. Call after UseDevice().
cudaStream_t DeviceStream(const char* api, int device);
int MultiprocessorCount(int device);

// ---- allocator.cpp: caching allocator -------------------------------------
void* Alloc(int device, size_t nbytes);
void Free(int device, void* ptr);
int EmptyCache(int device);
int AllocatorStats(int device, TensordCudaAllocatorStats* out);

// ---- copy.cpp: copies and synchronization ---------------------------------
int CopyToDevice(int device, void* dst, const void* src, size_t nbytes);
int CopyToHost(int device, void* dst, const void* src, size_t nbytes);
int CopyDeviceToDevice(int device, void* dst, const void* src, size_t nbytes);
int Synchronize(int device);

// ---- elementwise.cu: float32 elementwise kernels --------------------------
int FillF32(int device, float* dst, float value, int64_t n);
int BinaryF32(int device, int op, const float* a, const float* b, float* out,
              int64_t n);
int UnaryF32(int device, int op, const float* a, float* out, int64_t n);

// ---- matmul.cpp: cuBLAS sgemm ---------------------------------------------
int MatmulF32(int device, int64_t m, int64_t n, int64_t k, const float* a,
              const float* b, float* c);

}  // namespace tensord_cuda

#endif  // TENSORD_KERNELS_CUDA_INTERNAL_H_
