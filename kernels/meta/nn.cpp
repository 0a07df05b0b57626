// Metadata rules of the nn ops (kernels/cpu/nn_*.cpp): normalisation,
// embedding, losses and activations. Every shape a kernel relies on is
// checked here, so kernels only check data (targets, indices, lengths).
#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "kernels/meta/nn_rule_util.h"
#include "kernels/meta/rule_util.h"
#include "kernels/meta/torch_names.h"

namespace tensord {

const TensorMeta* OptionalTensor(const OpArgs& args, int i) {
  return args.values[i].is_tensor() ? &args.tensor(i) : nullptr;
}

void CheckFloatingInput(const OpSchema& op, DType d) {
  TD_CHECK(IsFloating(d), kRuntime, "[", op.name, "] not implemented for '", TorchTypeName(d), "'");
}

void CheckReduction(const OpSchema& op, int64_t reduction) {
  TD_CHECK(reduction >= 0 && reduction <= 2, kValue, "[", op.name, "] reduction must be 0 (none), ",
           "1 (mean) or 2 (sum), got ", reduction);
}

std::array<bool, 3> OutputMask(const OpSchema& op, const OpArgs& args, int i) {
  const auto& m = args.get_ints(i);
  TD_CHECK(m.size() == 3, kRuntime, "[", op.name, "] output_mask must have 3 entries, got ", m.size());
  return {m[0] != 0, m[1] != 0, m[2] != 0};
}

namespace {

TensorMeta Result(DType d, const OpArgs& args, const OpSchema& op, Shape sizes) {
  TD_CHECK(CheckedNbytes(sizes, d).has_value(), kRuntime, "[", op.name, "] result size ",
           ShapeStr(sizes), " is invalid or too large");
  return TensorMeta::Contiguous(d, CommonDevice(op, args), std::move(sizes));
}

// A parameter of `n` elements (batch/group norm weight, bias, running stats).
void CheckPerChannel(const OpSchema& op, const TensorMeta* t, const char* what, int64_t n,
                     const TensorMeta& input) {
  if (t == nullptr) return;
  TD_CHECK(t->numel() == n, kRuntime, "[", op.name, "] Expected ", what,
           " to be a vector of size equal to the number of channels in input, but got ", what,
           " of shape ", ShapeStr(t->sizes), " and input of shape ", ShapeStr(input.sizes));
}

void CheckIndexDType(const OpSchema& op, const TensorMeta& t, const char* what) {
  TD_CHECK(t.dtype == DType::kInt64 || t.dtype == DType::kInt32, kRuntime, "[", op.name,
           "] Expected tensor for argument '", what, "' to have one of the following scalar ",
           "types: Long, Int; but got ", TorchTypeName(t.dtype), " instead");
}

int64_t MulChecked(const OpSchema& op, int64_t a, int64_t b) {
  int64_t r = 0;
  TD_CHECK(a >= 0 && b >= 0 && !__builtin_mul_overflow(a, b, &r), kRuntime, "[", op.name,
           "] sizes ", a, " and ", b, " are negative or too large");
  return r;
}

Shape Empty() { return Shape{0}; }

// Batch norm's input is (N, C, *): C is dim 1.
int64_t BatchNormChannels(const OpSchema& op, const TensorMeta& input) {
  TD_CHECK(input.dim() >= 2, kIndex, "[", op.name, "] Dimension out of range (expected to be in ",
           "range of [-1, 0], but got 1): input must be (N, C, *), got ", ShapeStr(input.sizes));
  return input.sizes[1];
}

// The number of leading rows of layer norm: input's shape must end with
// normalized_shape.
int64_t LayerNormRows(const OpSchema& op, const TensorMeta& input, const std::vector<int64_t>& ns,
                      const TensorMeta* weight, const TensorMeta* bias) {
  TD_CHECK(!ns.empty(), kRuntime, "[", op.name, "] Expected normalized_shape to be at least ",
           "1-dimensional, i.e., containing at least one element, but got normalized_shape = []");
  const Shape nshape(ns);
  for (const auto& [t, what] : {std::pair{weight, "weight"}, std::pair{bias, "bias"}}) {
    TD_CHECK(t == nullptr || t->sizes == nshape, kRuntime, "[", op.name, "] Expected ", what,
             " to be of same shape as normalized_shape, but got ", what, " of shape ",
             ShapeStr(t->sizes), " and normalized_shape = ", ShapeStr(nshape));
  }
  const int64_t nd = input.dim(), k = static_cast<int64_t>(ns.size());
  bool ok = nd >= k;
  for (int64_t i = 0; ok && i < k; ++i) ok = input.sizes[nd - k + i] == ns[i];
  TD_CHECK(ok, kRuntime, "[", op.name, "] Given normalized_shape=", ShapeStr(nshape),
           ", expected input with shape [*, ", ShapeStr(nshape).substr(1), ", but got input of size",
           ShapeStr(input.sizes));
  int64_t m = 1;
  for (int64_t i = 0; i < nd - k; ++i) m *= input.sizes[i];
  return m;
}

Shape LayerNormStatShape(const TensorMeta& input, size_t k) {
  Shape s = input.sizes;
  for (size_t i = s.size() - k; i < s.size(); ++i) s[i] = 1;
  return s;
}

void CheckGroupNorm(const OpSchema& op, const TensorMeta& input, const TensorMeta* weight,
                    int64_t n, int64_t c, int64_t hxw, int64_t group) {
  TD_CHECK(group > 0, kRuntime, "[", op.name, "] Expected num_groups to be positive, got ", group);
  TD_CHECK(c % group == 0, kRuntime, "[", op.name, "] Expected number of channels in input to be ",
           "divisible by num_groups, but got input of shape ", ShapeStr(input.sizes),
           " and num_groups=", group);
  TD_CHECK(MulChecked(op, MulChecked(op, n, c), hxw) == input.numel(), kRuntime, "[", op.name,
           "] Expected X.numel() == N * C * HxW to be true, but got false (input of shape ",
           ShapeStr(input.sizes), ", N=", n, ", C=", c, ", HxW=", hxw, ")");
  CheckPerChannel(op, weight, "weight", c, input);
}

// The class dim's size of nll_loss inputs, after checking self and target.
int64_t NllClasses(const OpSchema& op, const TensorMeta& self, const TensorMeta& target,
                   const TensorMeta* weight) {
  const bool is2d = op.name.starts_with("nll_loss2d");
  TD_CHECK(target.dtype == DType::kInt64, kRuntime, "[", op.name,
           "] expected scalar type Long but found ", TorchTypeName(target.dtype));
  int64_t classes;
  if (is2d) {
    TD_CHECK(self.dim() == 4, kRuntime, "[", op.name, "] only batches of spatial inputs supported ",
             "(4D tensors), but got input of dimension: ", self.dim());
    TD_CHECK(target.dim() == 3, kRuntime, "[", op.name, "] only batches of spatial targets ",
             "supported (3D tensors) but got targets of dimension: ", target.dim());
    TD_CHECK(self.sizes[0] == target.sizes[0] && self.sizes[2] == target.sizes[1] &&
                 self.sizes[3] == target.sizes[2],
             kRuntime, "[", op.name, "] size mismatch (got input: ", ShapeStr(self.sizes),
             " , target: ", ShapeStr(target.sizes));
    classes = self.sizes[1];
  } else {
    TD_CHECK(self.dim() > 0 && self.dim() <= 2, kRuntime, "[", op.name,
             "] input tensor should be 1D or 2D");
    TD_CHECK(target.dim() <= 1, kRuntime, "[", op.name,
             "] 0D or 1D target tensor expected, multi-target not supported");
    const bool no_batch = self.dim() == 1 && target.dim() == 0;
    TD_CHECK(no_batch || (target.dim() == 1 && self.sizes[0] == target.sizes[0]), kRuntime, "[",
             op.name, "] size mismatch (got input: ", ShapeStr(self.sizes), ", target: ",
             ShapeStr(target.sizes), ")");
    classes = self.sizes[self.dim() - 1];
  }
  TD_CHECK(weight == nullptr || weight->numel() == classes, kRuntime, "[", op.name,
           "] weight tensor should be defined either for all ", classes,
           " classes or no classes but got weight tensor of shape: ", ShapeStr(weight->sizes));
  CheckFloatingInput(op, self.dtype);
  return classes;
}

// The loss shape of nll_loss with reduction none.
Shape NllUnreduced(const TensorMeta& self, const TensorMeta& target) {
  return self.dim() == 1 ? Shape{} : target.sizes;
}

// Broadcast of every tensor argument; the promoted floating dtype.
Shape BroadcastTensors(const OpSchema& op, const OpArgs& args, DType* dtype) {
  Shape shape;
  bool any = false;
  for (size_t i = 0; i < op.params.size(); ++i) {
    if (op.params[i].type != ParamType::kTensor || !args.values[i].is_tensor()) continue;
    shape = any ? BroadcastShapes(op.name, shape, args.tensor(i).sizes) : args.tensor(i).sizes;
    any = true;
  }
  *dtype = ResultTypeOfInputs(op, args);
  CheckFloatingInput(op, *dtype);
  return shape;
}

// CTC: log_probs (T, N, C), lengths per batch, targets padded or concatenated.
// Returns the longest target.
int64_t CheckCtc(const OpSchema& op, const OpArgs& args, int base) {
  const TensorMeta& lp = args.tensor(base);
  const TensorMeta& targets = args.tensor(base + 1);
  const auto& il = args.get_ints(base + 2);
  const auto& tl = args.get_ints(base + 3);
  const int64_t blank = args.get_int(op.param_index("blank"));
  TD_CHECK(lp.dim() == 3, kRuntime, "[", op.name, "] expected log_probs of 3 dims (T, N, C), got ",
           ShapeStr(lp.sizes));
  CheckFloatingInput(op, lp.dtype);
  CheckIndexDType(op, targets, "targets");
  const int64_t t = lp.sizes[0], n = lp.sizes[1], c = lp.sizes[2];
  TD_CHECK(static_cast<int64_t>(il.size()) == n, kRuntime, "[", op.name,
           "] input_lengths must be of size batch_size");
  TD_CHECK(static_cast<int64_t>(tl.size()) == n, kRuntime, "[", op.name,
           "] target_lengths must be of size batch_size");
  TD_CHECK(blank >= 0 && blank < c, kRuntime, "[", op.name, "] blank must be in label range");
  int64_t max_target = 0, total = 0;
  for (int64_t b = 0; b < n; ++b) {
    TD_CHECK(il[b] >= 0 && il[b] <= t, kRuntime, "[", op.name, "] Expected input_lengths to have ",
             "value at most ", t, ", but got value ", il[b], " (while checking arguments for ",
             "ctc_loss_cpu)");
    TD_CHECK(tl[b] >= 0 && tl[b] <= (int64_t{1} << 40), kRuntime, "[", op.name,
             "] target_lengths must be non-negative, got ", tl[b]);
    max_target = std::max(max_target, tl[b]);
    total += tl[b];
  }
  if (targets.dim() == 1) {
    TD_CHECK(targets.sizes[0] >= total, kRuntime, "[", op.name, "] Expected tensor to have size at ",
             "least ", total, " at dimension 0, but got size ", targets.sizes[0],
             " for argument #2 'targets' (while checking arguments for ctc_loss_cpu)");
  } else {
    TD_CHECK(targets.dim() == 2 && targets.sizes[0] == n, kRuntime, "[", op.name,
             "] expected targets of shape (N, S) or concatenated 1-D, got ", ShapeStr(targets.sizes));
    TD_CHECK(targets.sizes[1] >= max_target, kRuntime, "[", op.name, "] Expected tensor to have ",
             "size at least ", max_target, " at dimension 1, but got size ", targets.sizes[1],
             " for argument #2 'targets' (while checking arguments for ctc_loss_cpu)");
  }
  return max_target;
}

void CheckLossParams(const OpSchema& op, const OpArgs& args) {
  if (op.name.starts_with("smooth_l1_loss")) {
    TD_CHECK(args.get_float(op.param_index("beta")) >= 0, kRuntime, "[", op.name,
             "] smooth_l1_loss does not support negative values for beta.");
  }
  if (op.name.starts_with("huber_loss")) {
    TD_CHECK(args.get_float(op.param_index("delta")) > 0, kRuntime, "[", op.name,
             "] huber_loss does not support non-positive values for delta.");
  }
}

// prelu's weight: 1 element, or one per channel (dim 1).
void CheckPrelu(const OpSchema& op, const TensorMeta& self, const TensorMeta& weight) {
  TD_CHECK(weight.dim() <= 1, kRuntime, "[", op.name, "] prelu: Expected `weight` to be a scalar ",
           "or 1D tensor, but got ndim = ", weight.dim());
  if (weight.numel() != 1) {
    TD_CHECK(self.dim() > 0, kRuntime, "[", op.name, "] Not allow zero-dim input tensor.");
    const int64_t channels = self.dim() > 1 ? self.sizes[1] : 1;
    TD_CHECK(channels == weight.numel(), kRuntime, "[", op.name, "] Mismatch of parameter numbers ",
             "and input channel size. Found parameter numbers = ", weight.numel(),
             " and channel size = ", channels, ".");
  }
  CheckFloatingInput(op, self.dtype);
  TD_CHECK(weight.dtype == self.dtype, kRuntime, "[", op.name, "] expected weight of dtype ",
           TorchTypeName(self.dtype), ", got ", TorchTypeName(weight.dtype));
}

Shape GluHalf(const OpSchema& op, const TensorMeta& self, int64_t dim_arg, int64_t* dim) {
  TD_CHECK(self.dim() > 0, kRuntime, "[", op.name, "] glu does not support 0-dimensional tensors");
  *dim = WrapDim(dim_arg, self.dim());
  TD_CHECK(self.sizes[*dim] % 2 == 0, kRuntime, "[", op.name, "] Halving dimension must be even, ",
           "but dimension ", *dim, " is size ", self.sizes[*dim]);
  Shape s = self.sizes;
  s[*dim] /= 2;
  CheckFloatingInput(op, self.dtype);
  return s;
}

}  // namespace

namespace rules {

void native_batch_norm(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& input = args.tensor(0);
  const int64_t c = BatchNormChannels(op, input);
  CheckFloatingInput(op, input.dtype);
  const char* names[] = {"weight", "bias", "running_mean", "running_var"};
  for (int i = 1; i <= 4; ++i) CheckPerChannel(op, OptionalTensor(args, i), names[i - 1], c, input);
  const bool training = args.get_bool(5);
  TD_CHECK(training || (OptionalTensor(args, 3) && OptionalTensor(args, 4)), kRuntime, "[",
           op.name, "] running_mean and running_var must be defined in evaluation mode");
  outs.push_back(Result(input.dtype, args, op, input.sizes));
  const Shape stat = training ? Shape{c} : Empty();
  outs.push_back(Result(input.dtype, args, op, stat));
  outs.push_back(Result(input.dtype, args, op, stat));
}

void native_batch_norm_backward(const OpSchema& op, const OpArgs& args,
                                std::vector<TensorMeta>& outs) {
  const TensorMeta& grad = args.tensor(0);
  const TensorMeta& input = args.tensor(1);
  const int64_t c = BatchNormChannels(op, input);
  CheckFloatingInput(op, input.dtype);
  TD_CHECK(grad.sizes == input.sizes, kRuntime, "[", op.name, "] grad_out of shape ",
           ShapeStr(grad.sizes), " does not match input of shape ", ShapeStr(input.sizes));
  CheckPerChannel(op, OptionalTensor(args, 2), "weight", c, input);
  // Only the statistics of the mode are read (the others may be empty).
  const bool train = args.get_bool(7);
  const int stats = train ? 5 : 3;
  CheckPerChannel(op, OptionalTensor(args, stats), train ? "save_mean" : "running_mean", c, input);
  CheckPerChannel(op, OptionalTensor(args, stats + 1), train ? "save_invstd" : "running_var", c, input);
  TD_CHECK(OptionalTensor(args, stats) && OptionalTensor(args, stats + 1), kRuntime, "[", op.name,
           "] ", train ? "save_mean and save_invstd must be defined in training mode"
                       : "running_mean and running_var must be defined in evaluation mode");
  const auto mask = OutputMask(op, args, 9);
  outs.push_back(Result(input.dtype, args, op, mask[0] ? input.sizes : Empty()));
  outs.push_back(Result(input.dtype, args, op, mask[1] ? Shape{c} : Empty()));
  outs.push_back(Result(input.dtype, args, op, mask[2] ? Shape{c} : Empty()));
}

void native_layer_norm(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& input = args.tensor(0);
  const auto& ns = args.get_ints(1);
  LayerNormRows(op, input, ns, OptionalTensor(args, 2), OptionalTensor(args, 3));
  CheckFloatingInput(op, input.dtype);
  outs.push_back(Result(input.dtype, args, op, input.sizes));
  outs.push_back(Result(input.dtype, args, op, LayerNormStatShape(input, ns.size())));
  outs.push_back(Result(input.dtype, args, op, LayerNormStatShape(input, ns.size())));
}

void native_layer_norm_backward(const OpSchema& op, const OpArgs& args,
                                std::vector<TensorMeta>& outs) {
  const TensorMeta& grad = args.tensor(0);
  const TensorMeta& input = args.tensor(1);
  const auto& ns = args.get_ints(2);
  const int64_t m = LayerNormRows(op, input, ns, OptionalTensor(args, 5), OptionalTensor(args, 6));
  CheckFloatingInput(op, input.dtype);
  TD_CHECK(grad.sizes == input.sizes, kRuntime, "[", op.name, "] grad_out of shape ",
           ShapeStr(grad.sizes), " does not match input of shape ", ShapeStr(input.sizes));
  TD_CHECK(args.tensor(3).numel() == m && args.tensor(4).numel() == m, kRuntime, "[", op.name,
           "] mean and rstd must have ", m, " elements");
  const auto mask = OutputMask(op, args, 7);
  outs.push_back(Result(input.dtype, args, op, mask[0] ? input.sizes : Empty()));
  outs.push_back(Result(input.dtype, args, op, mask[1] ? Shape(ns) : Empty()));
  outs.push_back(Result(input.dtype, args, op, mask[2] ? Shape(ns) : Empty()));
}

void native_group_norm(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& input = args.tensor(0);
  const int64_t n = args.get_int(3), c = args.get_int(4), hxw = args.get_int(5),
                group = args.get_int(6);
  CheckGroupNorm(op, input, OptionalTensor(args, 1), n, c, hxw, group);
  CheckPerChannel(op, OptionalTensor(args, 2), "bias", c, input);
  CheckFloatingInput(op, input.dtype);
  outs.push_back(Result(input.dtype, args, op, input.sizes));
  outs.push_back(Result(input.dtype, args, op, Shape{n, group}));
  outs.push_back(Result(input.dtype, args, op, Shape{n, group}));
}

void native_group_norm_backward(const OpSchema& op, const OpArgs& args,
                                std::vector<TensorMeta>& outs) {
  const TensorMeta& grad = args.tensor(0);
  const TensorMeta& input = args.tensor(1);
  const int64_t n = args.get_int(5), c = args.get_int(6), hxw = args.get_int(7),
                group = args.get_int(8);
  CheckGroupNorm(op, input, OptionalTensor(args, 4), n, c, hxw, group);
  CheckFloatingInput(op, input.dtype);
  TD_CHECK(grad.sizes == input.sizes, kRuntime, "[", op.name, "] grad_out of shape ",
           ShapeStr(grad.sizes), " does not match input of shape ", ShapeStr(input.sizes));
  TD_CHECK(args.tensor(2).numel() == n * group && args.tensor(3).numel() == n * group, kRuntime,
           "[", op.name, "] mean and rstd must have N * group = ", n * group, " elements");
  const auto mask = OutputMask(op, args, 9);
  outs.push_back(Result(input.dtype, args, op, mask[0] ? input.sizes : Empty()));
  outs.push_back(Result(input.dtype, args, op, mask[1] ? Shape{c} : Empty()));
  outs.push_back(Result(input.dtype, args, op, mask[2] ? Shape{c} : Empty()));
}

void embedding_dense_backward(const OpSchema& op, const OpArgs& args,
                              std::vector<TensorMeta>& outs) {
  const TensorMeta& grad = args.tensor(0);
  const TensorMeta& indices = args.tensor(1);
  CheckIndexDType(op, indices, "indices");
  CheckFloatingInput(op, grad.dtype);
  TD_CHECK(grad.dim() == indices.dim() + 1, kRuntime, "[", op.name, "] grad_output of shape ",
           ShapeStr(grad.sizes), " must be indices' shape ", ShapeStr(indices.sizes), " + [D]");
  for (int64_t i = 0; i < indices.dim(); ++i) {
    TD_CHECK(grad.sizes[i] == indices.sizes[i], kRuntime, "[", op.name, "] grad_output of shape ",
             ShapeStr(grad.sizes), " must be indices' shape ", ShapeStr(indices.sizes), " + [D]");
  }
  const int64_t num_weights = args.get_int(2);
  TD_CHECK(num_weights >= 0, kRuntime, "[", op.name, "] num_weights must be non-negative, got ",
           num_weights);
  outs.push_back(Result(grad.dtype, args, op, Shape{num_weights, grad.sizes[grad.dim() - 1]}));
}

void embedding_renorm(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(self.dim() == 2, kRuntime, "[", op.name, "] Expected 2-dimensional weight, got ",
           ShapeStr(self.sizes));
  CheckFloatingInput(op, self.dtype);
  CheckIndexDType(op, args.tensor(1), "indices");
  CommonDevice(op, args);
  outs.push_back(self);
}

void softmax_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& grad = args.tensor(0);
  const TensorMeta& output = args.tensor(1);
  TD_CHECK(grad.sizes == output.sizes, kRuntime, "[", op.name, "] Expected tensor for argument #1 ",
           "'grad' to have same size as tensor for argument #2 'output'; but ",
           ShapeStr(grad.sizes), " does not equal ", ShapeStr(output.sizes));
  WrapDim(args.get_int(2), grad.dim());
  const DType d = args.values[3].dtype;
  CheckFloatingInput(op, d);
  CheckFloatingInput(op, grad.dtype);
  CheckFloatingInput(op, output.dtype);
  outs.push_back(Result(d, args, op, grad.sizes));
}

void nll_loss(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const TensorMeta& target = args.tensor(1);
  NllClasses(op, self, target, OptionalTensor(args, 2));
  const int64_t reduction = args.get_int(3);
  CheckReduction(op, reduction);
  outs.push_back(Result(self.dtype, args, op, reduction == 0 ? NllUnreduced(self, target) : Shape{}));
  outs.push_back(Result(self.dtype, args, op, Shape{}));
}

void nll_loss_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& grad = args.tensor(0);
  const TensorMeta& self = args.tensor(1);
  const TensorMeta& target = args.tensor(2);
  NllClasses(op, self, target, OptionalTensor(args, 3));
  const int64_t reduction = args.get_int(4);
  CheckReduction(op, reduction);
  const Shape want = reduction == 0 ? NllUnreduced(self, target) : Shape{};
  TD_CHECK(grad.numel() == Numel(want) && (reduction != 0 || grad.sizes == want), kRuntime, "[",
           op.name, "] Expected grad_output of shape ", ShapeStr(want), ", got ",
           ShapeStr(grad.sizes));
  TD_CHECK(args.tensor(6).numel() == 1, kRuntime, "[", op.name,
           "] expected total_weight to be a single element tensor, got: ",
           ShapeStr(args.tensor(6).sizes));
  outs.push_back(Result(self.dtype, args, op, self.sizes));
}

