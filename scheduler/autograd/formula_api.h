// What derivative formulas (ops.toml `grad`, compiled by gen_ops.py into
// autograd_formulas.cpp) can use: Arg values, op calls and a few helpers.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_FORMULA_API_H_
#define TENSORD_SCHEDULER_AUTOGRAD_FORMULA_API_H_

#include <optional>
#include <string_view>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/core/value.h"

namespace tensord::autograd {

// An argument of an op call: a tensor, a list of tensors or any other value.
struct Arg {
  Arg() = default;
  Arg(const Tensor& t) : is_tensor(t.defined()), tensor(t) {}  // undefined: None
  Arg(const Value& v) : value(v) {}
  Arg(double d) : value(Value::Float(d)) {}
  Arg(int i) : value(Value::Int(i)) {}
  Arg(int64_t i) : value(Value::Int(i)) {}
  Arg(bool b) : value(Value::Bool(b)) {}
  Arg(std::vector<int64_t> v) : value(Value::Ints(std::move(v))) {}
  Arg(const Shape& s) : value(Value::Ints(std::vector<int64_t>(s.begin(), s.end()))) {}
  Arg(DType d) : value(Value::OfDType(d)) {}
  Arg(Device d) : value(Value::OfDevice(d)) {}
  Arg(std::nullopt_t) {}
  Arg(std::vector<Tensor> l) : is_list(true), list(std::move(l)) {}

  bool is_tensor = false;
  bool is_list = false;
  Tensor tensor;
  Value value;
  std::vector<Tensor> list;

