#include "scheduler/autograd/exec.h"

#include <chrono>

#include "kernels/core/error.h"
#include "kernels/device_backend.h"
#include "scheduler/autograd/formula_api.h"
#include "scheduler/autograd/node.h"
#include "scheduler/autograd/profiler_ops.h"
#include "scheduler/autograd/views.h"

namespace tensord::autograd {
namespace {

thread_local ExecContext* current_context = nullptr;

ExecContext& DefaultContext() {
  thread_local ExecContext ctx;
  return ctx;
}

// Calls fn(tensor index) for every tensor of param `p`.
template <typename F>
void ForEachTensorOf(const OpArgs& args, size_t p, F fn) {
  const Value& v = args.values[p];
  if (v.kind == Value::Kind::kTensor) fn(v.i);
  if (v.kind == Value::Kind::kTensors) {
    for (int64_t i : v.ints) fn(i);
  }
}

// The node recording `op`, its edges and saved inputs (before the kernel,
// so an in-place op saves the values it overwrites). `target_slot`: the
// next edge of the in-place op's tensor (-1: none).
std::shared_ptr<Node> MakeNode(const OpSchema& op, const OpArgs& args,
                               const std::vector<const Tensor*>& inputs, bool in_place_target_saved,
                               int in_place_tensor, int* target_slot) {
  *target_slot = -1;
  if (op.autograd == Autograd::kNotImplemented || op.autograd == Autograd::kNotInTorch) {
    auto node = std::make_shared<NotImplementedNode>(op.name, op.autograd == Autograd::kNotInTorch);
    for (size_t p = 0; p < args.values.size(); ++p) {
      ForEachTensorOf(args, p, [&](int64_t i) {
        const Tensor& t = *inputs[i];
        if (i == in_place_tensor && *target_slot < 0) {
          *target_slot = static_cast<int>(node->next_edges.size());
        }
        node->next_edges.push_back(RequiresGrad(t) ? GradientEdge(t) : Edge{});
        node->input_metas.push_back(InputMeta{t.dtype(), t.meta.device, t.sizes()});
      });
    }
    return node;
  }
  auto node = std::make_shared<OpNode>();
  node->op = &op;
  node->values = args.values;
  node->inputs.resize(inputs.size());
  node->tensor_slot.assign(inputs.size(), -1);
  const FormulaEntry& f = FormulaTable()[op.index];
  for (const Tensor* t : inputs) {
    node->all_input_metas.push_back(t->meta);
  }
  for (size_t p = 0; p < args.values.size(); ++p) {
    const bool saved = (f.saved_inputs >> p) & 1;
    ForEachTensorOf(args, p, [&](int64_t i) {
      const Tensor& t = *inputs[i];
      if (saved) {
        // An in-place op's formula wants the value before the write; the
        // copy is recorded, so double backward reaches that value's history.
        if (i == in_place_tensor && in_place_target_saved) {
          node->inputs[i] = SavedVariable(call("clone", {t}), false);
        } else {
          node->inputs[i] = SavedVariable(t, false);
        }
      }
      if ((op.grad_params >> p) & 1) {
        node->tensor_slot[i] = static_cast<int>(node->next_edges.size());
        node->next_edges.push_back(RequiresGrad(t) ? GradientEdge(t) : Edge{});
        node->input_metas.push_back(InputMeta{t.dtype(), t.meta.device, t.sizes()});
      }
    });
  }
  if (in_place_tensor >= 0) *target_slot = node->tensor_slot[in_place_tensor];
  return node;
}

// The input a result aliases (a view op's base, or any input whose storage
// a kernel returned a view of, as reshape and as_strided do); null if none.
const Tensor* AliasedInput(const OpSchema& op, const OpArgs& args,
                           const std::vector<const Tensor*>& inputs, const Tensor& result) {
  if (op.returns == ReturnKind::kView || op.returns == ReturnKind::kViewList) {
    return inputs[args.values[op.alias_param].i];
  }
  for (const Tensor* t : inputs) {
    if (t->storage == result.storage) return t;
  }
  return nullptr;
}

void SetHistory(Tensor& t, const std::shared_ptr<Node>& node, uint32_t nr) {
  AutogradMeta& m = MetaOf(t);
  m.requires_grad = true;
  m.grad_fn = node;
  m.output_nr = nr;
}

}  // namespace

ExecContext& CurrentExecContext() {
  return current_context ? *current_context : DefaultContext();
}

ScopedExecContext::ScopedExecContext(ExecContext* ctx) : prev_(current_context) {
  current_context = ctx;
}
ScopedExecContext::~ScopedExecContext() { current_context = prev_; }

std::vector<Tensor> Execute(const OpSchema& op, const OpArgs& args,
                            const std::vector<const Tensor*>& inputs,
                            std::vector<TensorMeta> metas) {
  ExecContext& ec = CurrentExecContext();
  ProfileScope profile(ec.profiler, op, args);
  // The op runs where its tensors are (for factories: its result).
  Device device;
  if (!args.metas.empty()) {
    device = args.metas[0]->device;
  } else if (!metas.empty()) {
    device = metas[0].device;
  }
  if (op.name == "to_device" && !metas.empty() && !metas[0].device.is_cpu()) device = metas[0].device;
  if (!device.is_cpu()) AllocatorFor(device);  // RuntimeError when it does not exist

  bool any_requires_grad = false;
  for (const Tensor* t : inputs) any_requires_grad |= RequiresGrad(*t);
  const bool record = ec.grad_enabled && any_requires_grad && op.autograd != Autograd::kNone;

  const bool in_place = op.returns == ReturnKind::kInPlace;
  int target = -1;  // the in-place op's tensor index
  if (in_place) target = static_cast<int>(args.values[op.alias_param].i);
  std::shared_ptr<Node> node;
  int target_slot = -1;  // the in-place op's next edge for its tensor
  bool rebase_view = false;  // an in-place op on a tracked view: CopySlices
  if (record) {
    if (in_place) {
      // PyTorch's check_inplace, in its order.
      const Tensor& t = *inputs[target];
      rebase_view = t.autograd && t.autograd->view;
      if (rebase_view) CheckInPlaceOnView(t, op.name);
      RefreshViewGradFn(t);  // a stale view is no leaf
      TD_CHECK(!(IsLeaf(t) && RequiresGrad(t)), kRuntime, "[", op.name,
               "] a leaf Variable that requires grad is being used in an in-place operation.");
    }
    const FormulaEntry& f = FormulaTable()[op.index];
    node = MakeNode(op, args, inputs, in_place && ((f.saved_inputs >> op.alias_param) & 1), target,
                    &target_slot);
  }

  std::vector<Tensor> results;
  if (op.returns == ReturnKind::kView || op.returns == ReturnKind::kViewList) {
    const Tensor& base = *inputs[args.values[op.alias_param].i];
    for (TensorMeta& m : metas) {
      TD_ASSERT(FitsInStorage(m, base.storage->nbytes()), "view reads outside its storage");
      results.push_back(base.View(std::move(m)));
    }
  } else {
    // The autograd ops touch no data: their kernels serve every device.
    const Device::Kind kind = op.variant == "autograd" ? Device::Kind::kCPU : device.kind;
    Kernel kernel = KernelRegistry::Get().Find(op, kind);
    TD_CHECK(kernel != nullptr, kNotImplemented, "[", op.name, "] not implemented for device ",
             device.is_cpu() ? "cpu" : "cuda", " in this tensord build");
    KernelContext ctx(op, args);
    ctx.tensors = inputs;
    const size_t want = op.returns == ReturnKind::kInPlace || op.returns == ReturnKind::kNone
                            ? 0 : metas.size();
    ctx.out_metas = std::move(metas);
    ctx.generator = ec.generator;
    ctx.tracker = ec.tracker;
    ctx.max_tensor_bytes = ec.max_tensor_bytes;
    // Ops that only run other ops (autograd's) take no turn themselves.
    FairShare::Turn turn;
    if (ec.fair_share != nullptr && ec.tenant && op.variant != "autograd") {
      turn = ec.fair_share->Acquire(*ec.tenant, device);
    }
    // Ops that only run other ops are not timed: their inner ops are.
    const bool timed = ec.slow_kernel_ms > 0 && ec.on_slow_kernel && op.variant != "autograd";
    const auto start = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    kernel(ctx);
    if (timed) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (ms > ec.slow_kernel_ms) ec.on_slow_kernel(op, device, ms);
    }
    turn.Release();
    if (in_place) {
      inputs[target]->storage->bump_version();
      results.push_back(*inputs[target]);
    } else if (op.returns == ReturnKind::kNone && op.alias_param >= 0) {
      ForEachTensorOf(args, op.alias_param, [&](int64_t i) { inputs[i]->storage->bump_version(); });
    } else {
      for (size_t i = 0; i < want; ++i) {
        if (i >= ctx.outputs.size() || !ctx.outputs[i].defined()) {
          // A data-dependent result left unset means None (autograd's .grad).
          if (i < ctx.out_metas.size() && ctx.out_metas[i].dynamic_shape) {
            if (ctx.outputs.size() <= i) ctx.outputs.resize(i + 1);
            continue;
          }
          ctx.output(i);
        }
      }
      results = std::move(ctx.outputs);
      results.resize(want);
    }
  }

