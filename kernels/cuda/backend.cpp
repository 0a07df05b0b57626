// The function table behind tensord_cuda_backend_v1(), the library's one
// exported symbol. Each entry clears the calling thread's last error, calls
// the implementation, and turns a C++ exception (e.g. std::bad_alloc) into
// an error return: nothing may unwind through the C ABI.
#include <exception>
#include <new>
#include <type_traits>

#include "kernels/cuda/internal.h"

namespace tensord_cuda {
namespace {

template <auto Fn>
struct Api;

template <typename R, typename... Args, R (*Fn)(Args...)>
struct Api<Fn> {
  static R Call(Args... args) noexcept {
    ClearError();
    try {
      return Fn(args...);
    } catch (const std::exception& e) {
      SetError("internal error: %s", e.what());
    } catch (...) {
      SetError("internal error: unknown exception");
    }
    if constexpr (std::is_pointer_v<R>) {
      return nullptr;
    } else if constexpr (!std::is_void_v<R>) {
      return static_cast<R>(-1);
    }
  }
};

// device_count reports failure as 0 devices, not -1.
int DeviceCountApi(char* why, size_t why_len) noexcept {
  ClearError();
  try {
    return DeviceCount(why, why_len);
  } catch (...) {
    SetError("internal error in device_count");
    return 0;
  }
}

const char* LastErrorApi() noexcept { return LastError(); }

constexpr TensordCudaBackend kBackend = {
    /*abi_version=*/TENSORD_CUDA_ABI_VERSION,
    /*device_count=*/&DeviceCountApi,
    /*device_info=*/&Api<&DeviceInfo>::Call,
    /*alloc=*/&Api<&Alloc>::Call,
    /*free=*/&Api<&Free>::Call,
    /*empty_cache=*/&Api<&EmptyCache>::Call,
    /*allocator_stats=*/&Api<&AllocatorStats>::Call,
    /*copy_to_device=*/&Api<&CopyToDevice>::Call,
    /*copy_to_host=*/&Api<&CopyToHost>::Call,
    /*copy_device_to_device=*/&Api<&CopyDeviceToDevice>::Call,
    /*fill_f32=*/&Api<&FillF32>::Call,
    /*synchronize=*/&Api<&Synchronize>::Call,
    /*binary_f32=*/&Api<&BinaryF32>::Call,
    /*unary_f32=*/&Api<&UnaryF32>::Call,
    /*matmul_f32=*/&Api<&MatmulF32>::Call,
    /*last_error=*/&LastErrorApi,
};

}  // namespace
}  // namespace tensord_cuda

extern "C" __attribute__((visibility("default"))) const TensordCudaBackend*
tensord_cuda_backend_v1(void) {
  return &tensord_cuda::kBackend;
}
