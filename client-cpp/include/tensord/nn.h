// tensord::nn: modules and losses for training from C++, in the shape of
// torch.nn. Parameters are daemon tensors that require grad; every forward
// records daemon ops, so autograd and the optimizers (tensord/optim.h) work
// on them as in Python.
//
//   auto model = std::make_shared<nn::Sequential>(
//       session, nn::Linear(session, 2, 16), nn::ReLU(), nn::Linear(session, 16, 2));
//   auto loss = nn::functional::cross_entropy(model->forward(x), y);
//
// Modules are held by std::shared_ptr; a parent keeps its children alive.
#ifndef TENSORD_CLIENT_NN_H_
#define TENSORD_CLIENT_NN_H_

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tensord/tensor.h"

namespace tensord::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;  // parameters are handles: a move keeps them
  Module& operator=(Module&&) = default;

  // Single-input modules override this; the default throws.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  const std::string& type_name() const { return type_name_; }
  // Own parameters first, then each child's under "child." (PyTorch's order).
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  // Parameters then buffers of each module, depth first: torch's state_dict.
  NamedTensors state_dict() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  std::vector<std::shared_ptr<Module>> children() const;

  // Sets training mode here and in every descendant.
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Each parameter's grad zeroed in place (or set to None).
  void zero_grad(bool set_to_none = false);

  // The parameter or buffer registered under `name` here (undefined if none).
  Tensor get(const std::string& name) const;

 protected:
  // Makes `t` a leaf that requires grad (when requires_grad) and registers it.
  Tensor register_parameter(std::string name, Tensor t, bool requires_grad = true);
  Tensor register_buffer(std::string name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
    AddChild(std::move(name), m);
    return m;
  }
  void AddChild(std::string name, std::shared_ptr<Module> m);

 private:
  void Collect(const std::string& prefix, bool params, bool buffers, bool recurse,
               NamedTensors& out) const;
  std::string type_name_;
  bool training_ = true;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// y = x W^T + b; weight [out, in], bias [out]. PyTorch's default init:
// kaiming_uniform_(a=sqrt(5)) weight, uniform(+-1/sqrt(in)) bias.
class Linear : public Module {
 public:
  Linear(Session& s, int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& input) override;
  Tensor weight, bias;  // bias undefined when bias=false
};

struct Conv2dOptions {
  std::vector<int64_t> stride = {1, 1};
  std::vector<int64_t> padding = {0, 0};
  std::vector<int64_t> dilation = {1, 1};
  int64_t groups = 1;
  bool bias = true;
};

// 2-d convolution of NCHW (or CHW) input; weight [out, in/groups, kh, kw].
class Conv2d : public Module {
 public:
  Conv2d(Session& s, int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel_size,
         Conv2dOptions options = {});
  Tensor forward(const Tensor& input) override;
  Tensor weight, bias;
  Conv2dOptions options;
};

// Batch norm over dim 1 of NCHW input. Training: batch statistics, running
// stats updated with `momentum` (unbiased variance), num_batches_tracked
// counts; eval: running stats.
class BatchNorm2d : public Module {
 public:
  BatchNorm2d(Session& s, int64_t num_features, double eps = 1e-5, double momentum = 0.1,
              bool affine = true, bool track_running_stats = true);
  Tensor forward(const Tensor& input) override;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double eps, momentum;
};

// Zeroes each element with probability p in training, scaling the rest by
// 1/(1-p); the identity in eval.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& input) override;
  double p;
};

class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& input) override { return input.relu(); }
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& input) override { return input.flatten(start_dim, end_dim); }
  int64_t start_dim, end_dim;
};

class MaxPool2d : public Module {
 public:
  // stride empty: kernel_size.
  explicit MaxPool2d(std::vector<int64_t> kernel_size, std::vector<int64_t> stride = {},
                     std::vector<int64_t> padding = {0}, std::vector<int64_t> dilation = {1},
                     bool ceil_mode = false);
  Tensor forward(const Tensor& input) override;
  std::vector<int64_t> kernel_size, stride, padding, dilation;
  bool ceil_mode;
};

// Runs its children in order; they are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  template <typename... Ms>
  explicit Sequential(Ms&&... modules) : Module("Sequential") {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  template <typename M>
  void push_back(std::shared_ptr<M> m) {
    AddChild(std::to_string(named_children().size()), std::move(m));
  }
  // A module by value is moved into a new shared_ptr.
  template <typename M, typename = std::enable_if_t<std::is_base_of_v<Module, std::decay_t<M>>>>
  void push_back(M&& m) {
    push_back(std::make_shared<std::decay_t<M>>(std::forward<M>(m)));
  }
  Tensor forward(const Tensor& input) override;
  size_t size() const { return named_children().size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const {
    return named_children().at(i).second;
  }
};

namespace init {
// In place under NoGradGuard, with the daemon's generator.
void uniform_(const Tensor& t, double from, double to);
void kaiming_uniform_(const Tensor& t, double a = 0);
// (fan_in, fan_out) of a weight of >= 2 dims.
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t);
}  // namespace init

namespace functional {
enum class Reduction { kNone = 0, kMean = 1, kSum = 2 };
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor());
// input (N, C) logits, target (N) int64 class indices.
Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     Reduction reduction = Reduction::kMean, int64_t ignore_index = -100);
// input (N, C) log-probabilities.
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                Reduction reduction = Reduction::kMean, int64_t ignore_index = -100);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::kMean);
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true);
}  // namespace functional

}  // namespace tensord::nn

#endif  // TENSORD_CLIENT_NN_H_
