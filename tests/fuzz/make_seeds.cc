// Writes the request fuzzer's seed corpus: one valid-looking record per op
// of the schema (defaults where the signature has them, fuzz tensor 1 or
// simple values elsewhere), a few multi-op batches and uploads.
// Usage: make_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "kernels/schema/op_schema.h"
#include "tensord/v1/runtime.pb.h"

namespace tensord {
namespace {

void SetValue(const Param& p, v1::Value* v) {
  if (p.has_default) {
    const Value& d = p.default_value;
    switch (d.kind) {
      case Value::Kind::kNone: v->set_none(true); return;
      case Value::Kind::kBool: v->set_b(d.b); return;
      case Value::Kind::kInt: v->set_i(d.i); return;
      case Value::Kind::kFloat: v->set_f(d.f); return;
      case Value::Kind::kStr: v->set_s(d.s); return;
      case Value::Kind::kInts:
        v->mutable_ints();
        for (int64_t i : d.ints) v->mutable_ints()->add_values(i);
        return;
      case Value::Kind::kFloats:
        v->mutable_floats();
        for (double f : d.floats) v->mutable_floats()->add_values(f);
        return;
      case Value::Kind::kDType: v->set_dtype(std::string(DTypeName(d.dtype))); return;
      case Value::Kind::kDevice: v->set_device("cpu"); return;
      default: break;
    }
  }
  switch (p.type) {
    case ParamType::kTensor:
    case ParamType::kTensorOrScalar: v->set_tensor(1); break;
    case ParamType::kTensorList: v->mutable_tensors()->add_ids(1); v->mutable_tensors()->add_ids(1); break;
    case ParamType::kScalar: v->set_f(1.5); break;
    case ParamType::kInt: v->set_i(1); break;
    case ParamType::kFloat: v->set_f(0.5); break;
    case ParamType::kBool: v->set_b(false); break;
    case ParamType::kStr: v->set_s("mean"); break;
    case ParamType::kInts: v->mutable_ints()->add_values(2); v->mutable_ints()->add_values(3); break;
    case ParamType::kFloats: v->mutable_floats()->add_values(1.0); break;
    case ParamType::kDType: v->set_dtype("float32"); break;
    case ParamType::kDevice: v->set_device("cpu"); break;
    case ParamType::kData: v->set_data(std::string(24, '\0')); break;
  }
}

v1::OpRecord RecordFor(const OpSchema& op, uint64_t first_output) {
  v1::OpRecord r;
  r.set_op(op.name);
  r.set_location("seed.py:1");
  for (const Param& p : op.params) SetValue(p, r.add_args());
  if (op.returns != ReturnKind::kInPlace && op.returns != ReturnKind::kNone) {
    for (int i = 0; i < op.num_returns; ++i) r.add_outputs(first_output + i);
  }
  return r;
}

void Write(const std::string& dir, const std::string& name, const v1::ClientMessage& m) {
  std::ofstream(dir + "/" + name, std::ios::binary) << m.SerializeAsString();
}

}  // namespace
}  // namespace tensord

int main(int argc, char** argv) {
  using namespace tensord;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  int n = 0;
  v1::ClientMessage chain;
  chain.mutable_batch()->set_seq(1);
  for (const OpSchema& op : AllOps()) {
    v1::ClientMessage m;
    m.mutable_batch()->set_seq(1);
    *m.mutable_batch()->add_ops() = RecordFor(op, 100);
    Write(dir, "op-" + op.name, m);
    if (n++ % 16 == 0) *chain.mutable_batch()->add_ops() = RecordFor(op, 100 + n);
  }
  Write(dir, "batch-mixed", chain);
  v1::ClientMessage up;
  auto* u = up.mutable_upload();
  u->set_tensor(10);
  u->set_dtype("float32");
  u->add_sizes(2);
  u->add_sizes(3);
  u->set_data(std::string(24, '\0'));
  u->set_last(true);
  Write(dir, "upload-first-chunk", up);
  std::printf("make_seeds: %d ops, %s\n", n, dir.c_str());
  return 0;
}