void pointwise_loss(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  CheckLossParams(op, args);
  DType d;
  Shape shape = BroadcastTensors(op, args, &d);
  const int64_t reduction = args.get_int(op.param_index("reduction"));
  CheckReduction(op, reduction);
  outs.push_back(Result(d, args, op, reduction == 0 ? shape : Shape{}));
}

// The gradient has self's shape: the other operands broadcast to it.
void pointwise_loss_backward(const OpSchema& op, const OpArgs& args,
                             std::vector<TensorMeta>& outs) {
  CheckLossParams(op, args);
  DType d;
  BroadcastTensors(op, args, &d);
  const TensorMeta& self = args.tensor(1);
  for (size_t i = 0; i < op.params.size(); ++i) {
    if (op.params[i].type == ParamType::kTensor && args.values[i].is_tensor()) {
      CheckExpandable(op.name, args.tensor(i).sizes, self.sizes);
    }
  }
  CheckReduction(op, args.get_int(op.param_index("reduction")));
  outs.push_back(Result(d, args, op, self.sizes));
}

void ctc_loss(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const int64_t max_target = CheckCtc(op, args, 0);
  const TensorMeta& lp = args.tensor(0);
  const int64_t t = lp.sizes[0], n = lp.sizes[1];
  if (op.name == "ctc_loss") {
    const int64_t reduction = args.get_int(5);
    CheckReduction(op, reduction);
    outs.push_back(Result(lp.dtype, args, op, reduction == 0 ? Shape{n} : Shape{}));
    return;
  }
  outs.push_back(Result(lp.dtype, args, op, Shape{n}));
  outs.push_back(Result(lp.dtype, args, op, Shape{n, t, MulChecked(op, max_target, 2) + 1}));
}

