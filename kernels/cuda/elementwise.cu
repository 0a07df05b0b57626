// Float32 elementwise kernels: fill, binary and unary ops.
//
// Grid-stride loops on the device's stream. When every pointer is 16-byte
// aligned (always, for buffers from the allocator) the body moves float4s
// and the last n % 4 elements are done one by one. In-place use (out == a or
// out == b) is allowed: each element is read before it is written.
#include <algorithm>
#include <cstdio>
#include <initializer_list>

#include "kernels/cuda/internal.h"

namespace tensord_cuda {
namespace {

constexpr int kThreads = 256;

// ---- ops -------------------------------------------------------------------
struct Add { __device__ float operator()(float a, float b) const { return a + b; } };
struct Sub { __device__ float operator()(float a, float b) const { return a - b; } };
struct Mul { __device__ float operator()(float a, float b) const { return a * b; } };
struct Div { __device__ float operator()(float a, float b) const { return a / b; } };
struct Maximum { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };
struct Minimum { __device__ float operator()(float a, float b) const { return fminf(a, b); } };

struct Neg { __device__ float operator()(float x) const { return -x; } };
struct Exp { __device__ float operator()(float x) const { return expf(x); } };
struct Log { __device__ float operator()(float x) const { return logf(x); } };
struct Relu { __device__ float operator()(float x) const { return x > 0.f ? x : 0.f; } };
struct Sigmoid { __device__ float operator()(float x) const { return 1.f / (1.f + expf(-x)); } };
struct Tanh { __device__ float operator()(float x) const { return tanhf(x); } };
struct Sqrt { __device__ float operator()(float x) const { return sqrtf(x); } };
struct Abs { __device__ float operator()(float x) const { return fabsf(x); } };

// ---- kernels ---------------------------------------------------------------
__device__ __forceinline__ int64_t ThreadIndex() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t GridStride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

__global__ void FillKernel(float* out, float value, int64_t n, bool vec) {
  int64_t i = ThreadIndex();
  const int64_t stride = GridStride();
  if (vec) {
    const int64_t n4 = n / 4;
    const float4 v = make_float4(value, value, value, value);
    for (int64_t j = i; j < n4; j += stride) reinterpret_cast<float4*>(out)[j] = v;
    i += n4 * 4;
  }
  for (; i < n; i += stride) out[i] = value;
}

template <class F>
__global__ void BinaryKernel(F f, const float* a, const float* b, float* out,
                             int64_t n, bool vec) {
  int64_t i = ThreadIndex();
  const int64_t stride = GridStride();
  if (vec) {
    const int64_t n4 = n / 4;
    for (int64_t j = i; j < n4; j += stride) {
      const float4 x = reinterpret_cast<const float4*>(a)[j];
      const float4 y = reinterpret_cast<const float4*>(b)[j];
      reinterpret_cast<float4*>(out)[j] =
          make_float4(f(x.x, y.x), f(x.y, y.y), f(x.z, y.z), f(x.w, y.w));
    }
    i += n4 * 4;
  }
  for (; i < n; i += stride) out[i] = f(a[i], b[i]);
}

template <class F>
__global__ void UnaryKernel(F f, const float* a, float* out, int64_t n,
                            bool vec) {
  int64_t i = ThreadIndex();
  const int64_t stride = GridStride();
  if (vec) {
    const int64_t n4 = n / 4;
    for (int64_t j = i; j < n4; j += stride) {
      const float4 x = reinterpret_cast<const float4*>(a)[j];
      reinterpret_cast<float4*>(out)[j] =
          make_float4(f(x.x), f(x.y), f(x.z), f(x.w));
    }
    i += n4 * 4;
  }
  for (; i < n; i += stride) out[i] = f(a[i]);
}

// ---- launching ---------------------------------------------------------------
bool Aligned16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

struct Launch {
  cudaStream_t stream = nullptr;
  unsigned blocks = 1;
  bool vec = false;
};

// Validates the call and sizes the grid; returns non-zero with the error set.
int Prepare(const char* api, int device, int64_t n,
            std::initializer_list<const void*> ptrs, Launch* l) {
  if (int rc = UseDevice(api, device)) return rc;
  if (n < 0) return SetError("%s: negative element count %lld", api,
                             static_cast<long long>(n));
  for (const void* p : ptrs) {
    if (p == nullptr && n > 0) return SetError("%s: NULL buffer", api);
  }
  l->stream = DeviceStream(api, device);
  if (l->stream == nullptr) return -1;
  l->vec = std::all_of(ptrs.begin(), ptrs.end(), Aligned16);
  const int64_t work = l->vec ? std::max<int64_t>(n / 4, 1) : n;
  const int64_t max_blocks = int64_t{MultiprocessorCount(device)} * 16;
  l->blocks = static_cast<unsigned>(
      std::clamp<int64_t>((work + kThreads - 1) / kThreads, 1, max_blocks));
  return 0;
}

int Launched(const char* api, int device) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    char what[128];
    std::snprintf(what, sizeof(what), "%s: kernel launch on device %d", api,
                  device);
    return SetCudaError(what, err);
  }
  return 0;
}