  // Floating results that alias an input become tracked views of its base.
  std::vector<bool> tracked(results.size(), false);
  if (!in_place && op.autograd != Autograd::kNone) {
    const bool multi_output = op.returns == ReturnKind::kViewList && op.name != "tensor_split";
    for (size_t i = 0; i < results.size(); ++i) {
      Tensor& r = results[i];
      if (!r.defined() || !IsFloating(r.dtype())) continue;
      const Tensor* base = AliasedInput(op, args, inputs, r);
      if (!base) continue;
      r.autograd = nullptr;  // a kernel may return its input itself
      TrackView(*base, r, multi_output, ec.grad_enabled);
      tracked[i] = true;
    }
  }

  if (node) {
    node->num_outputs = results.size();
    const bool saves = op.autograd == Autograd::kFormula && FormulaTable()[op.index].saves_results;
    auto* op_node = dynamic_cast<OpNode*>(node.get());
    for (size_t i = 0; i < results.size(); ++i) {
      if (!IsFloating(results[i].dtype())) continue;
      if (in_place) {
        // The tensor itself now comes from this op (rebase its history);
        // for a view, its base's history.
        if (rebase_view) {
          RebaseView(*inputs[target], node, target_slot);
        } else {
          SetHistory(*const_cast<Tensor*>(inputs[target]), node, 0);
        }
        results[i] = *inputs[target];
      } else {
        if (!tracked[i]) results[i].autograd = nullptr;  // a fresh variable
        SetHistory(results[i], node, static_cast<uint32_t>(i));
      }
    }
    if (op_node) {
      for (const Tensor& r : results) op_node->result_metas.push_back(r.meta);
      if (saves) {
        for (const Tensor& r : results) op_node->results.emplace_back(r, true);
      }
    }
  }
  return results;
}

}  // namespace tensord::autograd
