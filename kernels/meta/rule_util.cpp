#include "kernels/meta/rule_util.h"

#include <algorithm>

namespace tensord {
namespace {

enum Category { kBoolCat = 0, kIntCat = 1, kFloatCat = 2 };

Category CategoryOf(DType d) {
  if (d == DType::kBool) return kBoolCat;
  return IsFloating(d) ? kFloatCat : kIntCat;
}

struct Group {
  bool set = false;
  DType dtype = DType::kBool;
  void Add(DType d) {
    dtype = set ? PromoteTypes(dtype, d) : d;
    set = true;
  }
};

// ATen's combine_categories: the higher-priority group wins unless the lower
// one is of a higher category (bool < integral < floating).
Group Combine(Group higher, Group lower) {
  if (!higher.set) return lower;
  if (!lower.set) return higher;
  if (CategoryOf(higher.dtype) == kFloatCat) return higher;
  if (higher.dtype == DType::kBool || CategoryOf(lower.dtype) == kFloatCat) {
    higher.dtype = PromoteTypes(higher.dtype, lower.dtype);
  }
  return higher;
}

}  // namespace

DType ResultType(const OpArgs& args, std::span<const int> positions) {
  Group dims, zero_dim, wrapped;
  for (int p : positions) {
    const Value& v = args.values[p];
    if (v.is_tensor()) {
      const TensorMeta& m = *args.metas[v.i];
      (m.dim() > 0 ? dims : zero_dim).Add(m.dtype);
    } else if (v.kind == Value::Kind::kTensors) {
      for (int64_t idx : v.ints) {
        const TensorMeta& m = *args.metas[idx];
        (m.dim() > 0 ? dims : zero_dim).Add(m.dtype);
      }
    } else if (v.is_scalar()) {
      wrapped.Add(v.scalar_dtype());
    }
  }
  Group g = Combine(dims, Combine(zero_dim, wrapped));
  return g.set ? g.dtype : DType::kFloat32;
}

DType ResultTypeOfInputs(const OpSchema& op, const OpArgs& args) {
  SmallVector<int, 8> positions;
  for (size_t i = 0; i < op.params.size(); ++i) {
    ParamType t = op.params[i].type;
    if (t == ParamType::kTensor || t == ParamType::kTensorOrScalar ||
        t == ParamType::kTensorList) {
      positions.push_back(static_cast<int>(i));
    }
  }
  return ResultType(args, std::span<const int>(positions.data(), positions.size()));
}

DType ElementwiseResultType(const OpSchema& op, const OpArgs& args) {
  const DType promoted = ResultTypeOfInputs(op, args);
  const int rm = op.param_index("rounding_mode");
  if (rm >= 0 && !args.values[rm].is_none()) {
    const std::string& mode = args.values[rm].s;
    TD_CHECK(mode == "trunc" || mode == "floor", kValue, "[", op.name,
             "] div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '",
             mode, "'");
    return promoted;
  }
  return ApplyDTypeRule(op, args, promoted);
}

DType ApplyDTypeRule(const OpSchema& op, const OpArgs& args, DType promoted) {
  switch (op.dtype_rule) {
    case DTypeRule::kPromote: return promoted;
    case DTypeRule::kPromoteFloat:
      return IsFloating(promoted) ? promoted : DType::kFloat32;
    case DTypeRule::kBool: return DType::kBool;
    case DTypeRule::kInt64: return DType::kInt64;
    case DTypeRule::kSame: {
      for (const Value& v : args.values) {
        if (v.is_tensor()) return args.metas[v.i]->dtype;
      }
      return promoted;
    }
    case DTypeRule::kArg: {
      int p = op.param_index("dtype");
      if (p >= 0 && args.values[p].kind == Value::Kind::kDType) {
        return args.values[p].dtype;
      }
      return promoted;
    }
  }
  return promoted;
}

Device CommonDevice(const OpSchema& op, const OpArgs& args) {
  const TensorMeta* first = nullptr;
  for (const TensorMeta* m : args.metas) {
    if (!first) {
      first = m;
    } else if (!(m->device == first->device)) {
      Fail(ErrorKind::kRuntime, "[", op.name,
           "] Expected all tensors to be on the same device, but found at least two devices, ",
           first->device.str(), " and ", m->device.str(), "!");
    }
  }
  return first ? first->device : Device{};
}

Shape ArgSizes(const OpArgs& args, int position) {
  const Value& v = args.values[position];
  return v.is_tensor() ? args.metas[v.i]->sizes : Shape{};
}

std::vector<int64_t> ReduceDims(const OpSchema& op, const OpArgs& args,
                                int position, int64_t ndim) {
  const Value& v = args.values[position];
  std::vector<int64_t> dims;
  if (v.kind == Value::Kind::kInt) {
    dims.push_back(WrapDim(v.i, ndim));
  } else if (v.kind == Value::Kind::kInts && !v.ints.empty()) {
    for (int64_t d : v.ints) {
      int64_t w = WrapDim(d, ndim);
      TD_CHECK(std::find(dims.begin(), dims.end(), w) == dims.end(), kRuntime,
               "[", op.name, "] dim ", w, " appears multiple times in the list of dims");
      dims.push_back(w);
    }
  } else {
    for (int64_t d = 0; d < ndim; ++d) dims.push_back(d);
  }
  std::sort(dims.begin(), dims.end());
  return dims;
}

Device DeviceArg(const OpSchema& op, const OpArgs& args) {
  const int p = op.param_index("device");
  if (p >= 0 && args.values[p].kind == Value::Kind::kDevice) return args.values[p].device;
  return Device{};
}

DType DTypeArg(const OpSchema& op, const OpArgs& args, DType fallback) {
  const int p = op.param_index("dtype");
  if (p >= 0 && args.values[p].kind == Value::Kind::kDType) return args.values[p].dtype;
  return fallback;
}

void CheckSizes(const OpSchema& op, const Shape& sizes) {
  int64_t total = 1;
  for (int64_t s : sizes) {
    TD_CHECK(s >= 0, kRuntime, "[", op.name, "] Trying to create tensor with negative dimension ",
             s, ": ", ShapeStr(sizes));
    TD_CHECK(s == 0 || total <= (int64_t{1} << 62) / s, kRuntime, "[", op.name,
             "] Storage size calculation overflowed with sizes=", ShapeStr(sizes));
    total *= s;
  }
}

}  // namespace tensord
