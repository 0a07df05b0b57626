// Metadata rules of the factories.
#include <cmath>

#include "kernels/meta/rule_util.h"
#include "kernels/meta/torch_names.h"

namespace tensord::rules {
// (int[] size, ..., dtype, device): a contiguous tensor of `size`.
void factory(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const Shape& size = args.get_ints(0);
  CheckSizes(op, size);
  outs.push_back(TensorMeta::Contiguous(DTypeArg(op, args, DType::kFloat32),
                                        DeviceArg(op, args), size));
}

namespace {

// ATen's checked_convert: a fill value must fit the result's dtype (NaN fits
// no integer; unsigned types also take negatives down to -max, which wrap).
// Converting one that does not is undefined behaviour in C++.
void CheckFillFits(const OpSchema& op, const Value& v, DType d) {
  if (d == DType::kBool || d == DType::kFloat64) return;
  bool fits = true;
  if (IsFloating(d)) {
    const double max = d == DType::kFloat32 ? 3.4028234663852886e38
                       : d == DType::kFloat16 ? 65504.0
                                              : 3.3895313892515355e38;  // bfloat16
    const double x = v.to_double();
    fits = !std::isfinite(x) || std::fabs(x) <= max;
  } else {
    const int bits = static_cast<int>(ItemSize(d)) * 8;
    const bool is_unsigned = d == DType::kUInt8;
    const double max = is_unsigned ? std::ldexp(1.0, bits) - 1 : std::ldexp(1.0, bits - 1) - 1;
    const double min = is_unsigned ? -max : -std::ldexp(1.0, bits - 1);
    if (v.kind == Value::Kind::kFloat) {
      // max + 1 is exact in a double; max itself may not be (int64).
      fits = !std::isnan(v.f) && v.f >= min && v.f < max + 1;
    } else if (d != DType::kInt64) {
      const int64_t i = v.to_int();
      fits = static_cast<double>(i) >= min && static_cast<double>(i) <= max;
    }
  }
  TD_CHECK(fits, kRuntime, "[", op.name, "] value cannot be converted to type ", TorchCTypeName(d),
           " without overflow");
}

}  // namespace

// full: dtype follows the fill value when not given (bool, int64 or float).
void full(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const Shape& size = args.get_ints(0);
  CheckSizes(op, size);
  DType d = DTypeArg(op, args, args.values[1].scalar_dtype());
  CheckFillFits(op, args.values[1], d);
  outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), size));
}

// arange(start, end, step): ceil((end - start) / step) elements; int64 when
// every bound is an integer, else the default float dtype.
void arange(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const Value &start = args.values[0], &end = args.values[1], &step = args.values[2];
  const bool all_int = start.kind != Value::Kind::kFloat && end.kind != Value::Kind::kFloat &&
                       step.kind != Value::Kind::kFloat;
  const double s = step.to_double();
  TD_CHECK(s != 0, kRuntime, "[arange] step must be nonzero");
  TD_CHECK(std::isfinite(start.to_double()) && std::isfinite(end.to_double()), kRuntime,
           "[arange] unsupported range: ", start.to_double(), " -> ", end.to_double());
  TD_CHECK((s > 0 && end.to_double() >= start.to_double()) ||
               (s < 0 && end.to_double() <= start.to_double()),
           kRuntime, "[arange] upper bound and larger bound inconsistent with step sign");
  int64_t n;
  if (all_int) {
    const int64_t a = start.to_int(), b = end.to_int(), st = step.to_int();
    // In 128 bits: b - a alone overflows int64 for bounds like [INT64_MIN, INT64_MAX].
    const __int128 span = st > 0 ? static_cast<__int128>(b) - a + st - 1
                                 : static_cast<__int128>(a) - b - st - 1;
    const __int128 count = span / (st > 0 ? st : -static_cast<__int128>(st));
    n = count < (int64_t{1} << 40) ? static_cast<int64_t>(count) : int64_t{1} << 40;
  } else {
    const double count = std::ceil((end.to_double() - start.to_double()) / s);
    // Clamped before converting: a double beyond int64 converts to garbage.
    n = count < std::ldexp(1.0, 40) ? static_cast<int64_t>(count) : int64_t{1} << 40;
  }
  TD_CHECK(n >= 0 && n < (int64_t{1} << 40), kRuntime, "[arange] invalid number of elements ", n);
  DType d = DTypeArg(op, args, all_int ? DType::kInt64 : DType::kFloat32);
  outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), {n}));
}

// from_data(bytes, size, dtype): the byte count must match exactly.
void from_data(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const Shape& size = args.get_ints(1);
  CheckSizes(op, size);
  DType d = args.values[2].dtype;
  const size_t want = static_cast<size_t>(Numel(size)) * ItemSize(d);
  TD_CHECK(args.values[0].s.size() == want, kValue, "[from_data] ", args.values[0].s.size(),
           " bytes given for ", ShapeStr(size), " ", DTypeName(d), " (", want, " bytes expected)");
  outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), size));
}

// linspace/logspace(start, end, steps): `steps` values of the dtype argument
// (the default float dtype when None).
void linspace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const int64_t steps = args.get_int(2);
  TD_CHECK(steps >= 0, kRuntime, "[", op.name, "] number of steps must be non-negative");
  DType d = DTypeArg(op, args, DType::kFloat32);
  TD_CHECK(d != DType::kBool, kRuntime, "[", op.name, "] \"", op.name,
           "_cpu\" not implemented for 'Bool'");
  outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), {steps}));
}

// eye(n, m=n).
void eye(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const int64_t n = args.get_int(0);
  const int64_t m = args.is_none(1) ? n : args.get_int(1);
  TD_CHECK(n >= 0, kRuntime, "[eye] n must be greater or equal to 0, got ", n);
  TD_CHECK(m >= 0, kRuntime, "[eye] m must be greater or equal to 0, got ", m);
  const DType d = DTypeArg(op, args, DType::kFloat32);
  TD_CHECK(d != DType::kBFloat16, kRuntime, "[eye] \"eye\" not implemented for 'BFloat16'");
  outs.push_back(TensorMeta::Contiguous(d, DeviceArg(op, args), {n, m}));
}

// Ops run for their effect on the session (manual_seed).
void no_result(const OpSchema&, const OpArgs&, std::vector<TensorMeta>&) {}

// The profiler's report: bytes whose count only the daemon knows.
void profile_report(const OpSchema&, const OpArgs&, std::vector<TensorMeta>& outs) {
  TensorMeta m = TensorMeta::Contiguous(DType::kUInt8, Device{}, {0});
  m.dynamic_shape = true;
  outs.push_back(std::move(m));
}

}  // namespace tensord::rules
