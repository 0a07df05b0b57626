// tensord::optim: SGD and Adam over daemon parameters, with torch 1.13's
// update rules. step() records in-place daemon ops under NoGradGuard;
// parameters whose grad is None are skipped.
#ifndef TENSORD_CLIENT_OPTIM_H_
#define TENSORD_CLIENT_OPTIM_H_

#include <vector>

#include "tensord/tensor.h"

namespace tensord::optim {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  // Each parameter's grad zeroed in place (torch 1.13's default), or set to None.
  void zero_grad(bool set_to_none = false);
  const std::vector<Tensor>& params() const { return params_; }

 protected:
  std::vector<Tensor> params_;
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  void step() override;
  SGDOptions options;

 private:
  std::vector<Tensor> momentum_buffers_;  // undefined until a parameter's first step
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options);
  void step() override;
  AdamOptions options;

 private:
  struct State {
    int64_t step = 0;
    Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;
  };
  std::vector<State> state_;
};

}  // namespace tensord::optim

#endif  // TENSORD_CLIENT_OPTIM_H_
