// The daemon's tensor: a storage plus the metadata that views it (like ATen).
// Views share a storage, so in-place writes are visible through all of them.
#ifndef TENSORD_KERNELS_CORE_TENSOR_H_
#define TENSORD_KERNELS_CORE_TENSOR_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "kernels/core/tensor_meta.h"

namespace tensord {

// Autograd's per-variable state (scheduler/autograd/variable.h); kernels
// never look at it.
struct AutogradMeta;

// Where a storage's bytes came from and how to give them back. The CPU
// allocator is the default; the CUDA backend installs its own.
struct Allocator {
  virtual ~Allocator() = default;
  virtual void* Allocate(size_t nbytes) = 0;
  virtual void Free(void* ptr, size_t nbytes) = 0;
};
Allocator* CpuAllocator();


// The memory a tenant may hold on each device, and what its sessions hold
// now. Storages reserve their bytes here before they allocate, so a tenant
// over its quota fails its own request and nobody else's.
struct MemoryQuota {
  static constexpr size_t kSlots = 17;  // cpu, cuda:0 .. cuda:15
  static size_t Slot(const Device& d) {
    return d.is_cpu() ? 0 : (d.index >= 0 && d.index < 16 ? 1 + static_cast<size_t>(d.index) : 16);
  }
  std::string tenant;
  int64_t cpu_limit = 0;   // bytes per device; 0: unlimited
  int64_t cuda_limit = 0;
  std::array<std::atomic<int64_t>, kSlots> used{};
  int64_t limit(const Device& d) const { return d.is_cpu() ? cpu_limit : cuda_limit; }
};

// Counts the bytes of live storages of one owner (a session), per device,
// and charges them to its tenant's quota (when it has one).
struct MemoryTracker {
  std::atomic<int64_t> bytes{0};
  std::array<std::atomic<int64_t>, MemoryQuota::kSlots> device_bytes{};
  std::shared_ptr<MemoryQuota> quota;
};

class Storage {
 public:
  Storage(size_t nbytes, Device device, Allocator* allocator,
          std::shared_ptr<MemoryTracker> tracker);

  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // Bumped by every in-place write (executor thread only): autograd checks
  // that tensors it saved for backward were not modified since.
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  uint64_t version_ = 0;
  void* data_;
  size_t nbytes_;
  Device device_;
  Allocator* allocator_;
  std::shared_ptr<MemoryTracker> tracker_;
};

struct Tensor {
  std::shared_ptr<Storage> storage;
  TensorMeta meta;
  // Set by View(): the tensor shares another's storage.
  bool is_view = false;
  // Null unless autograd tracks this tensor; copies share it (they are the
  // same variable).
  std::shared_ptr<AutogradMeta> autograd;

  // A new contiguous tensor (meta's strides are replaced by row-major ones).
  static Tensor Empty(const TensorMeta& meta,
                      std::shared_ptr<MemoryTracker> tracker = nullptr,
                      Allocator* allocator = nullptr);
  // A 0-d CPU tensor holding `value` converted to `dtype`.
  static Tensor Scalar(double value, DType dtype);
  static Tensor ScalarInt(int64_t value, DType dtype);

  bool defined() const { return storage != nullptr; }
  DType dtype() const { return meta.dtype; }
  const Shape& sizes() const { return meta.sizes; }
  const Shape& strides() const { return meta.strides; }
  int64_t dim() const { return meta.dim(); }
  int64_t numel() const { return meta.numel(); }
  bool is_contiguous() const { return meta.is_contiguous(); }

  // Address of element 0 (storage base + offset).
  char* raw() const {
    return static_cast<char*>(storage->data()) + meta.offset * ItemSize(meta.dtype);
  }
  template <typename T>
  T* data() const { return reinterpret_cast<T*>(raw()); }

  // A view of the same storage with other metadata.
  Tensor View(TensorMeta m) const { return Tensor{storage, std::move(m), true, nullptr}; }
};

// Whether `meta` reads only bytes inside a storage of `nbytes`.
bool FitsInStorage(const TensorMeta& meta, size_t nbytes);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CORE_TENSOR_H_
