#include "kernels/core/tensor.h"

#include <bit>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <cstring>
#include <new>

#include "kernels/core/error.h"
#include "kernels/core/quota_observer.h"

namespace tensord {
namespace {

// Host memory, 64-byte aligned. Blocks of 1 MiB and more are cached after
// release and handed out again for requests of the same size class: fresh
// pages cost a page fault each (here ~3 GB/s to populate), so without reuse
// every large tensor pays that before its first byte is written.
class AlignedCpuAllocator : public Allocator {
 public:
  void* Allocate(size_t nbytes) override {
    const size_t rounded = RoundUp(nbytes);
    if (rounded >= kMinCached) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(rounded);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= rounded;
        return p;
      }
    }
    void* p = std::aligned_alloc(64, rounded);
    if (!p) {
      EmptyCache();
      p = std::aligned_alloc(64, rounded);
    }
    if (!p) Fail(ErrorKind::kResource, "[alloc] out of host memory allocating ", nbytes, " bytes");
    return p;
  }
  void Free(void* ptr, size_t nbytes) override {
    const size_t rounded = RoundUp(nbytes);
    if (rounded >= kMinCached) {
      std::lock_guard<std::mutex> lock(mu_);
      if (cached_bytes_ + rounded <= kMaxCachedBytes) {
        free_[rounded].push_back(ptr);
        cached_bytes_ += rounded;
        return;
      }
    }
    std::free(ptr);
  }

 private:
  static constexpr size_t kMinCached = 1u << 20;
  static constexpr size_t kMaxCachedBytes = size_t{2} << 30;

  // Multiples of 64 bytes; from 1 MiB on, four size classes per doubling.
  static size_t RoundUp(size_t n) {
    n = (std::max<size_t>(n, 1) + 63) & ~size_t{63};
    if (n < kMinCached) return n;
    size_t step = std::bit_floor(n) / 4;
    return (n + step - 1) / step * step;
  }
  void EmptyCache() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) std::free(p);
    }
    free_.clear();
    cached_bytes_ = 0;
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_bytes_ = 0;
};

}  // namespace

Allocator* CpuAllocator() {
  static AlignedCpuAllocator allocator;
  return &allocator;
}

namespace {

std::atomic<QuotaRejectionObserver> g_quota_rejection_observer{nullptr};

// Reserves `n` bytes of the tracker's tenant quota on `device`, or throws
// RESOURCE_EXHAUSTED naming the quota and the numbers.
void Reserve(MemoryTracker& tracker, const Device& device, int64_t n) {
  if (MemoryQuota* q = tracker.quota.get()) {
    const int64_t limit = q->limit(device);
    std::atomic<int64_t>& used = q->used[MemoryQuota::Slot(device)];
    const int64_t after = used.fetch_add(n) + n;
    if (limit > 0 && after > limit) {
      used.fetch_sub(n);
      if (QuotaRejectionObserver observe = g_quota_rejection_observer.load()) observe(device);
      Fail(device.is_cpu() ? ErrorKind::kResource : ErrorKind::kOutOfMemory, "tenant '", q->tenant, "' is over its memory quota on ",
           device.str(), " (quotas.memory_bytes.", device.is_cpu() ? "cpu" : "cuda",
           "): this allocation of ", n, " bytes would make ", after, " bytes, over the limit of ",
           limit, " bytes");
    }
  }
  tracker.bytes += n;
  tracker.device_bytes[MemoryQuota::Slot(device)] += n;
}

}  // namespace

void SetMemoryQuotaRejectionObserver(QuotaRejectionObserver observer) {
  g_quota_rejection_observer.store(observer);
}

namespace {

void Unreserve(MemoryTracker& tracker, const Device& device, int64_t n) {
  if (MemoryQuota* q = tracker.quota.get()) q->used[MemoryQuota::Slot(device)] -= n;
  tracker.bytes -= n;
  tracker.device_bytes[MemoryQuota::Slot(device)] -= n;
}

}  // namespace

