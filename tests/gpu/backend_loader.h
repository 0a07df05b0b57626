// Finds and dlopen()s libtensord_cuda.so for the CUDA backend's test and
// benchmark, the way the daemon does: no link-time dependency on CUDA.
//
// Where the library is looked for, first match wins:
//   1. $TENSORD_CUDA_LIB (a path);
//   2. libtensord_cuda.so beside the running executable (a bundle);
//   3. the build-tree path compiled in as TENSORD_CUDA_LIB.
#ifndef TENSORD_TESTS_GPU_BACKEND_LOADER_H_
#define TENSORD_TESTS_GPU_BACKEND_LOADER_H_

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "kernels/cuda/backend_abi.h"

#ifndef TENSORD_CUDA_LIB
#define TENSORD_CUDA_LIB "libtensord_cuda.so"
#endif

namespace tensord_test {

struct LoadedBackend {
  const TensordCudaBackend* api = nullptr;  // null on failure
  std::string path;                         // what was dlopen()ed
  std::string error;                        // why api is null
};

inline std::string BackendLibraryPath() {
  if (const char* env = std::getenv("TENSORD_CUDA_LIB"); env && *env) {
    return env;
  }
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (len > 0) {
    std::string dir(exe, static_cast<size_t>(len));
    dir.resize(dir.rfind('/') + 1);
    std::string beside = dir + "libtensord_cuda.so";
    if (access(beside.c_str(), R_OK) == 0) return beside;
  }
  return TENSORD_CUDA_LIB;
}

// Loads once per process; the handle is never closed (unloading CUDA
// libraries before exit is not safe).
inline const LoadedBackend& LoadBackend() {
  static const LoadedBackend* loaded = [] {
    auto* l = new LoadedBackend;
    l->path = BackendLibraryPath();
    void* handle = dlopen(l->path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      l->error = std::string("dlopen(") + l->path + "): " + (e ? e : "?");
      return l;
    }
    using GetFn = const TensordCudaBackend* (*)();
    auto get = reinterpret_cast<GetFn>(dlsym(handle, "tensord_cuda_backend_v1"));
    if (get == nullptr) {
      const char* e = dlerror();
      l->error = std::string("dlsym(tensord_cuda_backend_v1): ") + (e ? e : "?");
      return l;
    }
    l->api = get();
    if (l->api == nullptr) l->error = "tensord_cuda_backend_v1() returned NULL";
    return l;
  }();
  return *loaded;
}

}  // namespace tensord_test

#endif  // TENSORD_TESTS_GPU_BACKEND_LOADER_H_
