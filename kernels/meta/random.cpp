// Metadata rules of random factories and in-place random fills. Argument
// checks that do not depend on data happen here, so they raise at the call.
#include <cmath>
#include <limits>

#include "kernels/meta/rng_state.h"
#include "kernels/meta/rule_util.h"
#include "kernels/meta/torch_names.h"

namespace tensord::rules {
namespace {

// The name of ATen's kernel whose dtype dispatch rejects non-floating fills.
const char* FloatKernelName(std::string_view op) {
  return op == "randn" || op == "normal" || op == "normal_" ? "normal_kernel_cpu"
                                                             : "check_uniform_bounds";
}

void CheckFloating(const OpSchema& op, DType d) {
  TD_CHECK(IsFloating(d), kRuntime, "[", op.name, "] \"", FloatKernelName(op.name),
           "\" not implemented for '", TorchTypeName(d), "'");
}

// C type names in ATen's randint bound messages.
const char* CTypeName(DType d) {
  switch (d) {
    case DType::kBool: return "bool";
    case DType::kUInt8: return "unsigned char";
    case DType::kInt8: return "signed char";
    case DType::kInt16: return "short";
    case DType::kInt32: return "int";
    default: return "long";
  }
}

// [min, max] of an integral dtype.
std::pair<int64_t, int64_t> IntegralRange(DType d) {
  switch (d) {
    case DType::kBool: return {0, 1};
    case DType::kUInt8: return {0, 255};
    case DType::kInt8: return {-128, 127};
    case DType::kInt16: return {-32768, 32767};
    case DType::kInt32: return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    default: return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
}

// Mantissa digits: the largest integer each floating dtype holds exactly is 2^digits.
int FloatDigits(DType d) {
  switch (d) {
    case DType::kFloat16: return 11;
    case DType::kBFloat16: return 8;
    case DType::kFloat32: return 24;
    default: return 53;
  }
}

}  // namespace

// rand/randn(size): floating dtypes only.
void random_factory(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const Shape& size = args.get_ints(0);
  CheckSizes(op, size);
  DType d = DTypeArg(op, args, DType::kFloat32);
  CheckFloating(op, d);
  outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), size));
}

// randint(low, high, size): low < high, both within the dtype (int64 default).
void randint(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const int64_t low = args.get_int(0), high = args.get_int(1);
  const Shape& size = args.get_ints(2);
  CheckSizes(op, size);
  DType d = DTypeArg(op, args, DType::kInt64);
  TD_CHECK(low < high, kRuntime, "[randint] random_ expects 'from' to be less than 'to', but got from=",
           low, " >= to=", high);
  if (!IsFloating(d)) {
    auto [lo, hi] = IntegralRange(d);
    TD_CHECK(low >= lo && low <= hi, kRuntime, "[randint] from is out of bounds for ", CTypeName(d));
    TD_CHECK(high - 1 >= lo && high - 1 <= hi, kRuntime, "[randint] to - 1 is out of bounds for ",
             CTypeName(d));
  }
  outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), size));
}

// randperm(n): every value 0..n-1 must be representable in the dtype.
void randperm(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const int64_t n = args.get_int(0);
  CheckSizes(op, {n});
  DType d = DTypeArg(op, args, DType::kInt64);
  TD_CHECK(d != DType::kBool, kRuntime, "[randperm] \"randperm\" not implemented for 'Bool'");
  if (IsFloating(d)) {
    const int digits = FloatDigits(d);
    TD_CHECK(digits >= 53 || n <= (int64_t{1} << digits) + 1, kRuntime,
             "[randperm] n cannot be greater than ", (int64_t{1} << digits) + 1, " for ",
             TorchTypeName(d), " type.");
  } else {
    TD_CHECK(n == 0 || n - 1 <= IntegralRange(d).second, kRuntime,
             "[randperm] value cannot be converted to type ", DTypeName(d), "_t without overflow");
  }
  outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), {n}));
}

// normal(mean, std, size): numbers with a size (dtype argument, float32
// default), or tensors that broadcast (their promoted floating dtype).
void normal(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const Value &mean = args.values[0], &std = args.values[1];
  if (std.is_scalar()) {
    TD_CHECK(std.to_double() >= 0, kRuntime, "[normal] normal expects std >= 0.0, but found std ",
             std.to_double());
  }
  if (!args.is_none(2)) {
    TD_CHECK(!mean.is_tensor() && !std.is_tensor(), kType,
             "[normal] normal() received an invalid combination of arguments: size is only "
             "accepted with a number mean and std");
    const Shape& size = args.get_ints(2);
    CheckSizes(op, size);
    DType d = DTypeArg(op, args, DType::kFloat32);
    CheckFloating(op, d);
    outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), size));
    return;
  }
  TD_CHECK(mean.is_tensor() || std.is_tensor(), kType,
           "[normal] normal() received an invalid combination of arguments: numbers mean and std "
           "need a size");
  Shape shape;
  bool first = true;
  DType d = DType::kFloat32;
  for (int i : {0, 1}) {
    if (!args.values[i].is_tensor()) continue;
    const TensorMeta& t = args.tensor(i);
    shape = first ? t.sizes : BroadcastShapes(op.name, shape, t.sizes);
    d = first ? t.dtype : PromoteTypes(d, t.dtype);
    first = false;
  }
  CheckFloating(op, d);
  outs.push_back(TensorMeta::Contiguous(d, CommonDevice(op, args), shape));
}