Storage::Storage(size_t nbytes, Device device, Allocator* allocator,
                 std::shared_ptr<MemoryTracker> tracker)
    : data_(nullptr),
      nbytes_(nbytes),
      device_(device),
      allocator_(allocator),
      tracker_(std::move(tracker)) {
  if (tracker_) Reserve(*tracker_, device_, static_cast<int64_t>(nbytes_));
  try {
    data_ = allocator->Allocate(nbytes);
  } catch (...) {
    if (tracker_) Unreserve(*tracker_, device_, static_cast<int64_t>(nbytes_));
    throw;
  }
}

Storage::~Storage() {
  allocator_->Free(data_, nbytes_);
  if (tracker_) Unreserve(*tracker_, device_, static_cast<int64_t>(nbytes_));
}

Tensor Tensor::Empty(const TensorMeta& meta, std::shared_ptr<MemoryTracker> tracker,
                     Allocator* allocator) {
  Tensor t;
  t.meta = meta;
  t.meta.strides = ContiguousStrides(meta.sizes);
  t.meta.offset = 0;
  t.meta.dynamic_shape = false;
  t.storage = std::make_shared<Storage>(meta.nbytes(), meta.device,
                                        allocator ? allocator : CpuAllocator(),
                                        std::move(tracker));
  return t;
}

namespace {
template <typename T, typename V>
void Store(void* p, V v) {
  T x = static_cast<T>(v);
  std::memcpy(p, &x, sizeof(T));
}
template <typename V>
void StoreAs(void* p, DType d, V v) {
  switch (d) {
    case DType::kBool: Store<bool>(p, v != 0); break;
    case DType::kUInt8: Store<uint8_t>(p, v); break;
    case DType::kInt8: Store<int8_t>(p, v); break;
    case DType::kInt16: Store<int16_t>(p, v); break;
    case DType::kInt32: Store<int32_t>(p, v); break;
    case DType::kInt64: Store<int64_t>(p, v); break;
    case DType::kFloat16: { Half h(static_cast<float>(v)); std::memcpy(p, &h, 2); break; }
    case DType::kBFloat16: { BFloat16 h(static_cast<float>(v)); std::memcpy(p, &h, 2); break; }
    case DType::kFloat32: Store<float>(p, v); break;
    case DType::kFloat64: Store<double>(p, v); break;
  }
}
}  // namespace

Tensor Tensor::Scalar(double value, DType dtype) {
  Tensor t = Empty(TensorMeta::Contiguous(dtype, Device{}, {}));
  StoreAs(t.raw(), dtype, value);
  return t;
}

Tensor Tensor::ScalarInt(int64_t value, DType dtype) {
  Tensor t = Empty(TensorMeta::Contiguous(dtype, Device{}, {}));
  StoreAs(t.raw(), dtype, value);
  return t;
}

bool FitsInStorage(const TensorMeta& meta, size_t nbytes) {
  if (meta.offset < 0) return false;
  if (meta.numel() == 0) return true;
  // The lowest and highest element the view can touch, with every step
  // checked for overflow (sizes and strides come from clients).
  int64_t lo = meta.offset, hi = meta.offset;
  for (size_t i = 0; i < meta.sizes.size(); ++i) {
    if (meta.sizes[i] < 0) return false;
    int64_t span;
    if (__builtin_mul_overflow(meta.sizes[i] - 1, meta.strides[i], &span)) return false;
    if (span < 0 ? __builtin_add_overflow(lo, span, &lo) : __builtin_add_overflow(hi, span, &hi)) {
      return false;
    }
  }
  if (lo < 0) return false;
  int64_t end;
  if (__builtin_add_overflow(hi, 1, &end) ||
      __builtin_mul_overflow(end, static_cast<int64_t>(ItemSize(meta.dtype)), &end)) {
    return false;
  }
  return static_cast<size_t>(end) <= nbytes;
}

}  // namespace tensord
