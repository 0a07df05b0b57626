// Kernels of the autograd ops (variant "autograd" in ops.toml): they act on
// autograd state rather than data, so Execute runs these CPU kernels for
// tensors on any device.
#include "scheduler/autograd/autograd_ops.h"

#include <algorithm>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "scheduler/autograd/engine.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/formula_api.h"
#include "scheduler/autograd/node.h"
#include "scheduler/autograd/optim_ops.h"
#include "scheduler/autograd/profiler_ops.h"

namespace tensord::autograd {
namespace {

Tensor& Mutable(const Tensor& t) { return const_cast<Tensor&>(t); }

// Makes t's node pass t's gradient through t's hooks and retain_grad.
void Observe(const Tensor& t) {
  Node& node = *t.autograd->grad_fn;
  if (node.observed.size() < node.num_outputs) node.observed.resize(node.num_outputs);
  node.observed[t.autograd->output_nr] = t.autograd;
}

std::vector<Tensor> List(const KernelContext& ctx, size_t arg) {
  std::vector<Tensor> out;
  for (const Tensor* t : ctx.tensor_list(arg)) out.push_back(*t);
  return out;
}

void RequiresGradKernel(KernelContext& ctx) {
  Tensor& t = Mutable(ctx.tensor(0));
  const bool flag = ctx.args.get_bool(1);
  if (!IsLeaf(t)) {
    TD_CHECK(flag, kRuntime, "[requires_grad_] you can only change requires_grad flags of leaf "
             "variables. If you want to use a computed variable in a subgraph that doesn't "
             "require differentiation use var_no_grad = var.detach().");
    return;
  }
  if (!flag && !t.autograd) return;
  MetaOf(t).requires_grad = flag;
}

void DetachKernel(KernelContext& ctx) {
  Tensor& t = Mutable(ctx.tensor(0));
  TD_CHECK(!t.is_view || !RequiresGrad(t) || IsLeaf(t), kRuntime,
           "[detach_] Can't detach views in-place. Use detach() instead.");
  if (!t.autograd) return;
  t.autograd->grad_fn = nullptr;
  t.autograd->output_nr = 0;
  t.autograd->requires_grad = false;
}

void BackwardKernel(KernelContext& ctx) {
  BackwardRequest req;
  req.roots = List(ctx, 0);
  req.root_grads = List(ctx, 1);
  req.inputs = List(ctx, 2);
  req.keep_graph = ctx.args.get_bool(3) || ctx.args.get_bool(4);
  req.create_graph = ctx.args.get_bool(4);
  req.check_nan = ctx.args.get_bool(5);
  RunBackward(req);
}

void AutogradGradKernel(KernelContext& ctx) {
  BackwardRequest req;
  req.op = "autograd.grad";
  req.roots = List(ctx, 0);
  req.root_grads = List(ctx, 1);
  req.inputs = List(ctx, 2);
  req.keep_graph = ctx.args.get_bool(3) || ctx.args.get_bool(4);
  req.create_graph = ctx.args.get_bool(4);
  req.capture = true;
  req.allow_unused = ctx.args.get_bool(5);
  req.check_nan = ctx.args.get_bool(6);
  std::vector<Tensor> grads = RunBackward(req);
  ctx.outputs.resize(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    Tensor g = grads[i];
    if (!g.defined()) continue;  // None (allow_unused)
    // The client assumed a contiguous result.
    if (!g.meta.is_contiguous() || g.meta.offset != 0 || g.is_view) {
      GradModeGuard mode(req.create_graph);
      g = call("clone", {g});
    }
    ctx.outputs[i] = g;
  }
}

void GradGetKernel(KernelContext& ctx) {
  const Tensor& t = ctx.tensor(0);
  ctx.outputs.resize(1);
  if (t.autograd && t.autograd->grad.defined()) ctx.outputs[0] = t.autograd->grad;
}

void GradSetKernel(KernelContext& ctx) {
  Tensor& t = Mutable(ctx.tensor(0));
  if (ctx.args.is_none(1)) {
    if (t.autograd) t.autograd->grad = Tensor{};
    return;
  }
  MetaOf(t).grad = ctx.tensor(1);
}

void RetainGradKernel(KernelContext& ctx) {
  Tensor& t = Mutable(ctx.tensor(0));
  TD_CHECK(RequiresGrad(t), kRuntime,
           "[retain_grad] can't retain_grad on Tensor that has requires_grad=False");
  if (IsLeaf(t) || t.autograd->retains_grad) return;  // leaves keep .grad anyway
  Observe(t);
  t.autograd->retains_grad = true;
}

void PyFunctionKernel(KernelContext& ctx) {
  ExecContext& ec = CurrentExecContext();
  auto node = std::make_shared<PyFunctionNode>(static_cast<uint64_t>(ctx.args.get_int(2)),
                                               ctx.args.values[3].s, ec.handles);
  for (const Tensor* t : ctx.tensor_list(0)) {
    node->next_edges.push_back(RequiresGrad(*t) ? GradientEdge(*t) : Edge{});
    node->input_metas.push_back(InputMeta{t->dtype(), t->meta.device, t->sizes()});
  }
  std::vector<const Tensor*> outs = ctx.tensor_list(1);
  node->num_outputs = outs.size();
  for (size_t i = 0; i < outs.size(); ++i) {
    Tensor& o = Mutable(*outs[i]);
    node->result_metas.push_back(o.meta);
    TD_CHECK(IsFloating(o.dtype()), kRuntime, "[", ctx.args.values[3].s,
             "] only floating point outputs of a Function can require grad");
    AutogradMeta& m = MetaOf(o);
    m.requires_grad = true;
    m.grad_fn = node;
    m.output_nr = static_cast<uint32_t>(i);
  }
}

void RegisterHookKernel(KernelContext& ctx) {
  Tensor& t = Mutable(ctx.tensor(0));
  TD_CHECK(RequiresGrad(t), kRuntime,
           "[register_hook] cannot register a hook on a tensor that doesn't require gradient");
  AutogradMeta& m = MetaOf(t);
  m.hooks.push_back(static_cast<uint64_t>(ctx.args.get_int(1)));
  m.hook_sink = CurrentExecContext().handles;
  if (!IsLeaf(t)) Observe(t);
}

void RemoveHookKernel(KernelContext& ctx) {
  const Tensor& t = ctx.tensor(0);
  if (!t.autograd) return;
  auto& hooks = t.autograd->hooks;
  const uint64_t h = static_cast<uint64_t>(ctx.args.get_int(1));
  hooks.erase(std::remove(hooks.begin(), hooks.end(), h), hooks.end());
}

}  // namespace

void RegisterAutogradKernels() {
  auto& r = KernelRegistry::Get();
  const std::pair<const char*, Kernel> kernels[] = {
      {"requires_grad_", RequiresGradKernel}, {"detach_", DetachKernel},
      {"_backward", BackwardKernel},          {"_autograd_grad", AutogradGradKernel},
      {"_grad_get", GradGetKernel},           {"_grad_set", GradSetKernel},
      {"_retain_grad", RetainGradKernel},    {"_py_function", PyFunctionKernel},
      {"_register_hook", RegisterHookKernel}, {"_remove_hook", RemoveHookKernel},
  };
  RegisterOptimKernels();
  RegisterProfilerKernels();
  for (const auto& [name, k] : kernels) {
    r.Register(name, Device::Kind::kCPU, k);
  }
}

}  // namespace tensord::autograd
