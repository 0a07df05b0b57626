#include "kernels/core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/core/error.h"

namespace tensord {
namespace {

class AlignedCpuAllocator : public Allocator {
 public:
  void* Allocate(size_t nbytes) override {
    // 64-byte alignment for vector loads; never a null pointer for 0 bytes.
    size_t rounded = (std::max<size_t>(nbytes, 1) + 63) & ~size_t{63};
    void* p = std::aligned_alloc(64, rounded);
    if (!p) Fail(ErrorKind::kResource, "[alloc] out of host memory allocating ", nbytes, " bytes");
    return p;
  }
  void Free(void* ptr, size_t) override { std::free(ptr); }
};

}  // namespace

Allocator* CpuAllocator() {
  static AlignedCpuAllocator allocator;
  return &allocator;
}

Storage::Storage(size_t nbytes, Device device, Allocator* allocator,
                 std::shared_ptr<MemoryTracker> tracker)
    : data_(allocator->Allocate(nbytes)),
      nbytes_(nbytes),
      device_(device),
      allocator_(allocator),
      tracker_(std::move(tracker)) {
  if (tracker_) tracker_->bytes += static_cast<int64_t>(nbytes_);
}

Storage::~Storage() {
  allocator_->Free(data_, nbytes_);
  if (tracker_) tracker_->bytes -= static_cast<int64_t>(nbytes_);
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
  // The lowest and highest element addresses the view can touch.
  int64_t lo = meta.offset, hi = meta.offset;
  for (size_t i = 0; i < meta.sizes.size(); ++i) {
    if (meta.sizes[i] < 0) return false;
    const int64_t span = (meta.sizes[i] - 1) * meta.strides[i];
    if (span < 0) lo += span; else hi += span;
  }
  if (lo < 0) return false;
  return static_cast<size_t>(hi + 1) * ItemSize(meta.dtype) <= nbytes;
}

}  // namespace tensord
