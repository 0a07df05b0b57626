#include "server/op_decode.h"

#include "kernels/core/error.h"
#include "kernels/meta/infer.h"

namespace tensord {

const OpSchema& LookupOp(const v1::OpRecord& rec) {
  const OpSchema* op = FindOp(rec.op());
  TD_CHECK(op != nullptr, kNotFound, "[stream] unknown op '", rec.op(), "'");
  return *op;
}

void DecodeArgs(const OpSchema& op, const v1::OpRecord& rec, OpArgs& args,
                FunctionRef<int64_t(uint64_t id)> tensor) {
  TD_CHECK(rec.args_size() == static_cast<int>(op.params.size()), kType, "[", op.name,
           "] expected ", op.params.size(), " arguments (", op.signature, "), got ",
           rec.args_size());
  args.values.reserve(rec.args_size());
  for (int i = 0; i < rec.args_size(); ++i) {
    const v1::Value& v = rec.args(i);
    switch (v.kind_case()) {
      case v1::Value::kNone: args.values.push_back(Value::None()); break;
      case v1::Value::kB: args.values.push_back(Value::Bool(v.b())); break;
      case v1::Value::kI: args.values.push_back(Value::Int(v.i())); break;
      case v1::Value::kF: args.values.push_back(Value::Float(v.f())); break;
      case v1::Value::kS: args.values.push_back(Value::Str(v.s())); break;
      case v1::Value::kInts:
        args.values.push_back(Value::Ints({v.ints().values().begin(), v.ints().values().end()}));
        break;
      case v1::Value::kFloats:
        args.values.push_back(
            Value::Floats({v.floats().values().begin(), v.floats().values().end()}));
        break;
      case v1::Value::kDtype: {
        auto d = ParseDType(v.dtype());
        TD_CHECK(d.has_value(), kType, "[", op.name, "] unknown dtype '", v.dtype(), "'");
        args.values.push_back(Value::OfDType(*d));
        break;
      }
      case v1::Value::kDevice: {
        auto d = Device::Parse(v.device());
        TD_CHECK(d.has_value(), kRuntime, "[", op.name, "] Expected one of cpu, cuda device "
                 "type at start of device string: ", v.device());
        args.values.push_back(Value::OfDevice(*d));
        break;
      }
      case v1::Value::kTensor: args.values.push_back(Value::Tensor(tensor(v.tensor()))); break;
      case v1::Value::kTensors: {
        std::vector<int64_t> idx;
        idx.reserve(v.tensors().ids_size());
        for (uint64_t id : v.tensors().ids()) idx.push_back(tensor(id));
        args.values.push_back(Value::Tensors(std::move(idx)));
        break;
      }
      case v1::Value::kData: args.values.push_back(Value::Data(v.data())); break;
      case v1::Value::KIND_NOT_SET:
        Fail(ErrorKind::kType, "[", op.name, "] argument ", i, " has no value");
    }
  }
}

CheckedResults CheckResults(const OpSchema& op, const OpArgs& args, const v1::OpRecord& rec,
                            FunctionRef<bool(uint64_t id)> in_use) {
  CheckedResults r;
  r.metas = InferMeta(op, args);
  r.aliases_input = op.returns == ReturnKind::kInPlace;
  r.output_ids = r.aliases_input || op.returns == ReturnKind::kNone ? 0 : r.metas.size();
  TD_CHECK(static_cast<size_t>(rec.outputs_size()) == r.output_ids, kType, "[", op.name,
           "] record names ", rec.outputs_size(), " output ids, the op gives ", r.output_ids);
  for (uint64_t id : rec.outputs()) {
    TD_CHECK(id != 0, kValue, "[", op.name, "] output id 0 is reserved");
    TD_CHECK(id >> 63 == 0, kValue, "[", op.name, "] output id ", id,
             " is in the daemon's id space (top bit set)");
    TD_CHECK(!in_use(id), kValue, "[", op.name, "] output id ", id,
             " is already in use in this session");
  }
  return r;
}

TensorMeta CheckUploadHeader(const v1::UploadChunk& chunk, FunctionRef<bool(uint64_t id)> in_use) {
  TD_CHECK(chunk.tensor() != 0, kValue, "[upload] tensor id 0 is reserved");
  TD_CHECK(chunk.tensor() >> 63 == 0, kValue, "[upload] tensor id ", chunk.tensor(),
           " is in the daemon's id space (top bit set)");
  TD_CHECK(!in_use(chunk.tensor()), kValue, "[upload] tensor id ", chunk.tensor(),
           " is already in use in this session");
  auto dtype = ParseDType(chunk.dtype());
  TD_CHECK(dtype.has_value(), kType, "[upload] unknown dtype '", chunk.dtype(), "'");
  Shape sizes(chunk.sizes().begin(), chunk.sizes().end());
  for (int64_t s : sizes) TD_CHECK(s >= 0, kRuntime, "[upload] negative size in ", ShapeStr(sizes));
  TD_CHECK(CheckedNbytes(sizes, *dtype).has_value(), kRuntime,
           "[upload] Storage size calculation overflowed with sizes=", ShapeStr(sizes));
  return TensorMeta::Contiguous(*dtype, Device{}, sizes);
}

}  // namespace tensord
