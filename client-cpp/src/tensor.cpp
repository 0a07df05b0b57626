#include "tensord/tensor.h"

namespace tensord {
namespace {

std::string Where(const std::source_location& loc) {
  if (loc.line() == 0) return "";
  return std::string(loc.file_name()) + ":" + std::to_string(loc.line());
}

}  // namespace

Arg::Arg(const Tensor& t) : value(Value::Tensor(0)), tensor(t.impl()) {}

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

Session Tensor::session() const { return Session(impl_->core()); }

Tensor Tensor::matmul(const Tensor& other, std::source_location loc) const {
  return session().Call1("matmul", {*this, other}, loc);
}
Tensor Tensor::sum(std::source_location loc) const { return session().Call1("sum", {*this}, loc); }
Tensor Tensor::view(std::vector<int64_t> size, std::source_location loc) const {
  return session().Call1("view", {*this, std::move(size)}, loc);
}
Tensor Tensor::to(DType dtype, std::source_location loc) const {
  if (dtype == this->dtype()) return *this;  // as PyTorch: no copy
  return session().Call1("to_dtype", {*this, dtype}, loc);
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

}  // namespace tensord
