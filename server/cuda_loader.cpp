#include "server/cuda_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>

namespace tensord {
namespace {

std::string ExecutableDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}

}  // namespace

CudaBackendStatus LoadCudaBackend(const std::string& library) {
  CudaBackendStatus st;
  std::vector<std::string> candidates;
  if (!library.empty()) {
    candidates.push_back(library);
  } else {
    const std::string dir = ExecutableDir();
    candidates = {dir + "/../lib/libtensord_cuda.so", dir + "/libtensord_cuda.so",
                  "libtensord_cuda.so"};
  }
  void* handle = nullptr;
  std::string errors;
  for (const auto& c : candidates) {
    handle = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) break;
    const char* e = dlerror();
    errors += "\n  " + c + ": " + (e ? e : "unknown error");
  }
  if (!handle) {
    st.reason = "CUDA backend not loaded:" + errors;
    return st;
  }
  using Entry = const TensordCudaBackend* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "tensord_cuda_backend_v1"));
  const TensordCudaBackend* backend = entry ? entry() : nullptr;
  if (!backend || backend->abi_version != TENSORD_CUDA_ABI_VERSION) {
    st.reason = "CUDA backend has no compatible tensord_cuda_backend_v1 entry point";
    return st;
  }
  char why[512] = {0};
  const int n = backend->device_count(why, sizeof(why));
  if (n <= 0) {
    st.reason = why[0] ? why : "no CUDA device";
    return st;
  }
  st.backend = backend;
  for (int i = 0; i < n; ++i) {
    TensordCudaDeviceInfo info{};
    if (backend->device_info(i, &info) == 0) {
      st.devices.push_back({i, info.name, info.total_memory});
    }
  }
  return st;
}

}  // namespace tensord
