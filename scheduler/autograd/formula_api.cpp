#include "scheduler/autograd/formula_api.h"

#include <algorithm>
#include <cmath>

#include "kernels/core/error.h"
#include "kernels/meta/infer.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/variable.h"

namespace tensord::autograd {

std::vector<Tensor> call_all(std::string_view name, std::vector<Arg> args) {
  const OpSchema* op = FindOp(name);
  TD_ASSERT(op != nullptr, "formula calls unknown op ", name);
  TD_ASSERT(args.size() <= op->params.size(), name, ": ", args.size(), " arguments for ",
            op->params.size(), " parameters");
  OpArgs oa;
  std::vector<const Tensor*> inputs;
  auto add_tensor = [&](const Tensor& t) {
    inputs.push_back(&t);
    oa.metas.push_back(&t.meta);
    return static_cast<int64_t>(inputs.size() - 1);
  };
  for (size_t i = 0; i < op->params.size(); ++i) {
    if (i >= args.size()) {
      TD_ASSERT(op->params[i].has_default, name, ": formula omits parameter ",
                op->params[i].name, " which has no default");
      oa.values.push_back(op->params[i].default_value);
      continue;
    }
    const Arg& a = args[i];
    if (a.is_tensor) {
      oa.values.push_back(Value::Tensor(add_tensor(a.tensor)));
    } else if (a.is_list) {
      std::vector<int64_t> idx;
      for (const Tensor& t : a.list) idx.push_back(add_tensor(t));
      oa.values.push_back(Value::Tensors(std::move(idx)));
    } else {
      oa.values.push_back(a.value);
    }
  }
  std::vector<TensorMeta> metas = InferMeta(*op, oa);
  return Execute(*op, oa, inputs, std::move(metas));
}

Tensor call(std::string_view name, std::vector<Arg> args) {
  std::vector<Tensor> r = call_all(name, std::move(args));
  TD_ASSERT(!r.empty(), name, " gave no result");
  return r[0];
}

Tensor zeros_like(const Tensor& t) { return call("zeros", {t.sizes(), t.dtype(), t.meta.device}); }
Tensor ones_like(const Tensor& t) { return call("ones", {t.sizes(), t.dtype(), t.meta.device}); }

Tensor sum_to(const Tensor& grad, const Shape& sizes) {
  if (grad.sizes() == sizes) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(sizes.size());
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < grad.dim(); ++i) {
    if (i < lead || (sizes[i - lead] == 1 && grad.sizes()[i] != 1)) dims.push_back(i);
  }
  Tensor r = dims.empty() ? grad : call("sum", {grad, dims, true});
  return call("reshape", {r, sizes});
}

Tensor unsqueeze_dims(const Tensor& grad, const std::vector<int64_t>& dims, int64_t ndim,
                      bool keepdim) {
  if (keepdim || ndim == 0) return grad;
  std::vector<int64_t> sorted = dims;
  std::sort(sorted.begin(), sorted.end());
  Tensor r = grad;
  for (int64_t d : sorted) r = call("unsqueeze", {r, d});
  return r;
}

std::vector<int64_t> reduced_dims(const Arg& dim, int64_t ndim) {
  std::vector<int64_t> dims;
  if (dim.is_none() || (dim.value.kind == Value::Kind::kInts && dim.ints().empty())) {
    for (int64_t i = 0; i < ndim; ++i) dims.push_back(i);
    return dims;
  }
  if (dim.value.kind == Value::Kind::kInt) {
    dims.push_back(WrapDim(dim.to_int(), std::max<int64_t>(ndim, 1)));
  } else {
    for (int64_t d : dim.ints()) dims.push_back(WrapDim(d, std::max<int64_t>(ndim, 1)));
  }
  if (ndim == 0) dims.clear();
  return dims;
}

int64_t count_over(const Shape& sizes, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= sizes[d];
  return n;
}

}  // namespace tensord::autograd

