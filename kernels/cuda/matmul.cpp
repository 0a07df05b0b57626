// Row-major float32 matmul through cuBLAS.
//
// cuBLAS is column-major. A row-major X[r,c] is, read column-major, X^T[c,r]
// with leading dimension c. So row-major C = A*B is column-major
// C^T = B^T * A^T: sgemm(N, N, n, m, k, B, ldb=n, A, lda=k, C, ldc=n).
//
// One cuBLAS handle per device, created on first use and bound to the
// device's stream. cuBLAS handles must not be used by two threads at once,
// so calls on one device are serialized by a mutex (they are also serialized
// on the GPU, by the stream).
#include <cublas_v2.h>

#include <climits>
#include <cstdio>
#include <mutex>

#include "kernels/cuda/internal.h"

namespace tensord_cuda {
namespace {

struct Blas {
  std::mutex mu;
  cublasHandle_t handle = nullptr;
};

Blas& GetBlas(int device) {
  // Never freed: destroying handles after CUDA's teardown crashes.
  static Blas* blas = new Blas[DeviceCount(nullptr, 0) > 0
                                   ? DeviceCount(nullptr, 0)
                                   : 1];
  return blas[device];
}

int SetBlasError(const char* what, cublasStatus_t status) {
  return SetError("%s: %s (%s)", what, cublasGetStatusString(status),
                  cublasGetStatusName(status));
}

// Creates the handle if needed; b.mu must be held and the device current.
int EnsureHandleLocked(Blas& b, int device) {
  if (b.handle != nullptr) return 0;
  cudaStream_t stream = DeviceStream("matmul_f32", device);
  if (stream == nullptr) return -1;
  cublasHandle_t h = nullptr;
  cublasStatus_t st = cublasCreate(&h);
  if (st != CUBLAS_STATUS_SUCCESS) {
    return SetBlasError("matmul_f32: cublasCreate", st);
  }
  st = cublasSetStream(h, stream);
  if (st != CUBLAS_STATUS_SUCCESS) {
    cublasDestroy(h);
    return SetBlasError("matmul_f32: cublasSetStream", st);
  }
  b.handle = h;
  return 0;
}

}  // namespace

int MatmulF32(int device, int64_t m, int64_t n, int64_t k, const float* a,
              const float* b, float* c) {
  if (int rc = UseDevice("matmul_f32", device)) return rc;
  if (m < 0 || n < 0 || k < 0 || m > INT_MAX || n > INT_MAX || k > INT_MAX) {
    return SetError("matmul_f32: bad shape m=%lld n=%lld k=%lld",
                    static_cast<long long>(m), static_cast<long long>(n),
                    static_cast<long long>(k));
  }
  if (m == 0 || n == 0) return 0;
  if (c == nullptr || (k > 0 && (a == nullptr || b == nullptr))) {
    return SetError("matmul_f32: NULL buffer");
  }
  if (k == 0) {  // an empty sum: C = 0
    cudaStream_t stream = DeviceStream("matmul_f32", device);
    if (stream == nullptr) return -1;
    cudaError_t err = cudaMemsetAsync(c, 0, sizeof(float) * m * n, stream);
    if (err != cudaSuccess) return SetCudaError("matmul_f32: cudaMemset", err);
    return 0;
  }

  Blas& blas = GetBlas(device);
  std::lock_guard<std::mutex> lock(blas.mu);
  if (int rc = EnsureHandleLocked(blas, device)) return rc;
  const float alpha = 1.0f;
  const float beta = 0.0f;
  cublasStatus_t st = cublasSgemm(
      blas.handle, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n),
      static_cast<int>(m), static_cast<int>(k), &alpha, b, static_cast<int>(n),
      a, static_cast<int>(k), &beta, c, static_cast<int>(n));
  if (st != CUBLAS_STATUS_SUCCESS) {
    return SetBlasError("matmul_f32: cublasSgemm", st);
  }
  return 0;
}

}  // namespace tensord_cuda
