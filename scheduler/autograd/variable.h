// Autograd's view of a tensor: whether it requires grad, the node that made
// it (null for leaves), and a leaf's accumulated .grad. Like PyTorch's
// AutogradMeta; it hangs off Tensor::autograd and is shared by every copy of
// that Tensor (the session's slot, saved copies, the client's handle).
//
// Everything here runs on the session's executor thread.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_VARIABLE_H_
#define TENSORD_SCHEDULER_AUTOGRAD_VARIABLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/core/tensor.h"

namespace tensord {
namespace autograd {
struct Node;
struct HandleSink;

// Where a gradient goes: input `input_nr` of `node`.
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

// How a differentiable view came to be, which decides whether in-place ops
// may rebase it (PyTorch's CreationMeta).
enum class ViewCreation : uint8_t {
  kDefault,      // in grad mode, by a single-output view op
  kMultiOutput,  // by unbind/split/chunk in grad mode: never modified in place
  kNoGrad,       // in no_grad mode: never modified in place in grad mode
};

// A differentiable view's link to its base (PyTorch's DifferentiableViewMeta):
// an in-place op on the view rebases the base onto CopySlices, and any
// in-place write into the shared storage makes the view's grad_fn stale.
struct ViewInfo {
  Tensor base;  // the root base (never itself a tracked view), sharing its AutogradMeta
  ViewCreation creation = ViewCreation::kDefault;
  // The storage version when grad_fn was last set; a newer version means
  // the base or another view was written since, so grad_fn is regenerated
  // as AsStridedBackward0 of the base.
  uint64_t attr_version = 0;
};
}  // namespace autograd

struct AutogradMeta {
  bool requires_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves
  uint32_t output_nr = 0;                   // which result of grad_fn
  Tensor grad;                              // leaves (and retain_grad): .grad
  std::weak_ptr<autograd::Node> grad_accumulator;
  bool retains_grad = false;
  // Tensor.register_hook: the client's handles, run in order on this
  // tensor's gradient during backward.
  std::vector<uint64_t> hooks;
  std::weak_ptr<autograd::HandleSink> hook_sink;  // told when the hooks die
  // Set for the floating results of differentiable view ops.
  std::unique_ptr<autograd::ViewInfo> view;

  AutogradMeta() = default;
  AutogradMeta(const AutogradMeta&) = delete;
  AutogradMeta& operator=(const AutogradMeta&) = delete;
  ~AutogradMeta();
};

namespace autograd {

// A view requires grad when its base does (the base may have started to
// since, through an in-place op on another of its views).
inline bool RequiresGrad(const Tensor& t) {
  if (!t.autograd) return false;
  if (t.autograd->requires_grad) return true;
  const autograd::ViewInfo* v = t.autograd->view.get();
  return v && v->base.autograd && v->base.autograd->requires_grad;
}
inline bool IsLeaf(const Tensor& t) { return !t.autograd || !t.autograd->grad_fn; }
// Meta of `t`, created on first use.
AutogradMeta& MetaOf(Tensor& t);
// The edge a gradient for `t` flows along: its grad_fn, or for a leaf that
// requires grad its accumulator. Invalid when `t` does not require grad.
// A stale view's grad_fn is regenerated first (RefreshViewGradFn).
Edge GradientEdge(const Tensor& t);
// A tracked view whose storage was written since its grad_fn was set gets
// AsStridedBackward0 of its base (PyTorch's VariableHooks::grad_fn). Throws
// PyTorch's error for multi-output and no_grad views, which cannot be rebased.
void RefreshViewGradFn(const Tensor& t);
// PyTorch's handle_view_on_rebase: throws unless the view `t` may be
// rebased; `indirect` when the write went through the base or another view.
void CheckViewRebase(const Tensor& t, bool indirect, const std::string& op);
// `t` without autograd state (same storage and metadata).
inline Tensor Data(const Tensor& t) { return Tensor{t.storage, t.meta, t.is_view, nullptr}; }
// PyTorch's "[torch.FloatTensor [2, 3]]" description of a tensor.
std::string TypeDescription(const Tensor& t);

}  // namespace autograd
}  // namespace tensord

#endif  // TENSORD_SCHEDULER_AUTOGRAD_VARIABLE_H_
