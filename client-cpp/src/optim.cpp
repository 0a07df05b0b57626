#include "tensord/optim.h"

#include <cmath>

namespace tensord::optim {

Optimizer::Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {
  TD_CHECK(!params_.empty(), kValue, "[optim] optimizer got an empty parameter list");
  for (const Tensor& p : params_) {
    TD_CHECK(p.defined(), kType, "[optim] optimizer got an undefined parameter");
    TD_CHECK(p.is_leaf(), kValue, "[optim] can't optimize a non-leaf Tensor");
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (const Tensor& p : params_) p.zero_grad_(set_to_none);
}

SGD::SGD(std::vector<Tensor> params, SGDOptions opts)
    : Optimizer(std::move(params)), options(opts), momentum_buffers_(params_.size()) {
  TD_CHECK(options.lr >= 0, kValue, "[SGD] Invalid learning rate: ", options.lr);
  TD_CHECK(options.momentum >= 0, kValue, "[SGD] Invalid momentum value: ", options.momentum);
  TD_CHECK(options.weight_decay >= 0, kValue,
           "[SGD] Invalid weight_decay value: ", options.weight_decay);
  TD_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0), kValue,
           "[SGD] Nesterov momentum requires a momentum and zero dampening");
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    Tensor d_p = p.grad();
    if (!d_p.defined()) continue;
    if (options.weight_decay != 0) d_p = d_p + p * options.weight_decay;
    if (options.momentum != 0) {
      Tensor& buf = momentum_buffers_[i];
      if (!buf.defined()) {
        buf = d_p.clone();
      } else {
        buf.mul_(options.momentum).add_(d_p, 1 - options.dampening);
      }
      d_p = options.nesterov ? d_p + buf * options.momentum : buf;
    }
    p.add_(d_p, -options.lr);
  }
}

Adam::Adam(std::vector<Tensor> params, AdamOptions opts)
    : Optimizer(std::move(params)), options(opts), state_(params_.size()) {
  TD_CHECK(options.lr >= 0, kValue, "[Adam] Invalid learning rate: ", options.lr);
  TD_CHECK(options.eps >= 0, kValue, "[Adam] Invalid epsilon value: ", options.eps);
  TD_CHECK(options.beta1 >= 0 && options.beta1 < 1, kValue,
           "[Adam] Invalid beta parameter at index 0: ", options.beta1);
  TD_CHECK(options.beta2 >= 0 && options.beta2 < 1, kValue,
           "[Adam] Invalid beta parameter at index 1: ", options.beta2);
  TD_CHECK(options.weight_decay >= 0, kValue,
           "[Adam] Invalid weight_decay value: ", options.weight_decay);
}

void Adam::step() {
  NoGradGuard no_grad;
  const double b1 = options.beta1, b2 = options.beta2;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    State& st = state_[i];
    if (st.step == 0) {
      st.exp_avg = zeros_like(p);
      st.exp_avg_sq = zeros_like(p);
      if (options.amsgrad) st.max_exp_avg_sq = zeros_like(p);
    }
    ++st.step;
    if (options.weight_decay != 0) g = g + p * options.weight_decay;
    st.exp_avg.mul_(b1).add_(g, 1 - b1);
    st.exp_avg_sq.mul_(b2).add_(g * g, 1 - b2);
    const double bias_correction1 = 1 - std::pow(b1, static_cast<double>(st.step));
    const double bias_correction2_sqrt = std::sqrt(1 - std::pow(b2, static_cast<double>(st.step)));
    Tensor second = st.exp_avg_sq;
    if (options.amsgrad) {
      st.max_exp_avg_sq.copy_(maximum(st.max_exp_avg_sq, st.exp_avg_sq));
      second = st.max_exp_avg_sq;
    }
    Tensor denom = second.sqrt() / bias_correction2_sqrt + options.eps;
    p.add_(st.exp_avg / denom, -options.lr / bias_correction1);
  }
}

}  // namespace tensord::optim