  // For formulas: a tensor argument as a tensor, sizes, scalars.
  operator const Tensor&() const { return tensor; }
  const Shape& sizes() const { return tensor.sizes(); }
  int64_t dim() const { return tensor.dim(); }
  DType dtype() const { return tensor.dtype(); }
  bool is_none() const { return !is_tensor && !is_list && value.is_none(); }
  double to_double() const { return value.to_double(); }
  int64_t to_int() const { return value.to_int(); }
  bool to_bool() const { return value.b; }
  const std::vector<int64_t>& ints() const { return value.ints; }
};

// Runs schema op `op` (trailing parameters take their defaults) and returns
// its first / all results. Recorded for autograd like any op when grad mode
// is on (create_graph).
Tensor call(std::string_view op, std::vector<Arg> args);
std::vector<Tensor> call_all(std::string_view op, std::vector<Arg> args);

// Helpers formulas use.
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
// `grad` summed over the dims broadcasting added to reach `sizes`.
Tensor sum_to(const Tensor& grad, const Shape& sizes);
// `grad` of a reduction with `keepdim=false` over `dims` of an input with
// `ndim` dims, unsqueezed back so it broadcasts against the input.
Tensor unsqueeze_dims(const Tensor& grad, const std::vector<int64_t>& dims, int64_t ndim,
                      bool keepdim);
// The dims of a reduction argument (None or [] means all of `ndim`), wrapped.
std::vector<int64_t> reduced_dims(const Arg& dim, int64_t ndim);
// Product of the sizes over `dims` (the count a mean divides by).
int64_t count_over(const Shape& sizes, const std::vector<int64_t>& dims);

// grad * alpha, skipping the multiply when alpha is 1.
Tensor scale(const Tensor& grad, const Arg& alpha);
// Zeros of `sizes` with grad's dtype and device.
Tensor zeros_sized(const Tensor& grad, const Shape& sizes);
// The permutation that undoes `dims`.
std::vector<int64_t> invert_permutation(const std::vector<int64_t>& dims);
// Gradients of views: grad placed into zeros of the input's sizes.
Tensor select_backward(const Tensor& grad, const Shape& sizes, const Arg& dim, const Arg& index);
Tensor slice_backward(const Tensor& grad, const Shape& sizes, const Arg& dim, const Arg& start,
                      const Arg& end, const Arg& step);
Tensor narrow_backward(const Tensor& grad, const Shape& sizes, const Arg& dim, const Arg& start);
// cat/stack: grad split back into the inputs' pieces.
std::vector<Tensor> cat_backward(const Tensor& grad, const Arg& tensors, const Arg& dim);
std::vector<Tensor> stack_backward(const Tensor& grad, const Arg& tensors, const Arg& dim);
// Pieces of split/chunk/unbind back into one gradient.
Tensor pieces_backward(const std::vector<Tensor>& grads, const std::vector<TensorMeta>& metas,
                       const Shape& sizes, int64_t dim, bool stacked);
Tensor softmax_backward(const Tensor& grad, const Tensor& result, const Arg& dim);
Tensor log_softmax_backward(const Tensor& grad, const Tensor& result, const Arg& dim);
Tensor pow_backward_self(const Tensor& grad, const Arg& self, const Arg& exponent);
Tensor pow_backward_exponent(const Tensor& grad, const Arg& self, const Arg& exponent,
                             const Tensor& result);
// matmul's gradient for `self` (which = 0) or `other` (which = 1).
Tensor matmul_backward(const Tensor& grad, const Arg& self, const Arg& other, int which);

// The sizes of an optional tensor argument (None: None).
Arg optional_sizes(const Arg& t);

// Losses whose backward is a formula rather than an op of its own.
Tensor bce_with_logits_backward(const Tensor& grad, const Arg& self, const Arg& target,
                                const Arg& weight, const Arg& pos_weight, const Arg& reduction);
Tensor kl_div_backward(const Tensor& grad, const Arg& self, const Arg& target,
                       const Arg& reduction, const Arg& log_target);

// ---- formula_reductions.cpp: pointwise activations, reductions, scans ----
// `grad` of a reduction over `dim` (an Arg as the op got it), unsqueezed back
// and expanded to `sizes`.
Tensor expand_reduced(const Tensor& grad, const Shape& sizes, const Arg& dim, bool keepdim);
Tensor logit_backward(const Tensor& grad, const Arg& self, const Arg& eps);
// gelu/softplus gradients composed of ops, so they differentiate again
// (the gelu_backward/softplus_backward ops do not).
Tensor gelu_grad(const Tensor& grad, const Arg& self, const Arg& approximate);
Tensor softplus_grad(const Tensor& grad, const Arg& self, const Arg& beta, const Arg& threshold);
// clamp's gradient for self (which = 0), min (1) or max (2); bounds may be
// None, numbers or tensors.
Tensor clamp_backward(const Tensor& grad, const Arg& self, const Arg& min, const Arg& max,
                      int which);
// max()/min()/median(): grad spread evenly over the elements equal to result.
Tensor evenly_distribute_backward(const Tensor& grad, const Arg& self, const Tensor& result);
// amax/amin: grad spread evenly over the ties of each reduced slice.
Tensor amax_backward(const Tensor& grad, const Arg& self, const Tensor& result, const Arg& dim,
                     bool keepdim);
// Ops selecting values by `indices` along `dim` (max_dim, sort, topk, ...).
Tensor select_values_backward(const Tensor& grad, const Tensor& indices, const Shape& sizes,
                              const Arg& dim, bool keepdim);
Tensor prod_backward(const Tensor& grad, const Arg& self, const Arg& dim, bool keepdim);
Tensor var_backward(const Tensor& grad, const Arg& self, const Arg& dim, const Arg& unbiased,
                    bool keepdim, const Arg& correction);
Tensor std_backward(const Tensor& grad, const Arg& self, const Tensor& result, const Arg& dim,
                    const Arg& unbiased, bool keepdim, const Arg& correction);
// std_mean / var_mean: grads[0] for the std (var), grads[1] for the mean.
Tensor var_mean_backward(const std::vector<Tensor>& grads, const Arg& self, const Tensor& result0,
                         const Arg& dim, const Arg& unbiased, bool keepdim, const Arg& correction,
                         bool is_std);
Tensor norm_backward(const Tensor& grad, const Arg& self, const Arg& p, const Tensor& result,
                     const Arg& dim, bool keepdim);
Tensor logsumexp_backward(const Tensor& grad, const Arg& self, const Tensor& result,
                          const Arg& dim, bool keepdim);
Tensor cumsum_backward(const Tensor& grad, const Arg& dim);
Tensor cumprod_backward(const Tensor& grad, const Arg& self, const Tensor& result, const Arg& dim);

// ---- formula_indexing.cpp: shape ops, scatters and gathers, einsum ----
Tensor diagonal_backward(const Tensor& grad, const Shape& sizes, const Arg& offset,
                         const Arg& dim1, const Arg& dim2);
Tensor diag_backward(const Tensor& grad, const Shape& sizes, const Arg& diagonal);
Tensor repeat_backward(const Tensor& grad, const Shape& sizes, const Arg& repeats);
Tensor repeat_interleave_backward(const Tensor& grad, const Shape& sizes, const Arg& repeats,
                                  const Arg& dim);
Tensor roll_backward(const Tensor& grad, const Arg& shifts, const Arg& dims);
Tensor tensor_split_backward(const std::vector<Tensor>& grads,
                             const std::vector<TensorMeta>& metas, const Shape& sizes,
                             const Arg& indices, const Arg& dim);
// scatter (which = 0: self, 1: src); reduce must be None.
Tensor scatter_backward(const Tensor& grad, const Arg& dim, const Arg& index, const Arg& reduce,
                        int which);
Tensor scatter_reduce_backward(const Tensor& grad, const Arg& self, const Arg& dim,
                               const Arg& index, const Arg& src, const Arg& reduce,
                               const Arg& include_self, const Tensor& result, int which);
Tensor masked_select_backward(const Tensor& grad, const Shape& self_sizes, const Arg& mask);
Tensor masked_scatter_source_backward(const Tensor& grad, const Arg& mask,
                                      const Shape& source_sizes);
Tensor take_backward(const Tensor& grad, const Shape& self_sizes, const Arg& index);
// as_strided's gradient for an input of geometry `input` (PyTorch's
// as_strided_backward): grad scattered (summed where the result's elements
// overlap) into the storage both span, divided where the input's overlap,
// gathered back with the input's geometry.
Tensor as_strided_backward(const Tensor& grad, const TensorMeta& input, const Arg& size,
                           const Arg& stride, const Arg& storage_offset);
// einsum: one gradient per operand, each another einsum.
std::vector<Tensor> einsum_backward(const Tensor& grad, const Arg& equation, const Arg& tensors);

// ---- formula_nn.cpp: double backward of torch.nn's backward ops ----
// The gradient of an input whose influence the formula's other gradients
// already carry (a statistic the forward saved, which the double backward
// recomputes from its input): none.
Tensor no_gradient();
// Multi-gradient helpers take defined_grads (the gradients of the backward
// op's results, undefined where none flowed) and return one gradient per
// name of their key, undefined where output_mask is 0 or no term arises.
std::vector<Tensor> convolution_double_backward(
    const std::vector<Tensor>& ggs, const Arg& grad_output, const Arg& input, const Arg& weight,
    const Arg& stride, const Arg& padding, const Arg& dilation, const Arg& transposed,
    const Arg& output_padding, const Arg& groups, const std::vector<int64_t>& output_mask);
// max pooling's backward scatters at indices (flat in each plane): gather back.
Tensor max_pool_double_backward(const Tensor& grad, const Arg& indices,
                                const Shape& grad_output_sizes);
Tensor adaptive_avg_pool2d_double_backward(const Tensor& grad, const Shape& grad_output_sizes);
std::vector<Tensor> batch_norm_double_backward(
    const std::vector<Tensor>& ggs, const Arg& grad_out, const Arg& input, const Arg& weight,
    const Arg& running_mean, const Arg& running_var, const Arg& save_mean,
    const Arg& save_invstd, const Arg& train, const Arg& eps,
    const std::vector<int64_t>& output_mask);
std::vector<Tensor> layer_norm_double_backward(
    const std::vector<Tensor>& ggs, const Arg& grad_out, const Arg& input,
    const Arg& normalized_shape, const Arg& mean, const Arg& rstd, const Arg& weight,
    const std::vector<int64_t>& output_mask);
std::vector<Tensor> group_norm_double_backward(
    const std::vector<Tensor>& ggs, const Arg& grad_out, const Arg& input, const Arg& mean,
    const Arg& rstd, const Arg& weight, const Arg& N, const Arg& C, const Arg& HxW,
    const Arg& group, const std::vector<int64_t>& output_mask);
// embedding_dense_backward's gradient for grad_output: the rows at indices.
Tensor embedding_double_backward(const Tensor& grad, const Arg& indices, const Arg& padding_idx,
                                 const Arg& scale_grad_by_freq);
// mse/smooth_l1/huber (loss names "mse", "smooth_l1", "huber"; param is beta
// or delta) and binary_cross_entropy backward ops: their gradient for
// grad_output (which = 0), self (1) or target (2).
Tensor pointwise_loss_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self,
                                      const Arg& target, const Arg& reduction, const Arg& param,
                                      std::string_view loss, int which);
