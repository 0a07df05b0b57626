// Fused optimizer steps: one op per parameter group. The kernels read each
// parameter's .grad here on the daemon (a parameter without one is skipped,
// like torch's `if p.grad is None: continue`), so a training step makes no
// round trip for gradients. The arithmetic is PyTorch 1.13's single-tensor
// algorithms, written with daemon ops (so every dtype and device works).
#include "scheduler/autograd/optim_ops.h"

#include <cmath>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/formula_api.h"
#include "scheduler/autograd/variable.h"

namespace tensord::autograd {
namespace {

Tensor GradOf(const Tensor& p) { return p.autograd ? p.autograd->grad : Tensor{}; }

// A per-parameter counter on the host: float64 [n], written in place.
double* Counters(const KernelContext& ctx, size_t arg, size_t n) {
  const Tensor& t = ctx.tensor(arg);
  TD_CHECK(t.dtype() == DType::kFloat64 && t.meta.device.is_cpu() && t.is_contiguous() &&
               t.numel() == static_cast<int64_t>(n),
           kRuntime, "[", ctx.op.name, "] expects a contiguous float64 cpu tensor of ", n,
           " step counters");
  return t.data<double>();
}

// The gradient an update uses: negated for maximize, plus weight_decay * p
// (L2, not AdamW's decoupled form).
Tensor UpdateGrad(const Tensor& p, const Tensor& g, bool maximize, double weight_decay) {
  Tensor grad = maximize ? call("neg", {Data(g)}) : Data(g);
  if (weight_decay != 0) grad = call("add", {grad, p, Value::Float(weight_decay)});
  return grad;
}

void CheckList(const KernelContext& ctx, size_t arg, size_t n, const char* what) {
  const size_t got = ctx.tensor_list(arg).size();
  TD_CHECK(got == n, kRuntime, "[", ctx.op.name, "] got ", got, " ", what, " for ", n, " params");
}

// _zero_grad(params, set_to_none): Optimizer/Module.zero_grad.
void ZeroGradKernel(KernelContext& ctx) {
  GradModeGuard no_grad(false);
  const bool to_none = ctx.args.get_bool(1);
  for (const Tensor* p : ctx.tensor_list(0)) {
    if (!p->autograd || !p->autograd->grad.defined()) continue;
    Tensor& g = p->autograd->grad;
    if (to_none) {
      g = Tensor{};
      continue;
    }
    if (g.autograd) {  // a grad with history (create_graph): cut it, as torch's detach_
      g.autograd->grad_fn = nullptr;
      g.autograd->requires_grad = false;
    }
    call("zero_", {Data(g)});
  }
}

// _sgd_step(params, momentum_buffers, steps, lr, momentum, dampening,
//           weight_decay, nesterov, maximize)
void SgdStepKernel(KernelContext& ctx) {
  GradModeGuard no_grad(false);
  std::vector<const Tensor*> params = ctx.tensor_list(0);
  const double lr = ctx.args.get_float(3), momentum = ctx.args.get_float(4);
  const double dampening = ctx.args.get_float(5), wd = ctx.args.get_float(6);
  const bool nesterov = ctx.args.get_bool(7), maximize = ctx.args.get_bool(8);
  std::vector<const Tensor*> bufs = ctx.tensor_list(1);
  if (momentum != 0) CheckList(ctx, 1, params.size(), "momentum buffers");
  double* steps = Counters(ctx, 2, params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor p = Data(*params[i]);
    Tensor g = GradOf(*params[i]);
    if (!g.defined()) continue;
    Tensor d_p = UpdateGrad(p, g, maximize, wd);
    if (momentum != 0) {
      const Tensor buf = Data(*bufs[i]);
      if (steps[i] == 0) {
        call("copy_", {buf, d_p});
      } else {
        call("mul_", {buf, momentum});
        call("add_", {buf, d_p, Value::Float(1 - dampening)});
      }
      d_p = nesterov ? call("add", {d_p, buf, Value::Float(momentum)}) : buf;
    }
    steps[i] += 1;
    call("add_", {p, d_p, Value::Float(-lr)});
  }
}

// _adam_step(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr,
//            beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled)
void AdamStepKernel(KernelContext& ctx) {
  GradModeGuard no_grad(false);
  std::vector<const Tensor*> params = ctx.tensor_list(0);
  CheckList(ctx, 1, params.size(), "exp_avgs");
  CheckList(ctx, 2, params.size(), "exp_avg_sqs");
  const bool amsgrad = ctx.args.get_bool(10);
  if (amsgrad) CheckList(ctx, 3, params.size(), "max_exp_avg_sqs");
  std::vector<const Tensor*> m1 = ctx.tensor_list(1), m2 = ctx.tensor_list(2),
                             mx = ctx.tensor_list(3);
  double* steps = Counters(ctx, 4, params.size());
  const double lr = ctx.args.get_float(5), beta1 = ctx.args.get_float(6);
  const double beta2 = ctx.args.get_float(7), eps = ctx.args.get_float(8);
  const double wd = ctx.args.get_float(9);
  const bool maximize = ctx.args.get_bool(11), decoupled = ctx.args.get_bool(12);
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor p = Data(*params[i]);
    Tensor g = GradOf(*params[i]);
    if (!g.defined()) continue;
    const double step = steps[i] += 1;
    if (decoupled && wd != 0) call("mul_", {p, 1 - lr * wd});
    Tensor grad = UpdateGrad(p, g, maximize, decoupled ? 0.0 : wd);
    const Tensor exp_avg = Data(*m1[i]), exp_avg_sq = Data(*m2[i]);
    call("mul_", {exp_avg, beta1});
    call("add_", {exp_avg, grad, Value::Float(1 - beta1)});
    call("mul_", {exp_avg_sq, beta2});
    call("add_", {exp_avg_sq, call("mul", {grad, grad}), Value::Float(1 - beta2)});
    const double bias_correction1 = 1 - std::pow(beta1, step);
    const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, step));
    const double step_size = lr / bias_correction1;
    Tensor denom_of = exp_avg_sq;
    if (amsgrad) {
      const Tensor max_sq = Data(*mx[i]);
      call("copy_", {max_sq, call("maximum", {max_sq, exp_avg_sq})});
      denom_of = max_sq;
    }
    Tensor denom = call("add", {call("div", {call("sqrt", {denom_of}), bias_correction2_sqrt}), eps});
    call("add_", {p, call("div", {exp_avg, denom}), Value::Float(-step_size)});
  }
}