void ctc_loss_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  CheckCtc(op, args, 1);
  const TensorMeta& lp = args.tensor(1);
  const int64_t n = lp.sizes[1];
  TD_CHECK(args.tensor(0).numel() == n && args.tensor(5).numel() == n, kRuntime, "[", op.name,
           "] grad and neg_log_likelihood must have batch_size = ", n, " elements");
  outs.push_back(Result(lp.dtype, args, op, lp.sizes));
}

void activation(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  CheckFloatingInput(op, self.dtype);
  outs.push_back(Result(self.dtype, args, op, self.sizes));
}

void activation_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  DType d;
  Shape shape = BroadcastTensors(op, args, &d);
  outs.push_back(Result(d, args, op, shape));
}

void prelu(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  CheckPrelu(op, self, args.tensor(1));
  outs.push_back(Result(self.dtype, args, op, self.sizes));
}

void prelu_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& grad = args.tensor(0);
  const TensorMeta& self = args.tensor(1);
  CheckPrelu(op, self, args.tensor(2));
  TD_CHECK(grad.sizes == self.sizes && grad.dtype == self.dtype, kRuntime, "[", op.name,
           "] grad_output must have self's shape and dtype");
  outs.push_back(Result(self.dtype, args, op, self.sizes));
  outs.push_back(Result(self.dtype, args, op, args.tensor(2).sizes));
}

void log_sigmoid_forward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  CheckFloatingInput(op, self.dtype);
  outs.push_back(Result(self.dtype, args, op, self.sizes));
  outs.push_back(Result(self.dtype, args, op, self.sizes));
}

void glu(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  int64_t dim;
  outs.push_back(Result(self.dtype, args, op, GluHalf(op, self, args.get_int(1), &dim)));
}

void glu_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& grad = args.tensor(0);
  const TensorMeta& self = args.tensor(1);
  int64_t dim;
  const Shape half = GluHalf(op, self, args.get_int(2), &dim);
  TD_CHECK(grad.sizes == half, kRuntime, "[", op.name, "] grad_output of shape ",
           ShapeStr(grad.sizes), " does not match glu's result shape ", ShapeStr(half));
  outs.push_back(Result(PromoteTypes(grad.dtype, self.dtype), args, op, self.sizes));
}

}  // namespace rules
}  // namespace tensord
