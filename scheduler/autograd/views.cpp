#include "scheduler/autograd/views.h"

#include <algorithm>

#include "kernels/core/error.h"
#include "kernels/meta/view_rebase.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/formula_api.h"

namespace tensord::autograd {
namespace {

std::string OpPrefix(const std::string& op) { return op.empty() ? "" : "[" + op + "] "; }

// The regenerated grad_fn of a view: AsStridedBackward0 of its base.
std::shared_ptr<Node> MakeAsStridedNode(const Tensor& base, const TensorMeta& view) {
  static const OpSchema* as_strided = FindOp("as_strided");
  TD_ASSERT(as_strided != nullptr, "as_strided is not in the op schema");
  auto node = std::make_shared<OpNode>();
  node->op = as_strided;
  node->values = {Value::Tensor(0),
                  Value::Ints(std::vector<int64_t>(view.sizes.begin(), view.sizes.end())),
                  Value::Ints(std::vector<int64_t>(view.strides.begin(), view.strides.end())),
                  Value::Int(view.offset)};
  node->inputs.resize(1);
  node->tensor_slot = {0};
  node->all_input_metas = {base.meta};
  node->next_edges.push_back(GradientEdge(base));
  node->input_metas.push_back(InputMeta{base.dtype(), base.meta.device, base.sizes()});
  node->num_outputs = 1;
  node->result_metas = {view};
  return node;
}

}  // namespace

int64_t StorageExtent(const TensorMeta& m) {
  int64_t extent = m.offset + 1;
  for (size_t d = 0; d < m.sizes.size(); ++d) {
    if (m.sizes[d] == 0) return m.offset;
    extent += (m.sizes[d] - 1) * m.strides[d];
  }
  return extent;
}

void CheckViewRebase(const Tensor& t, bool indirect, const std::string& op) {
  const AutogradMeta& m = *t.autograd;
  const ViewCreation creation = m.view->creation;
  if (creation == ViewCreation::kDefault) return;
  Fail(ErrorKind::kRuntime, OpPrefix(op),
       ViewRebaseError(m.grad_fn ? m.grad_fn->name() : std::string(), m.output_nr,
                       creation == ViewCreation::kMultiOutput, indirect));
}

void RefreshViewGradFn(const Tensor& t) {
  AutogradMeta* m = t.autograd.get();
  if (!m || !m->view) return;
  ViewInfo& v = *m->view;
  if (!m->grad_fn && !RequiresGrad(v.base)) return;
  const uint64_t version = t.storage->version();
  if (v.attr_version == version) return;
  CheckViewRebase(t, /*indirect=*/true, "");
  m->grad_fn = MakeAsStridedNode(v.base, t.meta);
  m->output_nr = 0;
  m->requires_grad = true;
  v.attr_version = version;
}

void TrackView(const Tensor& input, Tensor& view, bool multi_output, bool grad_mode) {
  const ViewInfo* input_view = input.autograd ? input.autograd->view.get() : nullptr;
  // The base's AutogradMeta must exist now: the view's copy of the base and
  // the session's tensor then share whatever history the base gets later.
  Tensor& base = const_cast<Tensor&>(input_view ? input_view->base : input);
  if (!base.autograd) base.autograd = std::make_shared<AutogradMeta>();
  auto info = std::make_unique<ViewInfo>();
  info->base = base;
  const ViewCreation now = !grad_mode      ? ViewCreation::kNoGrad
                           : multi_output ? ViewCreation::kMultiOutput
                                          : ViewCreation::kDefault;
  // A view of a restricted view stays restricted (PyTorch's propagate_creation_meta).
  info->creation = now == ViewCreation::kDefault && input_view ? input_view->creation : now;
  info->attr_version = view.storage->version();
  MetaOf(view).view = std::move(info);
}

void CheckInPlaceOnView(const Tensor& t, const std::string& op) {
  CheckViewRebase(t, /*indirect=*/false, op);
  TD_CHECK(!(RequiresGrad(t) && IsLeaf(t.autograd->view->base)), kRuntime, OpPrefix(op),
           "a view of a leaf Variable that requires grad is being used in an in-place operation.");
}

void RebaseView(const Tensor& t, std::shared_ptr<Node> fn, int fn_self_slot) {
  AutogradMeta& m = *t.autograd;
  ViewInfo& v = *m.view;
  // Built before the base's grad_fn changes: its edge 0 is the base's old history.
  auto copy_slices = std::make_shared<CopySlices>(v.base, t.meta, std::move(fn), fn_self_slot);
  AutogradMeta& bm = *v.base.autograd;
  bm.grad_fn = std::move(copy_slices);
  bm.output_nr = 0;
  bm.requires_grad = true;
  m.grad_fn = MakeAsStridedNode(v.base, t.meta);
  m.output_nr = 0;
  m.requires_grad = true;
  v.attr_version = t.storage->version();
}

Tensor LinearIndices(const TensorMeta& m, int64_t offset_shift, Device device) {
  const int64_t n = m.numel();
  Tensor idx = Tensor::Empty(TensorMeta::Contiguous(DType::kInt64, Device{}, Shape{n}),
                             CurrentExecContext().tracker);
  int64_t* out = idx.data<int64_t>();
  const size_t nd = m.sizes.size();
  std::vector<int64_t> pos(nd, 0);
  int64_t off = m.offset - offset_shift;
  for (int64_t k = 0; k < n; ++k) {
    out[k] = off;
    // Row-major increment of pos, keeping off in step.
    for (size_t d = nd; d-- > 0;) {
      if (++pos[d] < m.sizes[d]) {
        off += m.strides[d];
        break;
      }
      off -= (m.sizes[d] - 1) * m.strides[d];
      pos[d] = 0;
    }
  }
  if (!device.is_cpu()) idx = call("to_device", {idx, device});
  return idx;
}

// ---- CopySlices ----

CopySlices::CopySlices(const Tensor& base, const TensorMeta& view, std::shared_ptr<Node> f,
                       int self_slot)
    : base_geometry(base.meta), view_geometry(view), fn(std::move(f)), fn_self_slot(self_slot) {
  next_edges.push_back(GradientEdge(base));
  input_metas.push_back(InputMeta{base.dtype(), base.meta.device, base.sizes()});
  fn_slots.push_back(-1);
  for (size_t i = 0; i < fn->next_edges.size(); ++i) {
    if (static_cast<int>(i) == fn_self_slot) continue;
    next_edges.push_back(fn->next_edges[i]);
    input_metas.push_back(fn->input_metas[i]);
    fn_slots.push_back(static_cast<int>(i));
  }
}

// PyTorch's CopySlices::apply: the base's gradient with the view's part
// replaced by fn's gradient for the view; fn's other gradients pass on.
std::vector<Tensor> CopySlices::Apply(std::vector<Tensor> grads) {
  std::vector<Tensor> out(next_edges.size());
  const Tensor& grad = grads[0];
  if (!grad.defined()) return out;
  // Both geometries relative to one zero-based buffer of the storage's span.
  const int64_t shift = std::min(base_geometry.offset, view_geometry.offset);
  TensorMeta base_m = base_geometry, view_m = view_geometry;
  base_m.offset -= shift;
  view_m.offset -= shift;
  for (TensorMeta* m : {&base_m, &view_m}) {
    m->dtype = grad.dtype();
    m->device = grad.meta.device;
  }
  const int64_t extent = std::max(StorageExtent(base_m), StorageExtent(view_m));
  Tensor flat = zeros_sized(grad, Shape{extent});
  auto fn_grads = [&](Tensor slice) {
    std::vector<Tensor> res = fn->Apply({std::move(slice)});
    res.resize(fn->next_edges.size());
    return res;
  };

  if (!CurrentExecContext().grad_enabled) {
    // Plain backward: write through strided views of the buffer.
    Tensor result = flat.View(base_m);
    call("copy_", {result, grad});
    Tensor slice = flat.View(view_m);
    std::vector<Tensor> res = fn_grads(call("clone", {slice}));
    if (fn_self_slot >= 0 && res[fn_self_slot].defined()) {
      call("copy_", {slice, res[fn_self_slot]});
    } else {
      call("zero_", {slice});  // fn's result does not depend on the view's old value
    }
    out[0] = result;
    for (size_t i = 1; i < out.size(); ++i) out[i] = std::move(res[fn_slots[i]]);
    return out;
  }

  // create_graph: the same through out-of-place index ops, so that the
  // gradient is itself differentiable.
  const std::vector<int64_t> dim0 = {0};
  Tensor base_idx = LinearIndices(base_m, 0, grad.meta.device);
  Tensor view_idx = LinearIndices(view_m, 0, grad.meta.device);
  flat = call("index_put", {flat, std::vector<Tensor>{base_idx}, dim0,
                            call("reshape", {grad, std::vector<int64_t>{-1}}), false});
  Tensor slice = call("reshape", {call("index_select", {flat, 0, view_idx}), view_m.sizes});
  std::vector<Tensor> res = fn_grads(slice);
  Arg slice_grad = Arg(0.0);
  if (fn_self_slot >= 0 && res[fn_self_slot].defined()) {
    Tensor g = call("expand", {res[fn_self_slot], view_m.sizes});
    slice_grad = Arg(call("reshape", {g, std::vector<int64_t>{-1}}));
  }
  flat = call("index_put", {flat, std::vector<Tensor>{view_idx}, dim0, slice_grad, false});
  out[0] = call("reshape", {call("index_select", {flat, 0, base_idx}), base_m.sizes});
  for (size_t i = 1; i < out.size(); ++i) out[i] = std::move(res[fn_slots[i]]);
  return out;
}

}  // namespace tensord::autograd