Tensor binary_cross_entropy_double_backward(const Tensor& grad, const Arg& grad_output,
                                            const Arg& self, const Arg& target, const Arg& weight,
                                            const Arg& reduction, int which);
// _softmax_backward_data's gradient for output; _log_softmax_backward_data's
// for grad_output (which = 0) or output (1).
Tensor softmax_data_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& output,
                                    const Arg& dim);
Tensor log_softmax_data_double_backward(const Tensor& grad, const Arg& grad_output,
                                        const Arg& output, const Arg& dim, int which);
// Activation backward ops gI = gO * f'(x): their gradient for x, grad * gO * f''(x).
Tensor gelu_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self,
                            const Arg& approximate);
Tensor silu_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self);
Tensor softplus_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self,
                                const Arg& beta, const Arg& threshold);
Tensor elu_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& alpha,
                           const Arg& scale, const Arg& input_scale, const Arg& is_result,
                           const Arg& self_or_result);
Tensor mish_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self);
Tensor log_sigmoid_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self);
// glu_backward's gradient for grad_output (which = 0) or self (1).
Tensor glu_double_backward(const Tensor& grad, const Arg& grad_output, const Arg& self,
                           const Arg& dim, int which);
std::vector<Tensor> prelu_double_backward(const std::vector<Tensor>& ggs, const Arg& grad_output,
                                          const Arg& self, const Arg& weight,
                                          const std::vector<int64_t>& output_mask);

