// Metadata rules of reductions.
#include <algorithm>
#include <array>

#include "kernels/meta/reduce_rule_util.h"

namespace tensord {

namespace {

constexpr uint32_t Bit(DType d) { return 1u << static_cast<int>(d); }
constexpr uint32_t kIntegralBits = Bit(DType::kBool) | Bit(DType::kUInt8) | Bit(DType::kInt8) |
                                   Bit(DType::kInt16) | Bit(DType::kInt32) | Bit(DType::kInt64);

// One dtype gap of a PyTorch 1.13 CPU kernel. `kernel` is the name its
// dispatch macro reports; `message`, when set, replaces the generic text.
// Some kernels return before dispatching on empty inputs (skip_empty).
struct KernelGap {
  std::string_view op;
  std::string_view kernel;
  uint32_t dtypes;
  std::string_view message = {};
  bool skip_empty = false;
};

constexpr KernelGap kGaps[] = {
    {"prod", "prod_cpu", Bit(DType::kFloat16) | Bit(DType::kBFloat16), {}, true},
    {"aminmax", "aminmax_cpu", Bit(DType::kFloat16)},
    {"argmax", "argmax_cpu", Bit(DType::kBool), {}, true},
    {"argmin", "argmin_cpu", Bit(DType::kBool), {}, true},
    {"std", "", kIntegralBits, "std and var only support floating point and complex dtypes"},
    {"var", "", kIntegralBits, "std and var only support floating point and complex dtypes"},
    {"std_mean", "", kIntegralBits, "std_mean only support floating point and complex dtypes"},
    {"var_mean", "", kIntegralBits, "var_mean only support floating point and complex dtypes"},
    {"logsumexp", "exp_vml_cpu", Bit(DType::kFloat16)},
    {"median", "median_cpu", Bit(DType::kBool) | Bit(DType::kFloat16), {}, true},
    {"median_dim", "median_out", Bit(DType::kBool) | Bit(DType::kFloat16)},
    {"cumsum", "cumsum_out_cpu", Bit(DType::kFloat16), {}, true},
    {"cumprod", "cumprod_out_cpu", Bit(DType::kFloat16), {}, true},
    {"cummax", "cummax_cpu", Bit(DType::kFloat16), {}, true},
    {"cummin", "cummin_cpu", Bit(DType::kFloat16), {}, true},
    {"topk", "topk_cpu", Bit(DType::kBool) | Bit(DType::kFloat16)},
    {"kthvalue", "kthvalue_cpu", Bit(DType::kBool) | Bit(DType::kFloat16)},
    {"histc", "histogram_cpu", kIntegralBits},
    {"histc", "aminmax_cpu", Bit(DType::kFloat16)},
    {"bincount", "bincount_cpu", Bit(DType::kBool) | Bit(DType::kFloat16) |
                                     Bit(DType::kBFloat16) | Bit(DType::kFloat32) |
                                     Bit(DType::kFloat64)},
};

// Reductions without an identity: empty inputs have no answer.
bool NeedsNonEmpty(std::string_view name) {
  static constexpr std::string_view kOps[] = {"max", "min", "amax", "amin", "argmax", "argmin",
                                              "aminmax", "max_dim", "min_dim", "median_dim",
                                              "mode", "kthvalue"};
  return std::find(std::begin(kOps), std::end(kOps), name) != std::end(kOps);
}

// The name PyTorch's messages use (max_dim is torch.max).
std::string_view PublicName(const OpSchema& op) {
  std::string_view n = op.name;
  if (n.ends_with("_dim")) n.remove_suffix(4);
  return n;
}

void CheckNonEmpty(const OpSchema& op, const OpArgs& args, const TensorMeta& self,
                   const std::vector<int64_t>& dims) {
  if (!NeedsNonEmpty(op.name) || self.numel() != 0) return;
  const int dim_p = op.param_index("dim");
  const Value* dim = dim_p >= 0 ? &args.values[dim_p] : nullptr;
  const bool all = !dim || dim->is_none() || (dim->kind == Value::Kind::kInts && dim->ints.empty());
  if (all) {
    TD_CHECK(op.name != "aminmax", kRuntime, "[aminmax] cannot compute aminmax over an empty "
             "dimension as the operation has no identity.");
    TD_CHECK(!op.name.starts_with("arg"), kIndex, "[", op.name, "] Expected reduction dim to "
             "be specified for input.numel() == 0.");
    Fail(ErrorKind::kRuntime, "[", op.name, "] Expected reduction dim to be specified for "
         "input.numel() == 0. Specify the reduction dim with the 'dim' argument.");
  }
  for (int64_t d : dims) {
    TD_CHECK(self.sizes[d] != 0, kIndex, "[", PublicName(op), "] Expected reduction dim ", d,
             " to have non-zero size.");
  }
}

// The dtype a reduction's (first) result has.
DType ReduceDType(const OpSchema& op, const OpArgs& args, const TensorMeta& self) {
  const int dtype_p = op.param_index("dtype");
  if (dtype_p >= 0 && args.values[dtype_p].kind == Value::Kind::kDType) {
    const DType d = args.values[dtype_p].dtype;
    TD_CHECK(op.dtype_rule != DTypeRule::kPromoteFloat || IsFloating(d), kRuntime, "[", op.name,
             "] could not infer output dtype. Optional dtype must be either a floating point "
             "or complex dtype. Got: ", TorchTypeName(d));
    return d;
  }
  switch (op.dtype_rule) {
    case DTypeRule::kPromote:
      return IsIntegral(self.dtype, true) ? DType::kInt64 : self.dtype;
    case DTypeRule::kPromoteFloat:
      if (op.name == "mean") {
        TD_CHECK(IsFloating(self.dtype), kRuntime, "[", op.name,
                 "] could not infer output dtype. Input dtype must be either a floating point "
                 "or complex dtype. Got: ", TorchTypeName(self.dtype));
      }
      return IsFloating(self.dtype) ? self.dtype : DType::kFloat32;
    case DTypeRule::kBool:
      // PyTorch 1.13's all/any keep uint8 for uint8 inputs.
      return self.dtype == DType::kUInt8 ? DType::kUInt8 : DType::kBool;
    default:
      return ApplyDTypeRule(op, args, self.dtype);
  }
}

}  // namespace

void CheckKernelDType(const OpSchema& op, const OpArgs& args, DType d) {
  if (op.name == "norm") {
    TD_CHECK(IsFloating(d), kRuntime, "[norm] input dtype should be either floating point or "
             "complex. Got ", TorchTypeName(d), " instead.");
    return;
  }
  const TensorMeta& self = args.tensor(0);
  if (op.name == "softmax" || op.name == "log_softmax") {
    if (d == DType::kBFloat16 || d == DType::kFloat32 || d == DType::kFloat64) return;
    if (self.numel() == 0) return;
    const bool last = self.dim() == 0 || OneDim(op, args, self) == self.dim() - 1;
    Fail(ErrorKind::kRuntime, "[", op.name, "] \"", op.name, last ? "_lastdim" : "",
         "_kernel_impl\" not implemented for '", TorchTypeName(d), "'");
  }
  if (op.name == "nansum" && IsFloating(self.dtype) && !IsFloating(d)) {
    Fail(ErrorKind::kRuntime, "[nansum] \"nansum_cpu\" not implemented for '", TorchTypeName(d), "'");
  }
  // aminmax over all dims has a bfloat16 kernel; over one dim it has not.
  if (op.name == "aminmax" && d == DType::kBFloat16 && !args.is_none(op.param_index("dim"))) {
    Fail(ErrorKind::kRuntime, "[aminmax] \"aminmax_cpu\" not implemented for 'BFloat16'");
  }
  for (const KernelGap& g : kGaps) {
    if (g.op != op.name || !(g.dtypes & Bit(d))) continue;
    if (g.skip_empty && self.numel() == 0) continue;
    if (!g.message.empty()) Fail(ErrorKind::kRuntime, "[", op.name, "] ", g.message);
    Fail(ErrorKind::kRuntime, "[", op.name, "] \"", g.kernel, "\" not implemented for '",
         TorchTypeName(d), "'");
  }
}

std::vector<int64_t> ReducedDims(const OpSchema& op, const OpArgs& args, const TensorMeta& self) {
  const int dim_p = op.param_index("dim");
  std::vector<int64_t> dims;
  if (dim_p >= 0) {
    dims = ReduceDims(op, args, dim_p, self.dim());
  } else {
    for (int64_t d = 0; d < self.dim(); ++d) dims.push_back(d);
  }
  if (self.dim() == 0) dims.clear();
  return dims;
}

Shape ReducedSizes(const TensorMeta& self, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      out.push_back(self.sizes[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

int64_t OneDim(const OpSchema& op, const OpArgs& args, const TensorMeta& self) {
  return WrapDim(args.get_int(op.param_index("dim")), self.dim());
}

namespace rules {
namespace {

// The shared part of the reduce rules: checks, then the reduced shape.
TensorMeta ReducedMeta(const OpSchema& op, const OpArgs& args, DType computed) {
  const TensorMeta& self = args.tensor(0);
  const int keep_p = op.param_index("keepdim");
  const bool keepdim = keep_p >= 0 && args.get_bool(keep_p);
  std::vector<int64_t> dims = ReducedDims(op, args, self);
  CheckKernelDType(op, args, computed);
  CheckNonEmpty(op, args, self, dims);
  return TensorMeta::Contiguous(ReduceDType(op, args, self), self.device,
                                ReducedSizes(self, dims, keepdim));
}

}  // namespace

// (Tensor self, int[]? dim, bool keepdim, ..., ScalarType? dtype):
// reduced dims vanish, or stay as size 1 with keepdim. The result dtype:
//   promote        sum/prod: integral and bool inputs give int64
//   promote_float  mean (floating inputs only), logsumexp (ints give float32)
//   bool           all/any (uint8 stays uint8)
//   same/int64     as the schema says; a dtype argument wins.
void reduce(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  // The dtype the kernel computes in decides PyTorch's dtype gaps: the
  // result's for sum-like ops (prod(int8, dtype=float16) fails), else the input's.
  const DType computed =
      op.dtype_rule == DTypeRule::kPromote ? ReduceDType(op, args, self) : self.dtype;
  outs.push_back(ReducedMeta(op, args, computed));
}

// Two results of the reduced shape and the same dtype (aminmax, std_mean).
void reduce_pair(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  TensorMeta m = ReducedMeta(op, args, args.tensor(0).dtype);
  // PyTorch 1.13's aminmax(0-d, dim=0, keepdim=True) gives shape [1].
  if (op.name == "aminmax" && args.tensor(0).dim() == 0 && !args.is_none(op.param_index("dim")) &&
      args.get_bool(op.param_index("keepdim"))) {
    m = TensorMeta::Contiguous(m.dtype, m.device, {1});
  }
  outs.push_back(m);
  outs.push_back(m);
}

// (values, int64 indices) reduced over one dim (max_dim, median_dim, mode,
// kthvalue).
void reduce_indices(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  if (op.name == "kthvalue") {
    const int64_t dim = OneDim(op, args, self);
    CheckNonEmpty(op, args, self, ReducedDims(op, args, self));
    const int64_t k = args.get_int(op.param_index("k"));
    TD_CHECK(k >= 1 && k <= DimSize(self, dim), kRuntime, "[kthvalue] selected number k out "
             "of range for dimension ", dim);
  }
  TensorMeta m = ReducedMeta(op, args, self.dtype);
  outs.push_back(m);
  m.dtype = DType::kInt64;
  outs.push_back(m);
}

}  // namespace rules
}  // namespace tensord
