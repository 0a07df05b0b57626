#include "scheduler/autograd/node.h"

#include "kernels/core/error.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/formula_api.h"

namespace tensord {
namespace autograd {
namespace {

std::atomic<uint64_t> next_sequence_nr{0};

const char* LegacyTypeName(DType d) {
  switch (d) {
    case DType::kFloat32: return "FloatTensor";
    case DType::kFloat64: return "DoubleTensor";
    case DType::kFloat16: return "HalfTensor";
    case DType::kBFloat16: return "BFloat16Tensor";
    case DType::kInt64: return "LongTensor";
    case DType::kInt32: return "IntTensor";
    case DType::kInt16: return "ShortTensor";
    case DType::kInt8: return "CharTensor";
    case DType::kUInt8: return "ByteTensor";
    case DType::kBool: return "BoolTensor";
  }
  return "Tensor";
}

constexpr const char* kFreedMessage =
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.";

}  // namespace

}  // namespace autograd

AutogradMeta::~AutogradMeta() {
  if (hooks.empty()) return;
  if (auto sink = hook_sink.lock()) {
    for (uint64_t h : hooks) sink->Release(h);
  }
}

namespace autograd {

AutogradMeta& MetaOf(Tensor& t) {
  if (!t.autograd) t.autograd = std::make_shared<AutogradMeta>();
  return *t.autograd;
}

Edge GradientEdge(const Tensor& t) {
  if (!RequiresGrad(t)) return {};
  RefreshViewGradFn(t);
  AutogradMeta& m = *t.autograd;
  if (m.grad_fn) return Edge{m.grad_fn, m.output_nr};
  // A view that requires grad only through its base has no accumulator.
  if (!m.requires_grad) return {};
  std::shared_ptr<Node> acc = m.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.autograd, t.meta);
    m.grad_accumulator = acc;
  }
  return Edge{acc, 0};
}

std::string TypeDescription(const Tensor& t) {
  std::string s = "[torch.";
  if (!t.meta.device.is_cpu()) s += "cuda.";
  s += LegacyTypeName(t.dtype());
  s += " ";
  s += ShapeStr(t.sizes());
  s += "]";
  return s;
}

Node::Node() : sequence_nr(next_sequence_nr++) {}

Node::~Node() {
  thread_local bool draining = false;
  thread_local std::vector<std::shared_ptr<Node>> pending;
  for (Edge& e : next_edges) {
    if (e.node) pending.push_back(std::move(e.node));
  }
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    n.reset();  // its destructor queues its own edges
  }
  draining = false;
}

SavedVariable::SavedVariable(const Tensor& t, bool is_output)
    : version_(t.storage ? t.storage->version() : 0), is_output_(is_output) {
  if (is_output) {
    data_ = Data(t);
    if (t.autograd) {
      output_nr_ = t.autograd->output_nr;
      requires_grad_ = t.autograd->requires_grad;
      if (t.autograd->grad_fn) {
        producer_ = "output " + std::to_string(output_nr_) + " of " + t.autograd->grad_fn->name();
      }
    }
  } else {
    data_ = t;
    if (t.autograd && t.autograd->view && (t.autograd->grad_fn || !t.autograd->requires_grad)) {
      // A view's meta holds its base, whose history may come to hold this
      // node (CopySlices after an in-place op on the view): keep only the
      // view's own edge, or the graph would own itself.
      RefreshViewGradFn(t);
      auto m = std::make_shared<AutogradMeta>();
      m->requires_grad = t.autograd->grad_fn != nullptr;
      m->grad_fn = t.autograd->grad_fn;
      m->output_nr = t.autograd->output_nr;
      data_.autograd = std::move(m);
    }
    if (t.autograd && t.autograd->grad_fn) {
      producer_ = "output " + std::to_string(t.autograd->output_nr) + " of " +
                  t.autograd->grad_fn->name();
    }
  }
}

