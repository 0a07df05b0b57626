#include "scheduler/autograd/engine.h"

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "kernels/core/error.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/formula_api.h"
#include "scheduler/autograd/node.h"

namespace tensord::autograd {
namespace {

bool Expandable(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) {
    if (from[i] != to[lead + i] && from[i] != 1) return false;
  }
  return true;
}

// PyTorch's validate_outputs: a gradient takes its input's shape (summing
// broadcast dims), dtype and device.
Tensor Validate(const Node& node, size_t slot, Tensor g) {
  if (!g.defined()) return g;
  const InputMeta& want = node.input_metas[slot];
  if (g.sizes() != want.sizes) {
    TD_CHECK(Expandable(want.sizes, g.sizes()), kRuntime, "Function ", node.name(),
             " returned an invalid gradient at index ", slot, " - got ", ShapeStr(g.sizes()),
             " but expected shape compatible with ", ShapeStr(want.sizes));
    g = sum_to(g, want.sizes);
  }
  if (g.dtype() != want.dtype) g = call("to_dtype", {g, want.dtype});
  if (g.meta.device != want.device) g = call("to_device", {g, Value::OfDevice(want.device)});
  return g;
}

Tensor Accumulate(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return call("add", {a, b});
}

// Tensor hooks: each may replace the gradient (None keeps it).
Tensor RunHooks(const AutogradMeta& m, Tensor g) {
  if (m.hooks.empty()) return g;
  ExecContext& ec = CurrentExecContext();
  TD_CHECK(ec.callback != nullptr, kRuntime, "[backward] tensor hooks need a client");
  const std::vector<uint64_t> hooks = m.hooks;  // a hook may remove itself
  for (uint64_t h : hooks) {
    std::vector<Tensor> r = ec.callback(CallbackKind::kTensorHook, h, {g});
    if (!r.empty() && r[0].defined()) {
      TD_CHECK(r[0].sizes() == g.sizes(), kRuntime, "hook 'hook' has changed the size of value");
      g = r[0];
    }
  }
  return g;
}

// Anomaly mode's NaN check, with torch's message: the node that produced a
// NaN gradient names itself (the check reads each result back, hence opt-in).
void CheckNoNan(const Node& n, const std::vector<Tensor>& outs) {
  for (size_t s = 0; s < outs.size(); ++s) {
    if (!outs[s].defined() || !IsFloating(outs[s].dtype())) continue;
    Tensor g = Data(outs[s]);
    if (!g.meta.device.is_cpu()) g = call("to_device", {g, Device{}});
    Tensor has_nan = call("any", {call("isnan", {g})});
    TD_CHECK(!*has_nan.data<bool>(), kRuntime, "Function '", n.name(),
             "' returned nan values in its ", s, "th output.");
  }
}

struct ReadyOrder {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

}  // namespace

std::vector<Tensor> RunBackward(const BackwardRequest& req) {
  const std::string& op = req.op;
  TD_CHECK(!req.roots.empty(), kRuntime, "[", op, "] grad requires at least one output");
  TD_CHECK(req.root_grads.empty() || req.root_grads.size() == req.roots.size(), kRuntime, "[", op,
           "] got ", req.root_grads.size(), " gradients for ", req.roots.size(), " outputs");
  GradModeGuard grad_mode(req.create_graph);

  // Root edges and their starting gradients.
  std::vector<Edge> root_edges;
  std::vector<Tensor> root_grads;
  for (size_t i = 0; i < req.roots.size(); ++i) {
    const Tensor& r = req.roots[i];
    TD_CHECK(RequiresGrad(r), kRuntime, "[", op, "] element ", i,
             " of tensors does not require grad and does not have a grad_fn");
    Tensor g;
    if (!req.root_grads.empty() && req.root_grads[i].defined()) {
      g = req.root_grads[i];
      TD_CHECK(g.sizes() == r.sizes(), kRuntime, "[", op, "] Mismatch in shape: grad_output[", i,
               "] has a shape of ", ShapeStr(g.sizes()), " and output[", i, "] has a shape of ",
               ShapeStr(r.sizes()), ".");
      if (g.dtype() != r.dtype()) g = call("to_dtype", {g, r.dtype()});
    } else {
      TD_CHECK(r.numel() == 1, kRuntime, "[", op, "] grad can be implicitly created only for "
               "scalar outputs");
      GradModeGuard no_grad(false);
      g = call("ones", {r.sizes(), r.dtype(), r.meta.device});
    }
    root_edges.push_back(GradientEdge(r));
    root_grads.push_back(g);
  }

  // Capture targets: the edge of each input.
  std::vector<Edge> input_edges;
  for (size_t i = 0; i < req.inputs.size(); ++i) {
    const Tensor& t = req.inputs[i];
    TD_CHECK(RequiresGrad(t), kRuntime, "[", op, "] One of the differentiated Tensors does not "
             "require grad");
    input_edges.push_back(GradientEdge(t));
  }

  // Dependencies: how many edges into each node from nodes reachable from
  // the roots.
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (const Edge& e : root_edges) {
    if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      ++deps[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }

  // With inputs given, run only nodes that lead to one of them.
  std::unordered_set<Node*> needed;
  const bool filter = !req.inputs.empty();
  if (filter) {
    std::unordered_set<Node*> targets;
    for (const Edge& e : input_edges) targets.insert(e.node.get());
    // Post-order over the reachable graph: a node is needed when it is a
    // target or one of its children is needed.
    std::unordered_map<Node*, int> state;  // 1 = entered, 2 = done
    std::vector<std::pair<Node*, size_t>> dfs;
    for (const Edge& re : root_edges) {
      if (state[re.node.get()]) continue;
      dfs.emplace_back(re.node.get(), 0);
      state[re.node.get()] = 1;
      while (!dfs.empty()) {
        auto& [n, k] = dfs.back();
        if (k < n->next_edges.size()) {
          Node* c = n->next_edges[k++].node.get();
          if (c && !state[c]) {
            state[c] = 1;
            dfs.emplace_back(c, 0);
          }
          continue;
        }
        bool need = targets.contains(n);
        for (const Edge& e : n->next_edges) need |= e.valid() && needed.contains(e.node.get());
        if (need) needed.insert(n);
        state[n] = 2;
        dfs.pop_back();
      }
    }
  }

  // Gradients waiting at each node's inputs, and what autograd.grad keeps.
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::vector<Tensor> captured(req.inputs.size());
  std::unordered_map<Node*, std::shared_ptr<Node>> owners;
  auto deliver = [&](const Edge& e, Tensor g) {
    auto& buf = buffers[e.node.get()];
    if (buf.size() < e.node->num_outputs) buf.resize(e.node->num_outputs);
    buf[e.input_nr] = Accumulate(buf[e.input_nr], g);
    owners.emplace(e.node.get(), e.node);
  };
  for (size_t i = 0; i < root_edges.size(); ++i) deliver(root_edges[i], root_grads[i]);

  std::priority_queue<Node*, std::vector<Node*>, ReadyOrder> ready;
  seen.clear();
  for (const Edge& e : root_edges) {
    if (deps[e.node.get()] == 0 && seen.insert(e.node.get()).second) ready.push(e.node.get());
  }

  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    std::shared_ptr<Node> hold = owners[n];
    std::vector<Tensor> grads = std::move(buffers[n]);
    buffers.erase(n);
    grads.resize(n->num_outputs);

    // Hooks and retain_grad() of this node's results, then of a leaf.
    for (size_t i = 0; i < n->observed.size(); ++i) {
      std::shared_ptr<AutogradMeta> m = n->observed[i].lock();
      if (!m || !grads[i].defined()) continue;
      grads[i] = RunHooks(*m, std::move(grads[i]));
      if (m->retains_grad && !req.capture) {
        if (!m->grad.defined()) {
          m->grad = req.create_graph ? grads[i] : call("clone", {Data(grads[i])});
        } else {
          m->grad = call("add", {m->grad, req.create_graph ? grads[i] : Data(grads[i])});
        }
      }
    }
    if (auto* acc = dynamic_cast<AccumulateGrad*>(n); acc && grads[0].defined()) {
      grads[0] = RunHooks(*acc->leaf, std::move(grads[0]));
    }
    // Capture gradients flowing into the inputs' edges (after their hooks).
    bool is_target = false;
    for (size_t i = 0; i < input_edges.size(); ++i) {
      if (input_edges[i].node.get() == n) {
        is_target = true;
        captured[i] = grads[input_edges[i].input_nr];
      }
    }
    const bool is_leaf_acc = dynamic_cast<AccumulateGrad*>(n) != nullptr;
    bool run = !filter || needed.contains(n);
    if (req.capture && is_leaf_acc) run = false;  // autograd.grad never touches .grad
    if (filter && is_leaf_acc && !is_target) run = false;
    bool any = false;
    for (const Tensor& g : grads) any |= g.defined();
    std::vector<Tensor> outs;
    if (run && any) {
      outs = n->Apply(std::move(grads));
      if (req.check_nan) CheckNoNan(*n, outs);
      if (!req.keep_graph) n->ReleaseVariables();
    }
    for (size_t s = 0; s < n->next_edges.size(); ++s) {
      const Edge& e = n->next_edges[s];
      if (!e.valid()) continue;
      if (s < outs.size() && outs[s].defined()) deliver(e, Validate(*n, s, std::move(outs[s])));
      if (--deps[e.node.get()] == 0) {
        owners.emplace(e.node.get(), e.node);
        ready.push(e.node.get());
      }
    }
  }

  if (!req.capture) return {};
  for (size_t i = 0; i < req.inputs.size(); ++i) {
    if (!captured[i].defined()) {
      TD_CHECK(req.allow_unused, kRuntime, "[", op, "] One of the differentiated Tensors appears "
               "to not have been used in the graph. Set allow_unused=True if this is the desired "
               "behavior.");
    } else if (!req.create_graph) {
      captured[i] = Data(captured[i]);
    } else if (!RequiresGrad(captured[i])) {
      // The client takes every create_graph result to require grad; one
      // that does not depend on the graph gets an input-less node, so that
      // differentiating it again gives no gradient rather than an error.
      Tensor t = captured[i];
      t.autograd = std::make_shared<AutogradMeta>();
      t.autograd->requires_grad = true;
      t.autograd->grad_fn = std::make_shared<ConstantGradNode>();
      t.autograd->output_nr = 0;
      captured[i] = t;
    }
  }
  return captured;
}

}  // namespace tensord::autograd
