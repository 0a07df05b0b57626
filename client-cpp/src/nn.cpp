#include "tensord/nn.h"

#include <cmath>

namespace tensord::nn {

// ---------------------------------------------------------------- Module

Tensor Module::forward(const Tensor&) {
  Fail(ErrorKind::kNotImplemented, "[", type_name_, "] has no single-input forward");
}

Tensor Module::register_parameter(std::string name, Tensor t, bool requires_grad) {
  TD_CHECK(name.find('.') == std::string::npos && !name.empty(), kRuntime,
           "[register_parameter] parameter name can't contain \".\" or be empty, got '", name, "'");
  if (t.defined()) {
    if (!t.is_leaf()) t = t.detach();  // a parameter is a leaf, as nn.Parameter(t)
    if (t.requires_grad() != requires_grad) t.set_requires_grad(requires_grad);
  }
  for (auto& [n, p] : params_) {
    if (n == name) {
      p = t;
      return t;
    }
  }
  params_.emplace_back(std::move(name), t);
  return t;
}

Tensor Module::register_buffer(std::string name, Tensor t) {
  TD_CHECK(name.find('.') == std::string::npos && !name.empty(), kRuntime,
           "[register_buffer] buffer name can't contain \".\" or be empty, got '", name, "'");
  for (auto& [n, b] : buffers_) {
    if (n == name) {
      b = t;
      return t;
    }
  }
  buffers_.emplace_back(std::move(name), t);
  return t;
}

void Module::AddChild(std::string name, std::shared_ptr<Module> m) {
  TD_CHECK(m != nullptr, kType, "[register_module] '", name, "' is a null module");
  TD_CHECK(name.find('.') == std::string::npos && !name.empty(), kRuntime,
           "[register_module] module name can't contain \".\" or be empty, got '", name, "'");
  for (auto& [n, c] : children_) {
    if (n == name) {
      c = std::move(m);
      return;
    }
  }
  children_.emplace_back(std::move(name), std::move(m));
}

void Module::Collect(const std::string& prefix, bool params, bool buffers, bool recurse,
                     NamedTensors& out) const {
  // Undefined entries (bias=false) are registered as None and skipped, as in torch.
  if (params) {
    for (const auto& [n, t] : params_) {
      if (t.defined()) out.emplace_back(prefix + n, t);
    }
  }
  if (buffers) {
    for (const auto& [n, t] : buffers_) {
      if (t.defined()) out.emplace_back(prefix + n, t);
    }
  }
  if (!recurse) return;
  for (const auto& [n, c] : children_) c->Collect(prefix + n + ".", params, buffers, true, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  Collect("", true, false, recurse, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  Collect("", false, true, recurse, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  Collect("", true, true, true, out);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [n, c] : children_) out.push_back(c);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad(bool set_to_none) {
  std::vector<Tensor> params = parameters();
  if (!params.empty()) params[0].session().Call("_zero_grad", {params, set_to_none});
}

Tensor Module::get(const std::string& name) const {
  for (const auto& [n, t] : params_) {
    if (n == name) return t;
  }
  for (const auto& [n, t] : buffers_) {
    if (n == name) return t;
  }
  return Tensor();
}

// ---------------------------------------------------------------- init

namespace init {

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t) {
  TD_CHECK(t.dim() >= 2, kValue,
           "[init] Fan in and fan out can not be computed for tensor with "
           "fewer than 2 dimensions");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.sizes()[d];
  return {t.sizes()[1] * receptive, t.sizes()[0] * receptive};
}

void uniform_(const Tensor& t, double from, double to) {
  NoGradGuard no_grad;
  t.uniform_(from, to);
}

void kaiming_uniform_(const Tensor& t, double a) {
  const int64_t fan_in = fan_in_and_fan_out(t).first;
  if (fan_in == 0) return;  // torch warns "Initializing zero-element tensors is a no-op"
  const double gain = std::sqrt(2.0 / (1 + a * a));
  const double bound = std::sqrt(3.0) * gain / std::sqrt(static_cast<double>(fan_in));
  uniform_(t, -bound, bound);
}

}  // namespace init

namespace {

// torch.nn's reset_parameters of Linear and Conv: kaiming_uniform_(a=sqrt(5))
// weight, uniform(+-1/sqrt(fan_in)) bias.
void DefaultInit(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const int64_t fan_in = init::fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0;
    init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

// ---------------------------------------------------------------- layers

Linear::Linear(Session& s, int64_t in_features, int64_t out_features, bool with_bias)
    : Module("Linear") {
  weight = s.Empty({out_features, in_features});
  if (with_bias) bias = s.Empty({out_features});
  DefaultInit(weight, bias);
  weight = register_parameter("weight", weight);
  bias = register_parameter("bias", bias);
}

Tensor Linear::forward(const Tensor& input) { return functional::linear(input, weight, bias); }

Conv2d::Conv2d(Session& s, int64_t in_channels, int64_t out_channels,
               std::vector<int64_t> kernel_size, Conv2dOptions opts)
    : Module("Conv2d"), options(std::move(opts)) {
  if (kernel_size.size() == 1) kernel_size.push_back(kernel_size[0]);
  TD_CHECK(kernel_size.size() == 2, kValue, "[Conv2d] kernel_size must have 1 or 2 elements");
  TD_CHECK(options.groups > 0, kValue, "[Conv2d] groups must be a positive integer");
  TD_CHECK(in_channels % options.groups == 0, kValue,
           "[Conv2d] in_channels must be divisible by groups");
  TD_CHECK(out_channels % options.groups == 0, kValue,
           "[Conv2d] out_channels must be divisible by groups");
  weight = s.Empty({out_channels, in_channels / options.groups, kernel_size[0], kernel_size[1]});
  if (options.bias) bias = s.Empty({out_channels});
  DefaultInit(weight, bias);
  weight = register_parameter("weight", weight);
  bias = register_parameter("bias", bias);
}

Tensor Conv2d::forward(const Tensor& input) {
  TD_CHECK(input.dim() == 3 || input.dim() == 4, kRuntime,
           "[conv2d] Expected 3D (unbatched) or 4D "
           "(batched) input to conv2d, but got input of size: ",
           ShapeStr(input.sizes()));
  const bool unbatched = input.dim() == 3;
  Tensor x = unbatched ? input.session().Call1("unsqueeze", {input, int64_t{0}}) : input;
  Tensor y = x.session().Call1(
      "convolution", {x, weight, bias, options.stride, options.padding, options.dilation, false,
                      std::vector<int64_t>{0, 0}, options.groups});
  return unbatched ? y.session().Call1("squeeze", {y, int64_t{0}}) : y;
}

BatchNorm2d::BatchNorm2d(Session& s, int64_t num_features, double eps_, double momentum_,
                         bool affine, bool track_running_stats)
    : Module("BatchNorm2d"), eps(eps_), momentum(momentum_) {
  if (affine) {
    weight = register_parameter("weight", s.Ones({num_features}));
    bias = register_parameter("bias", s.Zeros({num_features}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", s.Zeros({num_features}));
    running_var = register_buffer("running_var", s.Ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", s.Zeros({}, DType::kInt64));
  }
}

Tensor BatchNorm2d::forward(const Tensor& input) {
  TD_CHECK(input.dim() == 4, kValue, "[BatchNorm2d] expected 4D input (got ", input.dim(),
           "D input)");
  const bool use_batch_stats = is_training() || !running_mean.defined();
  if (is_training() && num_batches_tracked.defined()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  // The daemon's kernel updates the running stats in place when training.
  return input.session().Call("native_batch_norm", {input, weight, bias, running_mean, running_var,
                                                    use_batch_stats, momentum, eps})[0];
}

Dropout::Dropout(double p_) : Module("Dropout"), p(p_) {
  TD_CHECK(p >= 0 && p <= 1, kValue,
           "[Dropout] dropout probability has to be between 0 and 1, but got ", p);
}

Tensor Dropout::forward(const Tensor& input) {
  return functional::dropout(input, p, is_training());
}

MaxPool2d::MaxPool2d(std::vector<int64_t> kernel_size_, std::vector<int64_t> stride_,
                     std::vector<int64_t> padding_, std::vector<int64_t> dilation_, bool ceil_mode_)
    : Module("MaxPool2d"),
      kernel_size(std::move(kernel_size_)),
      stride(std::move(stride_)),
      padding(std::move(padding_)),
      dilation(std::move(dilation_)),
      ceil_mode(ceil_mode_) {}

Tensor MaxPool2d::forward(const Tensor& input) {
  return input.session().Call("max_pool2d_with_indices",
                              {input, kernel_size, stride, padding, dilation, ceil_mode})[0];
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& [n, c] : named_children()) x = c->forward(x);
  return x;
}

// ---------------------------------------------------------------- functional

namespace functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  Session s = input.session();
  if (input.dim() == 2 && bias.defined()) return s.Call1("addmm", {bias, input, weight.t()});
  Tensor y = input.matmul(weight.t());
  return bias.defined() ? y + bias : y;
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                Reduction reduction, int64_t ignore_index) {
  return input.session().Call(
      "nll_loss_forward",
      {input, target, weight, static_cast<int64_t>(reduction), ignore_index})[0];
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction,
                     int64_t ignore_index) {
  const int64_t class_dim = input.dim() == 1 ? 0 : 1;
  return nll_loss(input.log_softmax(class_dim), target, Tensor(), reduction, ignore_index);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return input.session().Call1("mse_loss", {input, target, static_cast<int64_t>(reduction)});
}

Tensor dropout(const Tensor& input, double p, bool training) {
  TD_CHECK(p >= 0 && p <= 1, kValue,
           "[dropout] dropout probability has to be between 0 and 1, but got ", p);
  if (!training || p == 0) return input;
  Session s = input.session();
  if (p == 1) return input * 0.0;
  Tensor mask = s.Empty(input.sizes(), input.dtype());
  {
    NoGradGuard no_grad;
    mask.session().Call("bernoulli_", {mask, 1 - p});
    mask.mul_(1 / (1 - p));
  }
  return input * mask;
}

}  // namespace functional
}  // namespace tensord::nn