// _rmsprop_step(params, square_avgs, momentum_buffers, grad_avgs, steps, lr,
//               alpha, eps, weight_decay, momentum, centered, maximize)
void RmspropStepKernel(KernelContext& ctx) {
  GradModeGuard no_grad(false);
  std::vector<const Tensor*> params = ctx.tensor_list(0);
  const double lr = ctx.args.get_float(5), alpha = ctx.args.get_float(6);
  const double eps = ctx.args.get_float(7), wd = ctx.args.get_float(8);
  const double momentum = ctx.args.get_float(9);
  const bool centered = ctx.args.get_bool(10), maximize = ctx.args.get_bool(11);
  CheckList(ctx, 1, params.size(), "square_avgs");
  if (momentum > 0) CheckList(ctx, 2, params.size(), "momentum buffers");
  if (centered) CheckList(ctx, 3, params.size(), "grad_avgs");
  std::vector<const Tensor*> sq = ctx.tensor_list(1), bufs = ctx.tensor_list(2),
                             gavg = ctx.tensor_list(3);
  double* steps = Counters(ctx, 4, params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor p = Data(*params[i]);
    Tensor g = GradOf(*params[i]);
    if (!g.defined()) continue;
    const Tensor grad = UpdateGrad(p, g, maximize, wd);
    steps[i] += 1;
    const Tensor square_avg = Data(*sq[i]);
    call("mul_", {square_avg, alpha});
    call("add_", {square_avg, call("mul", {grad, grad}), Value::Float(1 - alpha)});
    Tensor avg;
    if (centered) {
      const Tensor grad_avg = Data(*gavg[i]);
      call("mul_", {grad_avg, alpha});
      call("add_", {grad_avg, grad, Value::Float(1 - alpha)});
      avg = call("sqrt", {call("sub", {square_avg, call("mul", {grad_avg, grad_avg})})});
    } else {
      avg = call("sqrt", {square_avg});
    }
    avg = call("add", {avg, eps});
    if (momentum > 0) {
      const Tensor buf = Data(*bufs[i]);
      call("mul_", {buf, momentum});
      call("add_", {buf, call("div", {grad, avg})});
      call("add_", {p, buf, Value::Float(-lr)});
    } else {
      call("add_", {p, call("div", {grad, avg}), Value::Float(-lr)});
    }
  }
}

