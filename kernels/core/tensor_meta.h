// What both the client and the daemon know about a tensor without its data:
// device, dtype, sizes, strides and storage offset (in elements).
#ifndef TENSORD_KERNELS_CORE_TENSOR_META_H_
#define TENSORD_KERNELS_CORE_TENSOR_META_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/core/dtype.h"
#include "kernels/core/small_vector.h"

namespace tensord {

// Sizes or strides: up to 6 dims without a heap allocation.
using Shape = SmallVector<int64_t, 6>;

struct Device {
  enum class Kind : uint8_t { kCPU, kCUDA };
  Kind kind = Kind::kCPU;
  int index = 0;

  bool operator==(const Device&) const = default;
  bool is_cpu() const { return kind == Kind::kCPU; }
  std::string str() const;  // "cpu", "cuda:0"
  static std::optional<Device> Parse(std::string_view s);
};

struct TensorMeta {
  DType dtype = DType::kFloat32;
  Device device;
  Shape sizes;
  Shape strides;
  int64_t offset = 0;
  // Set by rules of data-dependent ops (nonzero, unique): the sizes are
  // known only after the kernel has run.
  bool dynamic_shape = false;

  int64_t dim() const { return static_cast<int64_t>(sizes.size()); }
  int64_t numel() const;
  bool is_contiguous() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * ItemSize(dtype); }

  static TensorMeta Contiguous(DType dtype, Device device, Shape sizes);
};

// Row-major strides for `sizes`.
Shape ContiguousStrides(const Shape& sizes);
int64_t Numel(const Shape& sizes);
// The bytes a contiguous tensor of `sizes` and `dtype` needs, or nullopt when
// a size is negative or the count passes 2^62 bytes (so numel() * itemsize
// never wraps). Validate every size that comes from a client with this.
std::optional<uint64_t> CheckedNbytes(const Shape& sizes, DType dtype);
std::string ShapeStr(const Shape& s);  // "[2, 3]"
// Wraps a possibly negative dim into [0, ndim); IndexError when out of range
// (a 0-d tensor accepts dims -1 and 0, as in PyTorch).
int64_t WrapDim(int64_t dim, int64_t ndim);
// The broadcast shape of a and b; RuntimeError naming `op` when they clash.
Shape BroadcastShapes(std::string_view op, const Shape& a, const Shape& b);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CORE_TENSOR_META_H_
