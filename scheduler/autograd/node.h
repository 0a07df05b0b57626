// Nodes of the backward graph. A node takes the gradients of a forward op's
// results and returns the gradients of its inputs, one per next edge.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_NODE_H_
#define TENSORD_SCHEDULER_AUTOGRAD_NODE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "kernels/core/value.h"
#include "kernels/schema/op_schema.h"
#include "scheduler/autograd/variable.h"

namespace tensord::autograd {

// The dtype/device/sizes a gradient for an input must have.
struct InputMeta {
  DType dtype = DType::kFloat32;
  Device device;
  Shape sizes;
};

struct Node : std::enable_shared_from_this<Node> {
  Node();
  // Frees the graph behind this node iteratively: a long chain freed by
  // recursion would overflow the stack.
  virtual ~Node();
  virtual std::string name() const = 0;
  // grads[i] is the gradient of forward result i (undefined: none flowed).
  // Returns one gradient per next edge (undefined: none).
  virtual std::vector<Tensor> Apply(std::vector<Tensor> grads) = 0;
  // Frees what was saved for backward (retain_graph=False).
  virtual void ReleaseVariables() {}

  // Later nodes run first when several are ready (as in PyTorch).
  uint64_t sequence_nr;
  size_t num_outputs = 1;         // forward results = gradients taken
  std::vector<Edge> next_edges;   // one per input slot
  std::vector<InputMeta> input_metas;  // parallel to next_edges
  // Results with retain_grad() or hooks: their gradient passes their hooks
  // and is kept in their .grad before this node runs.
  std::vector<std::weak_ptr<AutogradMeta>> observed;
};

// A tensor kept for backward. Outputs are stored without their autograd
// state (that would be a cycle through the node) and get it back on Unpack.
class SavedVariable {
 public:
  SavedVariable() = default;
  SavedVariable(const Tensor& t, bool is_output);
  // The saved tensor; throws PyTorch's error when it was modified in place
  // since or freed by an earlier backward.
  Tensor Unpack(const std::shared_ptr<Node>& owner) const;
  void Reset() { data_ = Tensor{}; released_ = true; }
  bool defined() const { return data_.defined() || released_; }

 private:
  Tensor data_;
  uint64_t version_ = 0;
  bool is_output_ = false;
  bool released_ = false;
  uint32_t output_nr_ = 0;
  bool requires_grad_ = false;
  std::string producer_;  // "output 0 of TanhBackward0" for the message
};

// Backward of one schema op through its formulas (ops.toml `grad`).
struct OpNode : Node {
  std::string name() const override;
  std::vector<Tensor> Apply(std::vector<Tensor> grads) override;
  void ReleaseVariables() override;

  const OpSchema* op = nullptr;
  std::vector<Value> values;        // the op's arguments; tensors index `inputs`
  std::vector<SavedVariable> inputs;  // parallel to the forward's tensors (unsaved: empty)
  std::vector<TensorMeta> all_input_metas;  // every forward tensor, saved or not
  std::vector<SavedVariable> results;
  std::vector<TensorMeta> result_metas;
  // Forward tensor index -> slot in next_edges, -1 when not differentiable.
  std::vector<int> tensor_slot;
};

// The base's grad_fn after an in-place op on one of its views (PyTorch's
// CopySlices): the base's gradient, with the view's part replaced by what
// the in-place op's node `fn` makes of it. Input 0 goes to the base's
// previous history; the others are fn's other inputs.
struct CopySlices : Node {
  CopySlices(const Tensor& base, const TensorMeta& view, std::shared_ptr<Node> fn, int fn_self_slot);
  std::string name() const override { return "CopySlices"; }
  std::vector<Tensor> Apply(std::vector<Tensor> grads) override;
  void ReleaseVariables() override { fn->ReleaseVariables(); }

  TensorMeta base_geometry;
  TensorMeta view_geometry;  // offset relative to the base's
  std::shared_ptr<Node> fn;
  int fn_self_slot;  // fn's next edge of the view (-1: fn takes no gradient for it)
  // This node's next edge i (i >= 1) is fn's edge fn_slots[i].
  std::vector<int> fn_slots;
};

// A node for an op without derivative formulas: backward through it fails.
// The grad_fn of a create_graph gradient that does not depend on the graph
// (zeros_like(grad)): no inputs, so differentiating it gives nothing.
struct ConstantGradNode : Node {
  std::string name() const override { return "BackwardResult"; }
  std::vector<Tensor> Apply(std::vector<Tensor>) override { return {}; }
};

struct NotImplementedNode : Node {
  // not_in_torch: torch 1.13 has no derivative either; raise its RuntimeError.
  NotImplementedNode(std::string op, bool not_in_torch)
      : op_(std::move(op)), not_in_torch_(not_in_torch) {}
  std::string name() const override { return "NotImplemented"; }
  std::vector<Tensor> Apply(std::vector<Tensor> grads) override;
  std::string op_;
  bool not_in_torch_;
};

// A custom autograd.Function: backward is Python code the client runs.
struct PyFunctionNode : Node {
  PyFunctionNode(uint64_t handle, std::string name, std::shared_ptr<HandleSink> sink)
      : handle_(handle), name_(std::move(name)), sink_(std::move(sink)) {}
  ~PyFunctionNode() override;
  std::string name() const override { return name_; }
  std::vector<Tensor> Apply(std::vector<Tensor> grads) override;
  std::vector<TensorMeta> result_metas;

 private:
  uint64_t handle_;
  std::string name_;
  std::weak_ptr<HandleSink> sink_;
};

// Sums gradients into a leaf's .grad.
struct AccumulateGrad : Node {
  explicit AccumulateGrad(std::shared_ptr<AutogradMeta> leaf, TensorMeta meta);
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> Apply(std::vector<Tensor> grads) override;
  std::shared_ptr<AutogradMeta> leaf;
  TensorMeta leaf_meta;
};

}  // namespace tensord::autograd

#endif  // TENSORD_SCHEDULER_AUTOGRAD_NODE_H_