// normal_(mean, std) / uniform_(from, to) on a floating self.
void random_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  CheckFloating(op, self.dtype);
  const double a = args.get_float(1), b = args.get_float(2);
  if (op.name == "normal_") {
    TD_CHECK(b >= 0, kRuntime, "[normal_] normal expects std >= 0.0, but found std ", b);
  } else {
    // ATen's uniform_ bounds check: NaN, Inf and values beyond the dtype's
    // range would make every draw NaN or Inf.
    const double max = self.dtype == DType::kFloat64   ? 1.7976931348623157e308
                       : self.dtype == DType::kFloat16 ? 65504.0
                       : self.dtype == DType::kBFloat16 ? 3.3895313892515355e38
                                                        : 3.4028234663852886e38;
    TD_CHECK(std::isfinite(a) && std::fabs(a) <= max, kRuntime, "[uniform_] from is out of bounds for ",
             TorchCTypeName(self.dtype));
    TD_CHECK(std::isfinite(b) && std::fabs(b) <= max, kRuntime, "[uniform_] to is out of bounds for ",
             TorchCTypeName(self.dtype));
    TD_CHECK(a <= b, kRuntime, "[uniform_] uniform_ expects to return a [from, to) range, but found from=",
             a, " > to=", b);
  }
  outs.push_back(self);
}

// bernoulli(self, p=None): probabilities from a floating self, or p.
void bernoulli(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  if (args.is_none(1)) {
    TD_CHECK(IsFloating(self.dtype) && self.dtype != DType::kFloat16, kRuntime,
             "[bernoulli] \"bernoulli_tensor_cpu_self_\" not implemented for '",
             TorchTypeName(self.dtype), "'");
  } else {
    const double p = args.get_float(1);
    TD_CHECK(p >= 0 && p <= 1, kRuntime, "[bernoulli] bernoulli_ expects p to be in [0, 1], but got p=", p);
    TD_CHECK(self.dtype != DType::kFloat16, kRuntime,
             "[bernoulli] \"bernoulli_scalar_cpu_\" not implemented for 'Half'");
  }
  outs.push_back(TensorMeta::Contiguous(self.dtype, self.device, self.sizes));
}

// bernoulli_(self, p): p a number in [0, 1] or a floating tensor that
// expands to self.
void bernoulli_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const Value& p = args.values[1];
  if (p.is_tensor()) {
    const TensorMeta& pt = args.tensor(1);
    TD_CHECK(IsFloating(pt.dtype) && pt.dtype != DType::kFloat16, kRuntime,
             "[bernoulli_] \"bernoulli_tensor_cpu_p_\" not implemented for '", TorchTypeName(pt.dtype), "'");
    TD_CHECK(self.dtype != DType::kFloat16, kRuntime,
             "[bernoulli_] \"bernoulli_tensor_cpu_self_\" not implemented for 'Half'");
    CheckExpandable(op.name, pt.sizes, self.sizes);
    CommonDevice(op, args);
  } else {
    TD_CHECK(p.to_double() >= 0 && p.to_double() <= 1, kRuntime,
             "[bernoulli_] bernoulli_ expects p to be in [0, 1], but got p=", p.to_double());
    TD_CHECK(self.dtype != DType::kFloat16, kRuntime,
             "[bernoulli_] \"bernoulli_scalar_cpu_\" not implemented for 'Half'");
  }
  outs.push_back(self);
}

// multinomial(self, n, replacement): int64 indices, [n] or [rows, n].
void multinomial(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const int64_t n = args.get_int(1);
  const bool replacement = args.get_bool(2);
  TD_CHECK(IsFloating(self.dtype), kRuntime,
           "[multinomial] multinomial only supports floating-point dtypes for input, got: ",
           TorchTypeName(self.dtype));
  TD_CHECK(self.dtype != DType::kFloat16, kRuntime,
           "[multinomial] multinomial is not implemented for half on CPU");
  TD_CHECK(self.dim() == 1 || self.dim() == 2, kRuntime, "[multinomial] prob_dist must be 1 or 2 dim");
  TD_CHECK(n > 0, kRuntime, "[multinomial] cannot sample n_sample <= 0 samples");
  const int64_t categories = self.sizes.back();
  TD_CHECK(replacement || n <= categories, kRuntime,
           "[multinomial] cannot sample n_sample > prob_dist.size(-1) samples without replacement");
  TD_CHECK(categories <= (int64_t{1} << 24), kRuntime,
           "[multinomial] number of categories cannot exceed 2^24");
  Shape out = self.dim() == 1 ? Shape{n} : Shape{self.sizes[0], n};
  outs.push_back(TensorMeta::Contiguous(DType::kInt64, self.device, out));
}

// _get_rng_state(): the session generator's state, kRngStateBytes of uint8 on the CPU.
void rng_state(const OpSchema&, const OpArgs&, std::vector<TensorMeta>& outs) {
  outs.push_back(TensorMeta::Contiguous(DType::kUInt8, Device{}, {kRngStateBytes}));
}

}  // namespace tensord::rules
