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

  AutogradMeta() = default;
  AutogradMeta(const AutogradMeta&) = delete;
  AutogradMeta& operator=(const AutogradMeta&) = delete;
  ~AutogradMeta();
};

namespace autograd {

inline bool RequiresGrad(const Tensor& t) { return t.autograd && t.autograd->requires_grad; }
inline bool IsLeaf(const Tensor& t) { return !t.autograd || !t.autograd->grad_fn; }
// Meta of `t`, created on first use.
AutogradMeta& MetaOf(Tensor& t);
// The edge a gradient for `t` flows along: its grad_fn, or for a leaf that
// requires grad its accumulator. Invalid when `t` does not require grad.
Edge GradientEdge(const Tensor& t);
// `t` without autograd state (same storage and metadata).
inline Tensor Data(const Tensor& t) { return Tensor{t.storage, t.meta, t.is_view, nullptr}; }
// PyTorch's "[torch.FloatTensor [2, 3]]" description of a tensor.
std::string TypeDescription(const Tensor& t);

}  // namespace autograd
}  // namespace tensord

#endif  // TENSORD_SCHEDULER_AUTOGRAD_VARIABLE_H_
