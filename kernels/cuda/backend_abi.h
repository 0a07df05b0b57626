// The C ABI between the daemon and its CUDA backend, libtensord_cuda.so.
//
// The daemon never links CUDA: it dlopen()s the backend at start and calls
// tensord_cuda_backend_v1() for this table. That keeps the daemon binary
// CPU-only (prometheus' civetweb threads abort in a process that links
// cuBLAS, see TOOLCHAIN.md) and lets one binary run with or without a GPU.
//
// Threading: every function may be called from any thread. Each device has
// one stream owned by the backend; a call returns once its work is enqueued
// on that stream, except copies to the host and synchronize(), which block.
// Errors: functions return 0 on success, non-zero on failure, and
// last_error() describes the failure of the calling thread's last call.
#ifndef TENSORD_KERNELS_CUDA_BACKEND_ABI_H_
#define TENSORD_KERNELS_CUDA_BACKEND_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TENSORD_CUDA_ABI_VERSION 1

typedef struct TensordCudaDeviceInfo {
  int index;
  char name[256];
  uint64_t total_memory;  // bytes
  int cc_major;           // compute capability
  int cc_minor;
} TensordCudaDeviceInfo;

// Elementwise operations on contiguous float32 buffers.
typedef enum TensordCudaBinaryOp {
  TENSORD_CUDA_ADD = 0,
  TENSORD_CUDA_SUB = 1,
  TENSORD_CUDA_MUL = 2,
  TENSORD_CUDA_DIV = 3,
  TENSORD_CUDA_MAXIMUM = 4,
  TENSORD_CUDA_MINIMUM = 5,
} TensordCudaBinaryOp;

typedef enum TensordCudaUnaryOp {
  TENSORD_CUDA_NEG = 0,
  TENSORD_CUDA_EXP = 1,
  TENSORD_CUDA_LOG = 2,
  TENSORD_CUDA_RELU = 3,
  TENSORD_CUDA_SIGMOID = 4,
  TENSORD_CUDA_TANH = 5,
  TENSORD_CUDA_SQRT = 6,
  TENSORD_CUDA_ABS = 7,
} TensordCudaUnaryOp;

typedef struct TensordCudaAllocatorStats {
  uint64_t bytes_in_use;     // handed out to callers
  uint64_t bytes_reserved;   // held from cudaMalloc, in use or cached
  uint64_t num_cuda_mallocs; // calls that reached cudaMalloc
} TensordCudaAllocatorStats;

typedef struct TensordCudaBackend {
  int abi_version;  // TENSORD_CUDA_ABI_VERSION

  // Number of usable devices. 0 with a reason in `why` when there is no
  // driver or no GPU (the daemon logs that reason and serves CPU only).
  int (*device_count)(char* why, size_t why_len);
  int (*device_info)(int device, TensordCudaDeviceInfo* out);

  // Caching allocator: freed blocks are kept per device and size class and
  // reused; empty_cache() returns cached blocks to the driver.
  void* (*alloc)(int device, size_t nbytes);  // NULL on failure
  void (*free)(int device, void* ptr);
  int (*empty_cache)(int device);
  int (*allocator_stats)(int device, TensordCudaAllocatorStats* out);

  int (*copy_to_device)(int device, void* dst, const void* src, size_t nbytes);
  int (*copy_to_host)(int device, void* dst, const void* src, size_t nbytes);
  int (*copy_device_to_device)(int device, void* dst, const void* src,
                               size_t nbytes);
  int (*fill_f32)(int device, float* dst, float value, int64_t n);
  int (*synchronize)(int device);

  // out[i] = op(a[i], b[i]) for contiguous float32 buffers of n elements.
  int (*binary_f32)(int device, int op, const float* a, const float* b,
                    float* out, int64_t n);
  int (*unary_f32)(int device, int op, const float* a, float* out, int64_t n);
  // Row-major C[m,n] = A[m,k] * B[k,n] via cuBLAS.
  int (*matmul_f32)(int device, int64_t m, int64_t n, int64_t k,
                    const float* a, const float* b, float* c);

  const char* (*last_error)(void);
} TensordCudaBackend;

// The one symbol the daemon resolves with dlsym().
const TensordCudaBackend* tensord_cuda_backend_v1(void);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // TENSORD_KERNELS_CUDA_BACKEND_ABI_H_