Tensor SavedVariable::Unpack(const std::shared_ptr<Node>& owner) const {
  TD_CHECK(!released_, kRuntime, kFreedMessage);
  if (!data_.defined()) return data_;
  if (data_.storage->version() != version_) {
    Fail(ErrorKind::kRuntime,
         "one of the variables needed for gradient computation has been modified by an inplace "
         "operation: ", TypeDescription(data_), ", which is ",
         producer_.empty() ? std::string("a leaf or an input") : producer_, ", is at version ",
         data_.storage->version(), "; expected version ", version_,
         " instead. Hint: the backtrace further above shows the operation that failed to compute "
         "its gradient. The variable in question was changed in there or anywhere later. Good "
         "luck!");
  }
  if (!is_output_) return data_;
  Tensor t = data_;
  if (requires_grad_) {
    // The result again as a variable of `owner`, for double backward.
    auto m = std::make_shared<AutogradMeta>();
    m->requires_grad = true;
    m->grad_fn = owner;
    m->output_nr = output_nr_;
    t.autograd = m;
  }
  return t;
}

// ---- OpNode ----

namespace {

class OpBackwardCtx : public BackwardCtx {
 public:
  OpBackwardCtx(OpNode& node, std::vector<Tensor>& grads)
      : node_(node), grads_(grads), arrived_(grads) {
    // Sized once: formulas hold references into these.
    args_.resize(node.values.size());
    have_.assign(node.values.size(), false);
    results_.resize(node.results.size());
    out_.resize(node.next_edges.size());
  }

  const Arg& arg(size_t p) override {
    if (!have_[p]) {
      const Value& v = node_.values[p];
      if (v.kind == Value::Kind::kTensor) {
        args_[p] = Arg(Unpack(v.i));
      } else if (v.kind == Value::Kind::kTensors) {
        std::vector<Tensor> list;
        for (int64_t i : v.ints) list.push_back(Unpack(i));
        args_[p] = Arg(std::move(list));
      } else {
        args_[p] = Arg(v);
      }
      have_[p] = true;
    }
    return args_[p];
  }
  const Shape& input_sizes(size_t p) override {
    return node_.all_input_metas[node_.values[p].i].sizes;
  }
  const TensorMeta& input_geometry(size_t p) override {
    return node_.all_input_metas[node_.values[p].i];
  }
  const Tensor& grad(size_t i) override { return grads()[i]; }
  const std::vector<Tensor>& grads() override {
    // Results no gradient flowed into count as zeros in formulas.
    for (size_t i = 0; i < grads_.size(); ++i) {
      if (!grads_[i].defined() && i < node_.result_metas.size()) {
        const TensorMeta& m = node_.result_metas[i];
        GradModeGuard no_grad(false);
        grads_[i] = call("zeros", {m.sizes, m.dtype, m.device});
      }
    }
    return grads_;
  }
  const Tensor& result(size_t i) override {
    TD_ASSERT(i < results_.size(), "formula reads result ", i, " which was not saved");
    if (!results_[i].defined()) {
      results_[i] = node_.results[i].Unpack(node_.shared_from_this());
    }
    return results_[i];
  }
  std::vector<Tensor> defined_grads() override { return arrived_; }
  const std::vector<TensorMeta>& result_metas() override { return node_.result_metas; }
  bool needs(size_t p) override {
    bool any = false;
    const Value& v = node_.values[p];
    auto check = [&](int64_t i) {
      const int slot = node_.tensor_slot[i];
      any |= slot >= 0 && node_.next_edges[slot].valid();
    };
    if (v.kind == Value::Kind::kTensor) check(v.i);
    if (v.kind == Value::Kind::kTensors) for (int64_t i : v.ints) check(i);
    return any;
  }
  void set(size_t p, Tensor g) override {
    const Value& v = node_.values[p];
    TD_ASSERT(v.kind == Value::Kind::kTensor, node_.op->name, ": formula gave one gradient for a list");
    const int slot = node_.tensor_slot[v.i];
    if (slot >= 0) out_[slot] = std::move(g);
  }
  void set(size_t p, std::vector<Tensor> gs) override {
    const Value& v = node_.values[p];
    TD_ASSERT(v.kind == Value::Kind::kTensors && gs.size() == v.ints.size(), node_.op->name,
              ": formula gave ", gs.size(), " gradients for a list of ", v.ints.size());
    for (size_t k = 0; k < gs.size(); ++k) {
      const int slot = node_.tensor_slot[v.ints[k]];
      if (slot >= 0) out_[slot] = std::move(gs[k]);
    }
  }
  std::vector<Tensor> take() { return std::move(out_); }

