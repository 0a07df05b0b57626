#include "kernels/device_backend.h"

#include <memory>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

const TensordCudaBackend* g_backend = nullptr;
std::string g_unavailable = "this daemon found no CUDA device";

class CudaAllocator : public Allocator {
 public:
  explicit CudaAllocator(int device) : device_(device) {}
  void* Allocate(size_t nbytes) override {
    void* p = g_backend->alloc(device_, std::max<size_t>(nbytes, 1));
    if (!p) {
      Fail(ErrorKind::kResource, "[alloc] CUDA out of memory on cuda:", device_, " allocating ",
           nbytes, " bytes: ", g_backend->last_error());
    }
    return p;
  }
  void Free(void* ptr, size_t) override { g_backend->free(device_, ptr); }

 private:
  int device_;
};

std::vector<std::unique_ptr<CudaAllocator>>& CudaAllocators() {
  static std::vector<std::unique_ptr<CudaAllocator>> allocators;
  return allocators;
}

}  // namespace

void RegisterCudaKernels(KernelRegistry& r);  // kernels/cuda_kernels.cpp

void InstallCudaBackend(const TensordCudaBackend* backend, int count) {
  g_backend = backend;
  for (int i = 0; i < count; ++i) CudaAllocators().push_back(std::make_unique<CudaAllocator>(i));
  RegisterCudaKernels(KernelRegistry::Get());
}

void SetCudaUnavailableReason(std::string reason) { g_unavailable = std::move(reason); }

const TensordCudaBackend* CudaBackend() { return g_backend; }

Allocator* AllocatorFor(const Device& device) {
  if (device.is_cpu()) return CpuAllocator();
  auto& all = CudaAllocators();
  TD_CHECK(g_backend != nullptr, kRuntime, "[device] CUDA is not available on this daemon (",
           g_unavailable, ")");
  TD_CHECK(device.index >= 0 && static_cast<size_t>(device.index) < all.size(), kRuntime,
           "[device] CUDA error: invalid device ordinal ", device.str(), " (this daemon has ",
           all.size(), " CUDA device(s))");
  return all[device.index].get();
}

void SynchronizeDevices() {
  if (!g_backend) return;
  for (size_t i = 0; i < CudaAllocators().size(); ++i) {
    if (g_backend->synchronize(static_cast<int>(i)) != 0) {
      Fail(ErrorKind::kRuntime, "[synchronize] cuda:", i, ": ", g_backend->last_error());
    }
  }
}

Tensor ToHost(const Tensor& t, const std::shared_ptr<MemoryTracker>& tracker) {
  if (t.meta.device.is_cpu()) {
    if (t.is_contiguous()) return t;
    Tensor out = Tensor::Empty(TensorMeta::Contiguous(t.dtype(), Device{}, t.sizes()), tracker);
    CopyInto(out, t);
    return out;
  }
  // Copy the whole storage, then view and compact it on the host.
  const size_t nbytes = t.storage->nbytes();
  auto host = std::make_shared<Storage>(nbytes, Device{}, CpuAllocator(), tracker);
  if (nbytes > 0 &&
      g_backend->copy_to_host(t.meta.device.index, host->data(), t.storage->data(), nbytes) != 0) {
    Fail(ErrorKind::kRuntime, "[to] copy from ", t.meta.device.str(), " failed: ",
         g_backend->last_error());
  }
  TensorMeta hm = t.meta;
  hm.device = Device{};
  Tensor view{host, hm};
  return ToHost(view, tracker);
}

}  // namespace tensord
