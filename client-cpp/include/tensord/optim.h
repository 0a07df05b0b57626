// tensord::optim: SGD, Adam and AdamW over daemon parameters, with torch
// 1.13's update rules. step() records one fused daemon op (_sgd_step,
// _adam_step) that reads each parameter's grad on the daemon, so a step makes
// no round trip; parameters whose grad is None are skipped. The state
// (momentum buffers, moments, step counts) lives on the daemon.
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
  // Each parameter's grad zeroed in place (torch 1.13's default), or set to
  // None: one daemon op.
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
  bool maximize = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  void step() override;
  SGDOptions options;

 private:
  std::vector<Tensor> momentum_buffers_;  // empty without momentum
  Tensor steps_;                          // float64 [n]: steps taken per parameter
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options);
  void step() override;
  AdamOptions options;

 protected:
  bool decoupled_weight_decay_ = false;  // AdamW

 private:
  std::vector<Tensor> exp_avgs_, exp_avg_sqs_, max_exp_avg_sqs_;
  Tensor steps_;
};

// Adam with decoupled weight decay (p *= 1 - lr * weight_decay).
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamOptions options);
};

}  // namespace tensord::optim

#endif  // TENSORD_CLIENT_OPTIM_H_
