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
#include <optional>
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
  std::vector<std::shared_ptr<client::TensorImpl>> tensor_list;  // a Tensor[] argument

  // Implicit for call sites like Call("add", {a, b}); an undefined tensor is None.
  Arg(const Tensor& t);                                              // NOLINT
  Arg(const std::vector<Tensor>& ts);                                // NOLINT: a Tensor[] argument
  Arg(double v) : value(Value::Float(v)) {}                          // NOLINT
  Arg(int v) : value(Value::Int(v)) {}                               // NOLINT
  Arg(int64_t v) : value(Value::Int(v)) {}                           // NOLINT
  Arg(bool v) : value(Value::Bool(v)) {}                             // NOLINT
  Arg(std::vector<int64_t> v) : value(Value::Ints(std::move(v))) {}  // NOLINT
  Arg(DType d) : value(Value::OfDType(d)) {}                         // NOLINT
  Arg(const char* s) : value(Value::Str(s)) {}                       // NOLINT
  Arg(Device d) : value(Value::OfDevice(d)) {}                       // NOLINT
  static Arg None() { return Arg(Value::None()); }

 private:
  explicit Arg(Value v) : value(std::move(v)) {}
};

// Ops recorded on this thread while it lives are not recorded by autograd
// (torch.no_grad()). Nests; restores the previous mode.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(client::GradEnabled()) { client::SetGradEnabled(false); }
  ~NoGradGuard() { client::SetGradEnabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
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
  Tensor Empty(const Shape& sizes, DType dtype = DType::kFloat32,
               std::source_location loc = std::source_location::current());
  Tensor Full(const Shape& sizes, double value, DType dtype = DType::kFloat32,
              std::source_location loc = std::source_location::current());
  // A 0-d tensor.
  Tensor Scalar(double value, DType dtype = DType::kFloat32,
                std::source_location loc = std::source_location::current());

  // Seeds the session's generator (torch.manual_seed): parameter
  // initialisation and dropout draw from it.
  void ManualSeed(int64_t seed, std::source_location loc = std::source_location::current());

  void Synchronize() { core_->Synchronize(); }
  const client::DaemonInfo& info() const { return core_->info(); }
  const std::shared_ptr<client::Core>& core() const { return core_; }

 private:
  Tensor FromBytes(const void* data, size_t n, DType dtype, const Shape& sizes,
                   std::source_location loc);
  std::shared_ptr<client::Core> core_;
};