// _adagrad_step(params, sums, steps, lr, lr_decay, weight_decay, eps, maximize)
void AdagradStepKernel(KernelContext& ctx) {
  GradModeGuard no_grad(false);
  std::vector<const Tensor*> params = ctx.tensor_list(0);
  CheckList(ctx, 1, params.size(), "sums");
  std::vector<const Tensor*> sums = ctx.tensor_list(1);
  double* steps = Counters(ctx, 2, params.size());
  const double lr = ctx.args.get_float(3), lr_decay = ctx.args.get_float(4);
  const double wd = ctx.args.get_float(5), eps = ctx.args.get_float(6);
  const bool maximize = ctx.args.get_bool(7);
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor p = Data(*params[i]);
    Tensor g = GradOf(*params[i]);
    if (!g.defined()) continue;
    const Tensor grad = UpdateGrad(p, g, maximize, wd);
    const double step = steps[i] += 1;
    const double clr = lr / (1 + (step - 1) * lr_decay);
    const Tensor sum = Data(*sums[i]);
    call("add_", {sum, call("mul", {grad, grad})});
    Tensor std = call("add", {call("sqrt", {sum}), eps});
    call("add_", {p, call("div", {grad, std}), Value::Float(-clr)});
  }
}

// _adadelta_step(params, square_avgs, acc_deltas, steps, lr, rho, eps,
//                weight_decay, maximize)
void AdadeltaStepKernel(KernelContext& ctx) {
  GradModeGuard no_grad(false);
  std::vector<const Tensor*> params = ctx.tensor_list(0);
  CheckList(ctx, 1, params.size(), "square_avgs");
  CheckList(ctx, 2, params.size(), "acc_deltas");
  std::vector<const Tensor*> sq = ctx.tensor_list(1), acc = ctx.tensor_list(2);
  double* steps = Counters(ctx, 3, params.size());
  const double lr = ctx.args.get_float(4), rho = ctx.args.get_float(5);
  const double eps = ctx.args.get_float(6), wd = ctx.args.get_float(7);
  const bool maximize = ctx.args.get_bool(8);
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor p = Data(*params[i]);
    Tensor g = GradOf(*params[i]);
    if (!g.defined()) continue;
    const Tensor grad = UpdateGrad(p, g, maximize, wd);
    steps[i] += 1;
    const Tensor square_avg = Data(*sq[i]), acc_delta = Data(*acc[i]);
    call("mul_", {square_avg, rho});
    call("add_", {square_avg, call("mul", {grad, grad}), Value::Float(1 - rho)});
    Tensor std = call("sqrt", {call("add", {square_avg, eps})});
    Tensor delta = call("mul", {call("div", {call("sqrt", {call("add", {acc_delta, eps})}), std}), grad});
    call("mul_", {acc_delta, rho});
    call("add_", {acc_delta, call("mul", {delta, delta}), Value::Float(1 - rho)});
    call("add_", {p, delta, Value::Float(-lr)});
  }
}

}  // namespace

void RegisterOptimKernels() {
  auto& r = KernelRegistry::Get();
  r.Register("_zero_grad", Device::Kind::kCPU, ZeroGradKernel);
  r.Register("_sgd_step", Device::Kind::kCPU, SgdStepKernel);
  r.Register("_adam_step", Device::Kind::kCPU, AdamStepKernel);
  r.Register("_rmsprop_step", Device::Kind::kCPU, RmspropStepKernel);
  r.Register("_adagrad_step", Device::Kind::kCPU, AdagradStepKernel);
  r.Register("_adadelta_step", Device::Kind::kCPU, AdadeltaStepKernel);
}

}  // namespace tensord::autograd
