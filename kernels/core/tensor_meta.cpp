#include "kernels/core/tensor_meta.h"

#include "kernels/core/error.h"

namespace tensord {

std::string Device::str() const {
  return kind == Kind::kCPU ? "cpu" : "cuda:" + std::to_string(index);
}

std::optional<Device> Device::Parse(std::string_view s) {
  if (s == "cpu") return Device{Kind::kCPU, 0};
  if (s == "cuda") return Device{Kind::kCUDA, 0};
  if (s.starts_with("cuda:") && s.size() > 5 && s.size() < 9) {
    int index = 0;
    for (char c : s.substr(5)) {
      if (c < '0' || c > '9') return std::nullopt;
      index = index * 10 + (c - '0');
    }
    return Device{Kind::kCUDA, index};
  }
  return std::nullopt;
}

// Size products below wrap (unsigned arithmetic, no UB) instead of
// overflowing: an empty tensor may have other sizes whose product does not
// fit (torch.empty(2**62, 0, 2**62) is legal), and its strides are then
// whatever the wrapped product gives, as in ATen. Tensors with elements are
// bounded by CheckedNbytes before they get here.
namespace {
int64_t WrappingMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
}  // namespace

int64_t Numel(const Shape& sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    if (s == 0) return 0;
    n = WrappingMul(n, s);
  }
  return n;
}

std::optional<uint64_t> CheckedNbytes(const Shape& sizes, DType dtype) {
  constexpr uint64_t kMaxBytes = uint64_t{1} << 62;
  uint64_t n = ItemSize(dtype);
  for (int64_t s : sizes) {
    if (s < 0) return std::nullopt;
    if (s == 0) return 0;  // later sizes cannot make an empty tensor bigger
  }
  for (int64_t s : sizes) {
    if (n > kMaxBytes / static_cast<uint64_t>(s)) return std::nullopt;
    n *= static_cast<uint64_t>(s);
  }
  return n;
}

int64_t TensorMeta::numel() const { return Numel(sizes); }

Shape ContiguousStrides(const Shape& sizes) {
  Shape strides(sizes.size());
  int64_t stride = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = stride;
    stride = WrappingMul(stride, std::max<int64_t>(sizes[i], 1));
  }
  return strides;
}

bool TensorMeta::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] == 1) continue;
    if (sizes[i] == 0) return true;
    if (strides[i] != expected) return false;
    expected = WrappingMul(expected, sizes[i]);
  }
  return true;
}

TensorMeta TensorMeta::Contiguous(DType dtype, Device device, Shape sizes) {
  TensorMeta m;
  m.dtype = dtype;
  m.device = device;
  m.strides = ContiguousStrides(sizes);
  m.sizes = std::move(sizes);
  return m;
}

std::string ShapeStr(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t WrapDim(int64_t dim, int64_t ndim) {
  int64_t n = ndim > 0 ? ndim : 1;
  if (dim < -n || dim >= n) {
    Fail(ErrorKind::kIndex, "Dimension out of range (expected to be in range of [",
         -n, ", ", n - 1, "], but got ", dim, ")");
  }
  return dim < 0 ? dim + n : dim;
}

Shape BroadcastShapes(std::string_view op, const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) {
      Fail(ErrorKind::kRuntime, "[", op, "] The size of tensor a (", da,
           ") must match the size of tensor b (", db,
           ") at non-singleton dimension ", i);
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace tensord