// What a formula sees (its op's saved arguments, results and gradients).
class BackwardCtx {
 public:
  virtual ~BackwardCtx() = default;
  virtual const Arg& arg(size_t param) = 0;
  virtual const Shape& input_sizes(size_t param) = 0;
  // Sizes, strides and storage offset of a tensor param (P_geometry).
  virtual const TensorMeta& input_geometry(size_t param) = 0;
  virtual const Tensor& grad(size_t i) = 0;
  virtual const std::vector<Tensor>& grads() = 0;
  // The gradients as they arrived: undefined where none flowed (grads()
  // has zeros there), so a formula can skip terms that would be zero.
  virtual std::vector<Tensor> defined_grads() = 0;
  virtual const Tensor& result(size_t i) = 0;
  virtual const std::vector<TensorMeta>& result_metas() = 0;
  virtual bool needs(size_t param) = 0;
  virtual void set(size_t param, Tensor g) = 0;
  virtual void set(size_t param, std::vector<Tensor> gs) = 0;
};

using BackwardFn = void (*)(BackwardCtx&);
struct FormulaEntry {
  BackwardFn fn;
  uint64_t saved_inputs;  // bit i: param i's tensors are saved
  bool saves_results;
};
// By op index (generated).
const std::vector<FormulaEntry>& FormulaTable();

}  // namespace tensord::autograd

#endif  // TENSORD_SCHEDULER_AUTOGRAD_FORMULA_API_H_