template <class F>
int RunBinary(const char* api, int device, F f, const float* a, const float* b,
              float* out, int64_t n) {
  Launch l;
  if (int rc = Prepare(api, device, n, {a, b, out}, &l)) return rc;
  if (n == 0) return 0;
  BinaryKernel<<<l.blocks, kThreads, 0, l.stream>>>(f, a, b, out, n, l.vec);
  return Launched(api, device);
}

template <class F>
int RunUnary(const char* api, int device, F f, const float* a, float* out,
             int64_t n) {
  Launch l;
  if (int rc = Prepare(api, device, n, {a, out}, &l)) return rc;
  if (n == 0) return 0;
  UnaryKernel<<<l.blocks, kThreads, 0, l.stream>>>(f, a, out, n, l.vec);
  return Launched(api, device);
}

}  // namespace

int FillF32(int device, float* dst, float value, int64_t n) {
  Launch l;
  if (int rc = Prepare("fill_f32", device, n, {dst}, &l)) return rc;
  if (n == 0) return 0;
  FillKernel<<<l.blocks, kThreads, 0, l.stream>>>(dst, value, n, l.vec);
  return Launched("fill_f32", device);
}

int BinaryF32(int device, int op, const float* a, const float* b, float* out,
              int64_t n) {
  constexpr const char* kApi = "binary_f32";
  switch (op) {
    case TENSORD_CUDA_ADD: return RunBinary(kApi, device, Add{}, a, b, out, n);
    case TENSORD_CUDA_SUB: return RunBinary(kApi, device, Sub{}, a, b, out, n);
    case TENSORD_CUDA_MUL: return RunBinary(kApi, device, Mul{}, a, b, out, n);
    case TENSORD_CUDA_DIV: return RunBinary(kApi, device, Div{}, a, b, out, n);
    case TENSORD_CUDA_MAXIMUM: return RunBinary(kApi, device, Maximum{}, a, b, out, n);
    case TENSORD_CUDA_MINIMUM: return RunBinary(kApi, device, Minimum{}, a, b, out, n);
    default: return SetError("binary_f32: unknown op %d", op);
  }
}

int UnaryF32(int device, int op, const float* a, float* out, int64_t n) {
  constexpr const char* kApi = "unary_f32";
  switch (op) {
    case TENSORD_CUDA_NEG: return RunUnary(kApi, device, Neg{}, a, out, n);
    case TENSORD_CUDA_EXP: return RunUnary(kApi, device, Exp{}, a, out, n);
    case TENSORD_CUDA_LOG: return RunUnary(kApi, device, Log{}, a, out, n);
    case TENSORD_CUDA_RELU: return RunUnary(kApi, device, Relu{}, a, out, n);
    case TENSORD_CUDA_SIGMOID: return RunUnary(kApi, device, Sigmoid{}, a, out, n);
    case TENSORD_CUDA_TANH: return RunUnary(kApi, device, Tanh{}, a, out, n);
    case TENSORD_CUDA_SQRT: return RunUnary(kApi, device, Sqrt{}, a, out, n);
    case TENSORD_CUDA_ABS: return RunUnary(kApi, device, Abs{}, a, out, n);
    default: return SetError("unary_f32: unknown op %d", op);
  }
}

}  // namespace tensord_cuda
