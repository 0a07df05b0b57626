// Metadata rules of ops along one dim (scans, softmax, sorts) and of the
// data-dependent counting ops (unique, bincount, histc).
#include "kernels/meta/reduce_rule_util.h"

namespace tensord::rules {
// Results of self's shape along an int "dim": cumsum/cumprod (integral
// inputs give int64; a dtype argument converts the input first), softmax
// (a dtype argument converts first), argsort (int64), and the (values,
// int64 indices) pairs of sort/cummax/cummin.
void along_dim(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  OneDim(op, args, self);
  DType d = self.dtype;
  if (op.dtype_rule == DTypeRule::kPromote) {
    d = DTypeArg(op, args, IsIntegral(self.dtype, true) ? DType::kInt64 : self.dtype);
  } else if (op.dtype_rule == DTypeRule::kInt64) {
    d = DType::kInt64;
  } else {
    d = DTypeArg(op, args, self.dtype);
  }
  CheckKernelDType(op, args, op.dtype_rule == DTypeRule::kInt64 ? self.dtype : d);
  outs.push_back(TensorMeta::Contiguous(d, self.device, self.sizes));
  if (op.num_returns == 2) outs.push_back(TensorMeta::Contiguous(DType::kInt64, self.device, self.sizes));
}

// topk(self, k, dim, largest, sorted): dim shrinks to k.
void topk(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t dim = OneDim(op, args, self);
  const int64_t k = args.get_int(op.param_index("k"));
  TD_CHECK(k >= 0 && k <= DimSize(self, dim), kRuntime, "[topk] selected index k out of range");
  CheckKernelDType(op, args, self.dtype);
  Shape sizes = self.sizes;
  if (!sizes.empty()) sizes[dim] = k;
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, sizes));
  outs.push_back(TensorMeta::Contiguous(DType::kInt64, self.device, sizes));
}

// unique_all(self, sorted, return_inverse, return_counts, dim): the values
// and counts have data-dependent sizes; the inverse has self's shape (or
// self.size(dim) with a dim).
void unique(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int dim_p = op.param_index("dim");
  const bool has_dim = !args.is_none(dim_p);
  TD_CHECK(self.dtype != DType::kFloat16, kRuntime, "[unique] \"", has_dim ? "unique_dim" : "unique",
           "\" not implemented for 'Half'");
  Shape values = {0}, inverse = self.sizes;
  if (has_dim) {
    TD_CHECK(self.dim() > 0, kIndex, "[unique] Dimension specified as ", args.get_int(dim_p),
             " but tensor has no dimensions");
    const int64_t dim = WrapDim(args.get_int(dim_p), self.dim());
    if (self.numel() == 0) {
      TD_CHECK(self.sizes[dim] == 0, kRuntime, "[unique] There are 0 sized dimensions, and they "
               "aren't selected, so unique cannot be applied");
    }
    values = self.sizes;
    values[dim] = 0;
    inverse = {self.sizes[dim]};
  }
  TensorMeta v = TensorMeta::Contiguous(self.dtype, self.device, values);
  v.dynamic_shape = true;
  TensorMeta c = TensorMeta::Contiguous(DType::kInt64, self.device, {0});
  c.dynamic_shape = true;
  outs.push_back(std::move(v));
  outs.push_back(TensorMeta::Contiguous(DType::kInt64, self.device, inverse));
  outs.push_back(std::move(c));
}

// bincount(self, weights, minlength): size max(self) + 1 or minlength, known
// after the kernel ran. int64 counts; float32 weights sum in float32, other
// weights in float64 (as PyTorch).
void bincount(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  CheckKernelDType(op, args, self.dtype);
  TD_CHECK(self.dim() == 1, kRuntime, "[bincount] bincount only supports 1-d non-negative "
           "integral inputs.");
  const int w = op.param_index("weights");
  DType d = DType::kInt64;
  if (!args.is_none(w)) {
    const TensorMeta& weights = args.tensor(w);
    TD_CHECK(weights.dim() == 1 && weights.sizes[0] == self.sizes[0], kRuntime,
             "[bincount] weights should be 1-d and have the same length as input");
    d = weights.dtype == DType::kFloat32 ? DType::kFloat32 : DType::kFloat64;
  }
  TD_CHECK(args.get_int(op.param_index("minlength")) >= 0, kRuntime,
           "[bincount] minlength should be >= 0");
  TensorMeta m = TensorMeta::Contiguous(d, CommonDevice(op, args), {0});
  m.dynamic_shape = true;
  outs.push_back(std::move(m));
}

// histc(self, bins, min, max): `bins` counts in self's (floating) dtype.
void histc(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t bins = args.get_int(op.param_index("bins"));
  TD_CHECK(bins > 0, kRuntime, "[histc] torch.histogram(): bins must be > 0, but got ", bins,
           " for dimension 0");
  TD_CHECK(args.get_float(op.param_index("min")) <= args.get_float(op.param_index("max")),
           kRuntime, "[histc] torch.histc: max must be larger than min");
  CheckKernelDType(op, args, self.dtype);
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, {bins}));
}

}  // namespace tensord::rules