namespace tensord::autograd {

Tensor scale(const Tensor& grad, const Arg& alpha) {
  if (alpha.is_none() || (alpha.value.is_scalar() && alpha.to_double() == 1.0)) return grad;
  return call("mul", {grad, alpha});
}

Tensor zeros_sized(const Tensor& grad, const Shape& sizes) {
  return call("zeros", {sizes, grad.dtype(), grad.meta.device});
}

std::vector<int64_t> invert_permutation(const std::vector<int64_t>& dims) {
  const int64_t n = static_cast<int64_t>(dims.size());
  std::vector<int64_t> inv(dims.size());
  for (int64_t i = 0; i < n; ++i) inv[WrapDim(dims[i], n)] = i;
  return inv;
}

namespace {
// zeros of `sizes`, with `view_op(args)` of it set to grad.
Tensor PlaceInto(const Tensor& grad, const Shape& sizes, std::string_view view_op,
                 std::vector<Arg> view_args) {
  Tensor z = zeros_sized(grad, sizes);
  view_args.insert(view_args.begin(), Arg(z));
  Tensor view = call(view_op, std::move(view_args));
  call("copy_", {view, grad});
  return z;
}

// Recording (double backward) avoids an in-place write into a view: call()
// takes copies of its tensors, so CopySlices would rebase a copy of the base
// rather than `z`. Instead, the same placement as index_put of `count`
// indices start, start + step, ... along dim d, which has its own gradient.
bool Recording(const Tensor& grad) { return CurrentExecContext().grad_enabled && RequiresGrad(grad); }

Tensor PutAlong(const Tensor& grad, const Shape& sizes, int64_t d, int64_t start, int64_t count,
                int64_t step) {
  Tensor z = zeros_sized(grad, sizes);
  if (count <= 0) return z;
  Tensor idx = call("arange", {start, start + count * step, step, DType::kInt64, grad.meta.device});
  return call("index_put", {z, std::vector<Tensor>{idx}, std::vector<int64_t>{d}, grad, false});
}
}  // namespace

Tensor select_backward(const Tensor& grad, const Shape& sizes, const Arg& dim, const Arg& index) {
  if (!Recording(grad)) return PlaceInto(grad, sizes, "select", {dim, index});
  const int64_t n = static_cast<int64_t>(sizes.size());
  const int64_t d = WrapDim(dim.to_int(), n);
  int64_t i = index.to_int();
  if (i < 0) i += sizes[d];
  return PutAlong(call("unsqueeze", {grad, d}), sizes, d, i, 1, 1);
}

Tensor slice_backward(const Tensor& grad, const Shape& sizes, const Arg& dim, const Arg& start,
                      const Arg& end, const Arg& step) {
  if (!Recording(grad)) return PlaceInto(grad, sizes, "slice", {dim, start, end, step});
  const int64_t n = static_cast<int64_t>(sizes.size());
  const int64_t d = WrapDim(dim.to_int(), n);
  const int64_t size = sizes[d];
  int64_t s = start.is_none() ? 0 : start.to_int();
  if (s < 0) s += size;
  s = std::clamp<int64_t>(s, 0, size);
  return PutAlong(grad, sizes, d, s, grad.sizes()[d], step.is_none() ? 1 : step.to_int());
}

Tensor narrow_backward(const Tensor& grad, const Shape& sizes, const Arg& dim, const Arg& start) {
  const int64_t d = WrapDim(dim.to_int(), static_cast<int64_t>(sizes.size()));
  if (!Recording(grad)) return PlaceInto(grad, sizes, "narrow", {dim, start, grad.sizes()[d]});
  int64_t s = start.to_int();
  if (s < 0) s += sizes[d];
  return PutAlong(grad, sizes, d, s, grad.sizes()[d], 1);
}

std::vector<Tensor> cat_backward(const Tensor& grad, const Arg& tensors, const Arg& dim) {
  std::vector<int64_t> sizes;
  int64_t d = -1;
  for (const Tensor& t : tensors.list) {
    // cat skips legacy empty 1-d inputs; they get empty gradients.
    if (t.dim() == 1 && t.numel() == 0 && grad.dim() != 1) {
      sizes.push_back(-1);
      continue;
    }
    if (d < 0) d = WrapDim(dim.to_int(), t.dim());
    sizes.push_back(t.sizes()[d]);
  }
  std::vector<int64_t> real;
  for (int64_t s : sizes) if (s >= 0) real.push_back(s);
  std::vector<Tensor> pieces = call_all("split_with_sizes", {grad, real, d < 0 ? 0 : d});
  std::vector<Tensor> out;
  size_t k = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0) {
      out.push_back(zeros_sized(grad, tensors.list[i].sizes()));
    } else {
      out.push_back(pieces[k++]);
    }
  }
  return out;
}

std::vector<Tensor> stack_backward(const Tensor& grad, const Arg& tensors, const Arg& dim) {
  (void)tensors;
  return call_all("unbind", {grad, WrapDim(dim.to_int(), grad.dim())});
}

Tensor pieces_backward(const std::vector<Tensor>& grads, const std::vector<TensorMeta>& metas,
                       const Shape& sizes, int64_t dim, bool stacked) {
  std::vector<Tensor> parts;
  for (size_t i = 0; i < grads.size(); ++i) {
    parts.push_back(grads[i].defined() ? grads[i]
                                       : call("zeros", {metas[i].sizes, metas[i].dtype,
                                                        metas[i].device}));
  }
  const int64_t d = WrapDim(dim, static_cast<int64_t>(sizes.size()));
  if (parts.empty()) return call("zeros", {sizes, metas.empty() ? DType::kFloat32 : metas[0].dtype});
  return call(stacked ? "stack" : "cat", {parts, d});
}

Tensor softmax_backward(const Tensor& grad, const Tensor& result, const Arg& dim) {
  Tensor gy = call("mul", {grad, result});
  Tensor s = call("sum", {gy, std::vector<int64_t>{dim.to_int()}, true});
  return call("sub", {gy, call("mul", {result, s})});
}

