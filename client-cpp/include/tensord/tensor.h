// The C++ API: a Session (one daemon session) and Tensors recorded on it.
//
//   auto s = tensord::Session::Connect("127.0.0.1:7070");
//   auto a = s.FromVector<float>({1, 2, 3, 4}, {2, 2});
//   auto b = (a + 1.0) * a;
//   std::vector<float> v = b.to_vector<float>();
//
// Operators (+, -, *, /) record no source location (C++ operators cannot
// take a defaulted std::source_location); named methods do.
// Ops are recorded and sent in batches; item/to_vector are sync points and
// throw tensord::client::RemoteError for a failure the daemon reported.
// Wrong arguments throw tensord::OpError at the call.
#ifndef TENSORD_CLIENT_TENSOR_H_
#define TENSORD_CLIENT_TENSOR_H_

#include <cstring>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

#include "kernels/core/error.h"
#include "tensord/core.h"

namespace tensord {

class Tensor;

// An argument of Session::Call: a tensor, a number, a list, a dtype...
struct Arg {
  Value value;
  std::shared_ptr<client::TensorImpl> tensor;

  Arg(const Tensor& t);  // NOLINT: implicit for call sites like Call("add", {a, b})
  Arg(double v) : value(Value::Float(v)) {}                                  // NOLINT
  Arg(int v) : value(Value::Int(v)) {}                                       // NOLINT
  Arg(int64_t v) : value(Value::Int(v)) {}                                   // NOLINT
  Arg(bool v) : value(Value::Bool(v)) {}                                     // NOLINT
  Arg(std::vector<int64_t> v) : value(Value::Ints(std::move(v))) {}          // NOLINT
  Arg(DType d) : value(Value::OfDType(d)) {}                                 // NOLINT
  Arg(const char* s) : value(Value::Str(s)) {}                               // NOLINT
  Arg(Device d) : value(Value::OfDevice(d)) {}                               // NOLINT
  static Arg None() { return Arg(Value::None()); }

 private:
  explicit Arg(Value v) : value(std::move(v)) {}
};

class Session {
 public:
  explicit Session(std::shared_ptr<client::Core> core) : core_(std::move(core)) {}
  static Session Connect(const std::string& address, const client::ConnectOptions& options = {});

  // Calls any op of the schema by name with positional arguments; missing
  // trailing arguments take their defaults.
  std::vector<Tensor> Call(const std::string& op, std::vector<Arg> args,
                           std::source_location loc = std::source_location::current());
  Tensor Call1(const std::string& op, std::vector<Arg> args,
               std::source_location loc = std::source_location::current());

  template <typename T>
  Tensor FromVector(const std::vector<T>& values, const Shape& sizes,
                    std::source_location loc = std::source_location::current());
  Tensor Zeros(const Shape& sizes, DType dtype = DType::kFloat32,
               std::source_location loc = std::source_location::current());
  Tensor Ones(const Shape& sizes, DType dtype = DType::kFloat32,
              std::source_location loc = std::source_location::current());
  Tensor Arange(double start, double end, double step = 1,
                std::source_location loc = std::source_location::current());

  void Synchronize() { core_->Synchronize(); }
  const client::DaemonInfo& info() const { return core_->info(); }
  const std::shared_ptr<client::Core>& core() const { return core_; }

 private:
  Tensor FromBytes(const void* data, size_t n, DType dtype, const Shape& sizes,
                   std::source_location loc);
  std::shared_ptr<client::Core> core_;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<client::TensorImpl> impl) : impl_(std::move(impl)) {}

  const Shape& sizes() const { return impl_->meta().sizes; }
  const Shape& strides() const { return impl_->meta().strides; }
  DType dtype() const { return impl_->meta().dtype; }
  int64_t dim() const { return impl_->meta().dim(); }
  int64_t numel() const { return impl_->meta().numel(); }
  const std::shared_ptr<client::TensorImpl>& impl() const { return impl_; }

  template <typename T>
  std::vector<T> to_vector() const;
  template <typename T>
  T item() const;

  Tensor matmul(const Tensor& other, std::source_location loc = std::source_location::current()) const;
  Tensor sum(std::source_location loc = std::source_location::current()) const;
  Tensor view(std::vector<int64_t> size, std::source_location loc = std::source_location::current()) const;
  Tensor to(DType dtype, std::source_location loc = std::source_location::current()) const;

 private:
  Session session() const;
  std::shared_ptr<client::TensorImpl> impl_;
};

Tensor operator+(const Tensor& a, const Arg& b);
Tensor operator-(const Tensor& a, const Arg& b);
Tensor operator*(const Tensor& a, const Arg& b);
Tensor operator/(const Tensor& a, const Arg& b);
Tensor operator-(const Tensor& a);

// ---------------------------------------------------------------- templates

template <typename T>
Tensor Session::FromVector(const std::vector<T>& values, const Shape& sizes, std::source_location loc) {
  return FromBytes(values.data(), values.size() * sizeof(T), DTypeOf<T>::value, sizes, loc);
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  client::FetchedTensor f = impl_->core()->Fetch(impl_);
  if (f.dtype != DTypeOf<T>::value) {
    throw OpError(ErrorKind::kType, StrCat("[to_vector] tensor is ", DTypeName(f.dtype),
                                           ", not ", DTypeName(DTypeOf<T>::value)));
  }
  std::vector<T> out(f.nbytes / sizeof(T));
  std::memcpy(out.data(), f.data.get(), out.size() * sizeof(T));
  return out;
}

template <typename T>
T Tensor::item() const {
  if (numel() != 1) {
    throw OpError(ErrorKind::kRuntime, StrCat("[item] a Tensor with ", numel(),
                                              " elements cannot be converted to Scalar"));
  }
  return to_vector<T>()[0];
}

}  // namespace tensord

#endif  // TENSORD_CLIENT_TENSOR_H_