 private:
  Tensor Unpack(int64_t i) { return node_.inputs[i].Unpack(node_.shared_from_this()); }

  OpNode& node_;
  std::vector<Tensor>& grads_;
  const std::vector<Tensor> arrived_;  // grads_ before grads() fills in zeros
  std::vector<Arg> args_;
  std::vector<bool> have_;
  std::vector<Tensor> results_;
  std::vector<Tensor> out_;
};

}  // namespace

std::string OpNode::name() const { return op->grad_name; }

std::vector<Tensor> OpNode::Apply(std::vector<Tensor> grads) {
  grads.resize(num_outputs);
  OpBackwardCtx ctx(*this, grads);
  const FormulaEntry& f = FormulaTable()[op->index];
  TD_ASSERT(f.fn != nullptr, op->name, " has no formulas");
  // Inputs that need a gradient but have no formula.
  for (size_t p = 0; p < values.size(); ++p) {
    if (!((op->grad_params >> p) & 1) && ctx.needs(p)) {
      Fail(ErrorKind::kNotImplemented, "the derivative for '", op->name, "' is not implemented.");
    }
  }
  f.fn(ctx);
  return ctx.take();
}

void OpNode::ReleaseVariables() {
  for (auto& s : inputs) {
    if (s.defined()) s.Reset();
  }
  for (auto& s : results) s.Reset();
}

std::vector<Tensor> NotImplementedNode::Apply(std::vector<Tensor>) {
  if (not_in_torch_) Fail(ErrorKind::kRuntime, "derivative for aten::", op_, " is not implemented");
  Fail(ErrorKind::kNotImplemented, "the derivative for '", op_, "' is not implemented.");
}

PyFunctionNode::~PyFunctionNode() {
  if (auto sink = sink_.lock()) sink->Release(handle_);
}

std::vector<Tensor> PyFunctionNode::Apply(std::vector<Tensor> grads) {
  ExecContext& ec = CurrentExecContext();
  TD_CHECK(ec.callback != nullptr, kRuntime, "[", name_, "] a custom Function needs its client");
  grads.resize(num_outputs);
  // Like torch's default materialize_grads: backward sees zeros, not None.
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) {
      const TensorMeta& m = result_metas[i];
      GradModeGuard no_grad(false);
      grads[i] = call("zeros", {m.sizes, m.dtype, m.device});
    }
  }
  std::vector<Tensor> out = ec.callback(CallbackKind::kFunctionBackward, handle_, std::move(grads));
  TD_CHECK(out.size() == next_edges.size(), kRuntime, "function ", name_,
           " returned an incorrect number of gradients (expected ", next_edges.size(), ", got ",
           out.size(), ")");
  return out;
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<AutogradMeta> l, TensorMeta meta)
    : leaf(std::move(l)), leaf_meta(std::move(meta)) {
  input_metas.push_back(InputMeta{leaf_meta.dtype, leaf_meta.device, leaf_meta.sizes});
}

std::vector<Tensor> AccumulateGrad::Apply(std::vector<Tensor> grads) {
  Tensor g = std::move(grads[0]);
  if (!g.defined()) return {};
  const bool grad_mode = CurrentExecContext().grad_enabled;
  Tensor& acc = leaf->grad;
  if (!acc.defined()) {
    // Keep the new gradient when nothing else can see it; else a copy, so a
    // later in-place accumulate never writes into someone else's tensor.
    const bool unique = g.storage.use_count() == 1 && !g.is_view && g.meta.is_contiguous() &&
                        g.meta.offset == 0 && !g.autograd;
    if (grad_mode) {
      acc = unique ? g : call("clone", {g});
    } else {
      acc = unique ? g : call("clone", {Data(g)});
    }
  } else if (!grad_mode) {
    call("add_", {acc, Data(g)});
  } else {
    acc = call("add", {acc, g});
  }
  return {};
}

}  // namespace autograd
}  // namespace tensord
