#include "tensord/tensor.h"

namespace tensord {
namespace {

std::string Where(const std::source_location& loc) {
  if (loc.line() == 0) return "";
  return std::string(loc.file_name()) + ":" + std::to_string(loc.line());
}

}  // namespace

Arg::Arg(const Tensor& t) : tensor(t.impl()) {
  if (tensor) value = Value::Tensor(0);
}

Arg::Arg(const std::vector<Tensor>& ts) : value(Value::Tensors({})) {
  for (const Tensor& t : ts) {
    TD_CHECK(t.defined(), kType, "[Arg] a tensor list holds an undefined tensor");
    tensor_list.push_back(t.impl());
  }
}

Session Session::Connect(const std::string& address, const client::ConnectOptions& options) {
  return Session(client::Core::Connect(address, options));
}

std::vector<Tensor> Session::Call(const std::string& name, std::vector<Arg> args,
                                  std::source_location loc) {
  const OpSchema* op = FindOp(name);
  TD_CHECK(op != nullptr, kNotFound, "[", name, "] no such op in the schema");
  TD_CHECK(args.size() <= op->params.size(), kType, "[", name, "] takes at most ",
           op->params.size(), " arguments (", op->signature, "), got ", args.size());
  std::vector<Value> values;
  std::vector<std::shared_ptr<client::TensorImpl>> tensors;
  for (size_t i = 0; i < op->params.size(); ++i) {
    if (i < args.size()) {
      Value v = std::move(args[i].value);
      if (args[i].tensor) {
        v = Value::Tensor(static_cast<int64_t>(tensors.size()));
        tensors.push_back(args[i].tensor);
      } else if (v.kind == Value::Kind::kTensors) {
        v.ints.clear();
        for (auto& t : args[i].tensor_list) {
          v.ints.push_back(static_cast<int64_t>(tensors.size()));
          tensors.push_back(t);
        }
      }
      values.push_back(std::move(v));
    } else {
      TD_CHECK(op->params[i].has_default, kType, "[", name, "] missing argument '",
               op->params[i].name, "' (", op->signature, ")");
      values.push_back(op->params[i].default_value);
    }
  }
  auto results = core_->Call(*op, std::move(values), tensors, Where(loc));
  std::vector<Tensor> out;
  for (auto& r : results) out.emplace_back(std::move(r));
  return out;
}

Tensor Session::Call1(const std::string& op, std::vector<Arg> args, std::source_location loc) {
  auto r = Call(op, std::move(args), loc);
  TD_CHECK(r.size() == 1, kRuntime, "[", op, "] returns ", r.size(), " tensors, not one");
  return r[0];
}

Tensor Session::FromBytes(const void* data, size_t n, DType dtype, const Shape& sizes,
                          std::source_location loc) {
  return Tensor(core_->FromBytes(data, n, dtype, sizes, Where(loc)));
}

Tensor Session::Zeros(const Shape& sizes, DType dtype, std::source_location loc) {
  return Call1("zeros", {std::vector<int64_t>(sizes), dtype}, loc);
}

Tensor Session::Ones(const Shape& sizes, DType dtype, std::source_location loc) {
  return Call1("ones", {std::vector<int64_t>(sizes), dtype}, loc);
}

Tensor Session::Arange(double start, double end, double step, std::source_location loc) {
  return Call1("arange", {start, end, step}, loc);
}

Tensor Session::Empty(const Shape& sizes, DType dtype, std::source_location loc) {
  return Call1("empty", {std::vector<int64_t>(sizes), dtype}, loc);
}

Tensor Session::Full(const Shape& sizes, double value, DType dtype, std::source_location loc) {
  return Call1("full", {std::vector<int64_t>(sizes), value, dtype}, loc);
}

Tensor Session::Scalar(double value, DType dtype, std::source_location loc) {
  return Full({}, value, dtype, loc);
}

void Session::ManualSeed(int64_t seed, std::source_location loc) {
  Call("manual_seed", {seed}, loc);
}

Session Tensor::session() const {
  TD_CHECK(impl_ != nullptr, kRuntime, "[Tensor] the tensor is undefined");
  return Session(impl_->core());
}

Tensor Tensor::Op(const char* op, std::vector<Arg> rest, const Loc& loc) const {
  rest.insert(rest.begin(), Arg(*this));
  return session().Call1(op, std::move(rest), loc);
}

int64_t Tensor::size(int64_t dim) const {
  const int64_t n = this->dim();
  TD_CHECK(n > 0, kIndex, "[size] Dimension specified as ", dim, " but tensor has no dimensions");
  const int64_t d = dim < 0 ? dim + n : dim;
  TD_CHECK(d >= 0 && d < n, kIndex, "[size] Dimension out of range (expected to be in range of [",
           -n, ", ", n - 1, "], but got ", dim, ")");
  return sizes()[d];
}

// ---------------------------------------------------------------- autograd

Tensor& Tensor::set_requires_grad(bool requires_grad, Loc loc) {
  session().Call("requires_grad_", {*this, requires_grad}, loc);
  return *this;
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph,
                      Loc loc) const {
  TD_CHECK(requires_grad(), kRuntime,
           "[backward] element 0 of tensors does not require grad and does not have a grad_fn");
  Tensor g = gradient;
  if (!g.defined()) {
    TD_CHECK(numel() == 1, kRuntime,
             "[backward] grad can be implicitly created only for scalar outputs");
    g = ones_like(*this, loc);
  } else {
    TD_CHECK(g.sizes() == sizes(), kRuntime,
             "[backward] Mismatch in shape: grad_output[0] has a shape of ", ShapeStr(g.sizes()),
             " and output[0] has a shape of ", ShapeStr(sizes()), ".");
  }
  session().Call("_backward",
                 {std::vector<Tensor>{*this}, std::vector<Tensor>{g}, std::vector<Tensor>{},
                  retain_graph.value_or(create_graph), create_graph},
                 loc);
}

Tensor Tensor::grad(Loc loc) const {
  client::TensorImpl& impl = *impl_;
  const auto& core = impl.core();
  if (impl.grad_cache_epoch != core->grad_epoch() || (!impl.grad_cache && !impl.grad_cache_none)) {
    Tensor r = Op("_grad_get", {}, loc);
    const bool none = r.impl()->is_none();  // a round trip
    impl.grad_cache = none ? nullptr : r.impl();
    impl.grad_cache_none = none;
    impl.grad_cache_epoch = core->grad_epoch();
  }
  return impl.grad_cache_none ? Tensor() : Tensor(impl.grad_cache);
}

void Tensor::set_grad(const Tensor& grad, Loc loc) const {
  if (grad.defined()) {
    TD_CHECK(grad.sizes() == sizes(), kRuntime,
             "[set_grad] assigned grad has data of a different size");
    TD_CHECK(grad.dtype() == dtype(), kRuntime,
             "[set_grad] assigned grad has data of a different type");
  }
  session().Call("_grad_set", {*this, grad}, loc);
}

void Tensor::zero_grad_(bool set_to_none, Loc loc) const {
  session().Call("_zero_grad", {std::vector<Tensor>{*this}, set_to_none}, loc);
}

Tensor Tensor::detach(Loc loc) const { return Op("detach", {}, loc); }

// ---------------------------------------------------------------- ops

Tensor Tensor::matmul(const Tensor& other, Loc loc) const { return Op("matmul", {other}, loc); }
Tensor Tensor::mm(const Tensor& other, Loc loc) const { return Op("mm", {other}, loc); }
Tensor Tensor::t(Loc loc) const { return Op("t", {}, loc); }
Tensor Tensor::relu(Loc loc) const { return Op("relu", {}, loc); }
Tensor Tensor::exp(Loc loc) const { return Op("exp", {}, loc); }
Tensor Tensor::log(Loc loc) const { return Op("log", {}, loc); }
Tensor Tensor::sqrt(Loc loc) const { return Op("sqrt", {}, loc); }
Tensor Tensor::pow(double exponent, Loc loc) const { return Op("pow", {exponent}, loc); }
Tensor Tensor::softmax(int64_t dim, Loc loc) const { return Op("softmax", {dim}, loc); }
Tensor Tensor::log_softmax(int64_t dim, Loc loc) const { return Op("log_softmax", {dim}, loc); }
Tensor Tensor::sum(Loc loc) const { return Op("sum", {}, loc); }
Tensor Tensor::sum(std::vector<int64_t> dims, bool keepdim, Loc loc) const {
  return Op("sum", {std::move(dims), keepdim}, loc);
}
Tensor Tensor::mean(Loc loc) const { return Op("mean", {}, loc); }
Tensor Tensor::mean(std::vector<int64_t> dims, bool keepdim, Loc loc) const {
  return Op("mean", {std::move(dims), keepdim}, loc);
}
Tensor Tensor::argmax(Loc loc) const { return Op("argmax", {}, loc); }
Tensor Tensor::argmax(int64_t dim, bool keepdim, Loc loc) const {
  return Op("argmax", {dim, keepdim}, loc);
}
Tensor Tensor::eq(const Arg& other, Loc loc) const { return Op("eq", {other}, loc); }
Tensor Tensor::gt(const Arg& other, Loc loc) const { return Op("gt", {other}, loc); }
Tensor Tensor::lt(const Arg& other, Loc loc) const { return Op("lt", {other}, loc); }
Tensor Tensor::view(std::vector<int64_t> size, Loc loc) const {
  return Op("view", {std::move(size)}, loc);
}
Tensor Tensor::reshape(std::vector<int64_t> size, Loc loc) const {
  return Op("reshape", {std::move(size)}, loc);
}
Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim, Loc loc) const {
  return Op("flatten", {start_dim, end_dim}, loc);
}
Tensor Tensor::to(DType dtype, Loc loc) const {
  if (dtype == this->dtype()) return *this;  // as PyTorch: no copy
  return Op("to_dtype", {dtype}, loc);
}
Tensor Tensor::clone(Loc loc) const { return Op("clone", {}, loc); }
Tensor Tensor::add_(const Arg& other, double alpha, Loc loc) const {
  return Op("add_", {other, alpha}, loc);
}
Tensor Tensor::mul_(const Arg& other, Loc loc) const { return Op("mul_", {other}, loc); }
Tensor Tensor::zero_(Loc loc) const { return Op("zero_", {}, loc); }
Tensor Tensor::fill_(double value, Loc loc) const { return Op("fill_", {value}, loc); }
Tensor Tensor::copy_(const Tensor& src, Loc loc) const { return Op("copy_", {src}, loc); }
Tensor Tensor::uniform_(double from, double to, Loc loc) const {
  return Op("uniform_", {from, to}, loc);
}
Tensor Tensor::normal_(double mean, double std, Loc loc) const {
  return Op("normal_", {mean, std}, loc);
}

