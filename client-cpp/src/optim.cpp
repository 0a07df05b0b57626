#include "tensord/optim.h"

namespace tensord::optim {
namespace {

// Zeros shaped like each parameter (made once: the daemon's kernels write them
// in place).
std::vector<Tensor> ZerosLike(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const Tensor& p : params) out.push_back(zeros_like(p));
  return out;
}

void CheckAdam(const char* name, const AdamOptions& o) {
  TD_CHECK(o.lr >= 0, kValue, "[", name, "] Invalid learning rate: ", o.lr);
  TD_CHECK(o.eps >= 0, kValue, "[", name, "] Invalid epsilon value: ", o.eps);
  TD_CHECK(o.beta1 >= 0 && o.beta1 < 1, kValue, "[", name,
           "] Invalid beta parameter at index 0: ", o.beta1);
  TD_CHECK(o.beta2 >= 0 && o.beta2 < 1, kValue, "[", name,
           "] Invalid beta parameter at index 1: ", o.beta2);
  TD_CHECK(o.weight_decay >= 0, kValue, "[", name,
           "] Invalid weight_decay value: ", o.weight_decay);
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {
  TD_CHECK(!params_.empty(), kValue, "[optim] optimizer got an empty parameter list");
  for (const Tensor& p : params_) {
    TD_CHECK(p.defined(), kType, "[optim] optimizer got an undefined parameter");
    TD_CHECK(p.is_leaf(), kValue, "[optim] can't optimize a non-leaf Tensor");
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  params_[0].session().Call("_zero_grad", {params_, set_to_none});
}

SGD::SGD(std::vector<Tensor> params, SGDOptions opts)
    : Optimizer(std::move(params)), options(opts) {
  TD_CHECK(options.lr >= 0, kValue, "[SGD] Invalid learning rate: ", options.lr);
  TD_CHECK(options.momentum >= 0, kValue, "[SGD] Invalid momentum value: ", options.momentum);
  TD_CHECK(options.weight_decay >= 0, kValue,
           "[SGD] Invalid weight_decay value: ", options.weight_decay);
  TD_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0), kValue,
           "[SGD] Nesterov momentum requires a momentum and zero dampening");
  NoGradGuard no_grad;
  Session s = params_[0].session();
  steps_ = s.Zeros({static_cast<int64_t>(params_.size())}, DType::kFloat64);
  if (options.momentum != 0) momentum_buffers_ = ZerosLike(params_);
}

void SGD::step() {
  NoGradGuard no_grad;
  params_[0].session().Call(
      "_sgd_step", {params_, momentum_buffers_, steps_, options.lr, options.momentum,
                    options.dampening, options.weight_decay, options.nesterov, options.maximize});
}

Adam::Adam(std::vector<Tensor> params, AdamOptions opts)
    : Optimizer(std::move(params)), options(opts) {
  CheckAdam("Adam", options);
  NoGradGuard no_grad;
  Session s = params_[0].session();
  steps_ = s.Zeros({static_cast<int64_t>(params_.size())}, DType::kFloat64);
  exp_avgs_ = ZerosLike(params_);
  exp_avg_sqs_ = ZerosLike(params_);
  if (options.amsgrad) max_exp_avg_sqs_ = ZerosLike(params_);
}

void Adam::step() {
  NoGradGuard no_grad;
  params_[0].session().Call("_adam_step",
                            {params_, exp_avgs_, exp_avg_sqs_, max_exp_avg_sqs_, steps_, options.lr,
                             options.beta1, options.beta2, options.eps, options.weight_decay,
                             options.amsgrad, options.maximize, decoupled_weight_decay_});
}

AdamW::AdamW(std::vector<Tensor> params, AdamOptions opts) : Adam(std::move(params), opts) {
  decoupled_weight_decay_ = true;
}

}  // namespace tensord::optim