Tensor log_softmax_backward(const Tensor& grad, const Tensor& result, const Arg& dim) {
  Tensor s = call("sum", {grad, std::vector<int64_t>{dim.to_int()}, true});
  return call("sub", {grad, call("mul", {call("exp", {result}), s})});
}

Tensor pow_backward_self(const Tensor& grad, const Arg& self, const Arg& exponent) {
  if (!exponent.is_tensor) {
    const double e = exponent.to_double();
    if (e == 0.0) return zeros_sized(grad, self.sizes());
    return call("mul", {grad, call("mul", {call("pow", {self, e - 1.0}), e})});
  }
  // exponent * self^(exponent - 1), 0 where exponent is 0.
  Tensor d = call("mul", {exponent, call("pow", {self, call("sub", {exponent, 1})})});
  d = call("where", {call("eq", {exponent, 0}), 0.0, d});
  return call("mul", {grad, d});
}

Tensor pow_backward_exponent(const Tensor& grad, const Arg& self, const Arg& exponent,
                             const Tensor& result) {
  // result * log(self), 0 where self is 0 and exponent >= 0.
  Tensor log_self = self.is_tensor ? call("log", {self})
                                   : call("full", {Shape{}, std::log(self.to_double()),
                                                   grad.dtype(), grad.meta.device});
  Tensor d = call("mul", {result, log_self});
  if (self.is_tensor) {
    Tensor zero_base = call("logical_and", {call("eq", {self, 0}), call("ge", {exponent, 0})});
    d = call("where", {zero_base, 0.0, d});
  }
  return call("mul", {grad, d});
}

Tensor matmul_backward(const Tensor& grad, const Arg& self, const Arg& other, int which) {
  const Tensor& a = self.tensor;
  const Tensor& b = other.tensor;
  const int64_t da = a.dim(), db = b.dim();
  if (da == 1 && db == 1) return call("mul", {grad, which == 0 ? b : a});
  if (da == 2 && db == 1) {
    return which == 0 ? call("outer", {grad, b}) : call("mv", {call("t", {a}), grad});
  }
  if (da == 1 && db >= 2) {
    // [k] @ [..., k, n] -> [..., n]: a as a row.
    Tensor g2 = call("unsqueeze", {grad, -2});
    Tensor a2 = call("unsqueeze", {a, 0});
    // Batch dims of b stay in the result; the engine sums them away.
    if (which == 0) return call("squeeze", {call("matmul", {g2, call("transpose", {b, -1, -2})}), -2});
    return call("matmul", {call("transpose", {a2, -1, -2}), g2});
  }
  if (da >= 2 && db == 1) {
    Tensor g2 = call("unsqueeze", {grad, -1});
    Tensor b2 = call("unsqueeze", {b, 0});
    if (which == 0) return call("matmul", {g2, b2});
    return call("squeeze", {call("matmul", {call("transpose", {a, -1, -2}), g2}), -1});
  }
  // Both >= 2-d: batch dims broadcast; the engine sums them back.
  if (which == 0) return call("matmul", {grad, call("transpose", {b, -1, -2})});
  return call("matmul", {call("transpose", {a, -1, -2}), grad});
}

Arg optional_sizes(const Arg& t) {
  if (!t.is_tensor) return Arg(std::nullopt);
  return Arg(t.sizes());
}

namespace {
constexpr int64_t kReductionMean = 1;
Tensor ApplyReduction(Tensor d, const Arg& self, const Arg& reduction, const Tensor& grad) {
  if (reduction.to_int() == kReductionMean) d = call("div", {d, self.tensor.numel()});
  return call("mul", {d, grad});
}
}  // namespace

Tensor bce_with_logits_backward(const Tensor& grad, const Arg& self, const Arg& target,
                                const Arg& weight, const Arg& pos_weight, const Arg& reduction) {
  Tensor sig = call("sigmoid", {self});
  Tensor d;
  if (pos_weight.is_tensor) {
    // ((pw * t + 1 - t) * sigmoid(x) - pw * t)
    Tensor pt = call("mul", {pos_weight, target});
    d = call("sub", {call("mul", {call("add", {call("sub", {pt, target}), 1}), sig}), pt});
  } else {
    d = call("sub", {sig, target});
  }
  if (weight.is_tensor) d = call("mul", {d, weight});
  return ApplyReduction(d, self, reduction, grad);
}

Tensor kl_div_backward(const Tensor& grad, const Arg& self, const Arg& target,
                       const Arg& reduction, const Arg& log_target) {
  Tensor d = log_target.to_bool() ? call("neg", {call("exp", {target})}) : call("neg", {target});
  d = call("expand", {d, self.sizes()});
  return ApplyReduction(d, self, reduction, grad);
}

}  // namespace tensord::autograd