Tensor matmul(const Tensor& a, const Tensor& b, std::source_location loc) {
  return a.matmul(b, loc);
}
Tensor relu(const Tensor& x, std::source_location loc) { return x.relu(loc); }
Tensor log_softmax(const Tensor& x, int64_t dim, std::source_location loc) {
  return x.log_softmax(dim, loc);
}
Tensor softmax(const Tensor& x, int64_t dim, std::source_location loc) {
  return x.softmax(dim, loc);
}
Tensor maximum(const Tensor& a, const Tensor& b, std::source_location loc) {
  return a.session().Call1("maximum", {a, b}, loc);
}
Tensor ones_like(const Tensor& x, std::source_location loc) {
  return x.session().Call1("ones", {std::vector<int64_t>(x.sizes()), x.dtype()}, loc);
}
Tensor zeros_like(const Tensor& x, std::source_location loc) {
  return x.session().Call1("zeros", {std::vector<int64_t>(x.sizes()), x.dtype()}, loc);
}

namespace {
Tensor Binary(const char* op, const Tensor& a, const Arg& b) {
  return Session(a.impl()->core()).Call1(op, {a, b}, std::source_location());
}
}  // namespace

Tensor operator+(const Tensor& a, const Arg& b) { return Binary("add", a, b); }
Tensor operator-(const Tensor& a, const Arg& b) { return Binary("sub", a, b); }
Tensor operator*(const Tensor& a, const Arg& b) { return Binary("mul", a, b); }
Tensor operator/(const Tensor& a, const Arg& b) { return Binary("div", a, b); }
Tensor operator-(const Tensor& a) {
  return Session(a.impl()->core()).Call1("neg", {a}, std::source_location());
}
Tensor operator+(double a, const Tensor& b) { return Binary("add", b, a); }
Tensor operator-(double a, const Tensor& b) {
  return Session(b.impl()->core()).Call1("sub", {a, b}, std::source_location());
}
Tensor operator*(double a, const Tensor& b) { return Binary("mul", b, a); }

}  // namespace tensord