// A handle to a daemon tensor (copies share it). Default-constructed: undefined
// (what grad() returns for None); most methods require a defined tensor.
class Tensor {
 public:
  using Loc = std::source_location;
  Tensor() = default;
  explicit Tensor(std::shared_ptr<client::TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const { return impl_->meta().sizes; }
  int64_t size(int64_t dim) const;
  const Shape& strides() const { return impl_->meta().strides; }
  DType dtype() const { return impl_->meta().dtype; }
  int64_t dim() const { return impl_->meta().dim(); }
  int64_t numel() const { return impl_->meta().numel(); }
  const std::shared_ptr<client::TensorImpl>& impl() const { return impl_; }
  Session session() const;

  template <typename T>
  std::vector<T> to_vector() const;
  template <typename T>
  T item() const;

  // ---- autograd (the graph lives on the daemon; see docs/autograd.md)
  bool requires_grad() const { return impl_->RequiresGrad(); }
  // Leaves only (RuntimeError otherwise, as PyTorch). Returns *this.
  Tensor& set_requires_grad(bool requires_grad = true, Loc loc = Loc::current());
  Tensor& requires_grad_(bool requires_grad = true, Loc loc = Loc::current()) {
    return set_requires_grad(requires_grad, loc);
  }
  bool is_leaf() const {
    impl_->RefreshViewGradFn();
    return impl_->is_leaf();
  }
  // Accumulates d(this)/d(leaf) into the leaves' grad on the daemon. An
  // undefined gradient means ones (scalar outputs only); retain_graph
  // defaults to create_graph. Daemon errors surface at the next sync point.
  void backward(const Tensor& gradient = Tensor(), std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false, Loc loc = Loc::current()) const;
  // The accumulated gradient (undefined when None). Asks the daemon once per
  // backward/set_grad; the handle aliases the daemon's gradient.
  Tensor grad(Loc loc = Loc::current()) const;
  // Assigns .grad (undefined: None).
  void set_grad(const Tensor& grad, Loc loc = Loc::current()) const;
  // Zeroes .grad in place when it exists (detaching one made under
  // create_graph), or sets it to None. No round trip.
  void zero_grad_(bool set_to_none = false, Loc loc = Loc::current()) const;
  Tensor detach(Loc loc = Loc::current()) const;

  // ---- ops (each records one daemon op)
  Tensor matmul(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor mm(const Tensor& other, Loc loc = Loc::current()) const;
  Tensor t(Loc loc = Loc::current()) const;
  Tensor relu(Loc loc = Loc::current()) const;
  Tensor exp(Loc loc = Loc::current()) const;
  Tensor log(Loc loc = Loc::current()) const;
  Tensor sqrt(Loc loc = Loc::current()) const;
  Tensor pow(double exponent, Loc loc = Loc::current()) const;
  Tensor softmax(int64_t dim, Loc loc = Loc::current()) const;
  Tensor log_softmax(int64_t dim, Loc loc = Loc::current()) const;
  Tensor sum(Loc loc = Loc::current()) const;
  Tensor sum(std::vector<int64_t> dims, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor mean(Loc loc = Loc::current()) const;
  Tensor mean(std::vector<int64_t> dims, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor argmax(Loc loc = Loc::current()) const;
  Tensor argmax(int64_t dim, bool keepdim = false, Loc loc = Loc::current()) const;
  Tensor eq(const Arg& other, Loc loc = Loc::current()) const;
  Tensor gt(const Arg& other, Loc loc = Loc::current()) const;
  Tensor lt(const Arg& other, Loc loc = Loc::current()) const;
  Tensor view(std::vector<int64_t> size, Loc loc = Loc::current()) const;
  Tensor reshape(std::vector<int64_t> size, Loc loc = Loc::current()) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1, Loc loc = Loc::current()) const;
  Tensor to(DType dtype, Loc loc = Loc::current()) const;
  Tensor clone(Loc loc = Loc::current()) const;
  // In place: return *this (the same handle).
  Tensor add_(const Arg& other, double alpha = 1, Loc loc = Loc::current()) const;
  Tensor mul_(const Arg& other, Loc loc = Loc::current()) const;
  Tensor zero_(Loc loc = Loc::current()) const;
  Tensor fill_(double value, Loc loc = Loc::current()) const;
  Tensor copy_(const Tensor& src, Loc loc = Loc::current()) const;
  Tensor uniform_(double from = 0, double to = 1, Loc loc = Loc::current()) const;
  Tensor normal_(double mean = 0, double std = 1, Loc loc = Loc::current()) const;

 private:
  Tensor Op(const char* op, std::vector<Arg> rest, const Loc& loc) const;
  std::shared_ptr<client::TensorImpl> impl_;
};

Tensor operator+(const Tensor& a, const Arg& b);
Tensor operator-(const Tensor& a, const Arg& b);
Tensor operator*(const Tensor& a, const Arg& b);
Tensor operator/(const Tensor& a, const Arg& b);
Tensor operator-(const Tensor& a);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);

// Free forms of the ops a training program uses.
Tensor matmul(const Tensor& a, const Tensor& b,
              std::source_location loc = std::source_location::current());
Tensor relu(const Tensor& x, std::source_location loc = std::source_location::current());
Tensor log_softmax(const Tensor& x, int64_t dim,
                   std::source_location loc = std::source_location::current());
Tensor softmax(const Tensor& x, int64_t dim,
               std::source_location loc = std::source_location::current());
Tensor maximum(const Tensor& a, const Tensor& b,
               std::source_location loc = std::source_location::current());
Tensor ones_like(const Tensor& x, std::source_location loc = std::source_location::current());
Tensor zeros_like(const Tensor& x, std::source_location loc = std::source_location::current());

// ---------------------------------------------------------------- templates

template <typename T>
Tensor Session::FromVector(const std::vector<T>& values, const Shape& sizes,
                           std::source_location loc) {
  return FromBytes(values.data(), values.size() * sizeof(T), DTypeOf<T>::value, sizes, loc);
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  client::FetchedTensor f = impl_->core()->Fetch(impl_);
  if (f.dtype != DTypeOf<T>::value) {
    throw OpError(ErrorKind::kType, StrCat("[to_vector] tensor is ", DTypeName(f.dtype), ", not ",
                                           DTypeName(DTypeOf<T>::value)));
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
