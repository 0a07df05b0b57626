// Device enumeration and the one stream per device.
//
// The device count is read once. Any error from cudaGetDeviceCount (error 35,
// insufficient driver, on a machine with no GPU) means "no GPU": the count is
// 0 and the reason is kept for device_count() and for every later call.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "kernels/cuda/internal.h"

namespace tensord_cuda {
namespace {

struct DeviceState {
  std::mutex mu;
  std::atomic<cudaStream_t> stream{nullptr};
  std::atomic<int> sm_count{0};
};

struct Devices {
  int count = 0;
  std::string reason;  // why count is 0
  DeviceState* state = nullptr;  // never freed: outlives CUDA's own teardown
};

const Devices& GetDevices() {
  static const Devices* devices = [] {
    auto* d = new Devices;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear it, so it cannot leak into later calls
      d->reason = std::string("no CUDA device: cudaGetDeviceCount: ") +
                  cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")";
      n = 0;
    } else if (n <= 0) {
      d->reason = "no CUDA device: cudaGetDeviceCount found 0 devices";
      n = 0;
    }
    d->count = n;
    if (n > 0) d->state = new DeviceState[n];
    return d;
  }();
  return *devices;
}

}  // namespace

int DeviceCount(char* why, size_t why_len) {
  const Devices& d = GetDevices();
  if (why != nullptr && why_len > 0) {
    std::snprintf(why, why_len, "%s", d.reason.c_str());
  }
  return d.count;
}

int UseDevice(const char* api, int device) {
  const Devices& d = GetDevices();
  if (d.count == 0) return SetError("%s: %s", api, d.reason.c_str());
  if (device < 0 || device >= d.count) {
    return SetError("%s: device %d out of range (%d devices)", api, device,
                    d.count);
  }
  cudaError_t err = cudaSetDevice(device);
  if (err != cudaSuccess) {
    char what[128];
    std::snprintf(what, sizeof(what), "%s: cudaSetDevice(%d)", api, device);
    return SetCudaError(what, err);
  }
  return 0;
}

cudaStream_t DeviceStream(const char* api, int device) {
  DeviceState& s = GetDevices().state[device];
  cudaStream_t stream = s.stream.load(std::memory_order_acquire);
  if (stream != nullptr) return stream;
  std::lock_guard<std::mutex> lock(s.mu);
  stream = s.stream.load(std::memory_order_relaxed);
  if (stream != nullptr) return stream;
  cudaError_t err = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (err != cudaSuccess) {
    char what[128];
    std::snprintf(what, sizeof(what), "%s: cudaStreamCreate on device %d", api,
                  device);
    SetCudaError(what, err);
    return nullptr;
  }
  s.stream.store(stream, std::memory_order_release);
  return stream;
}

int MultiprocessorCount(int device) {
  DeviceState& s = GetDevices().state[device];
  int n = s.sm_count.load(std::memory_order_relaxed);
  if (n > 0) return n;
  if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) !=
          cudaSuccess ||
      n <= 0) {
    cudaGetLastError();
    n = 16;  // a safe guess for sizing grids
  }
  s.sm_count.store(n, std::memory_order_relaxed);
  return n;
}

int DeviceInfo(int device, TensordCudaDeviceInfo* out) {
  if (out == nullptr) return SetError("device_info: out is NULL");
  if (int rc = UseDevice("device_info", device)) return rc;
  cudaDeviceProp prop;
  cudaError_t err = cudaGetDeviceProperties(&prop, device);
  if (err != cudaSuccess) {
    return SetCudaError("device_info: cudaGetDeviceProperties", err);
  }
  std::memset(out, 0, sizeof(*out));
  out->index = device;
  std::snprintf(out->name, sizeof(out->name), "%s", prop.name);
  out->total_memory = prop.totalGlobalMem;
  out->cc_major = prop.major;
  out->cc_minor = prop.minor;
  return 0;
}

}  // namespace tensord_cuda
