// libFuzzer target: bytes -> tensord.v1.ClientMessage -> the checks the
// daemon runs on every record and upload before anything executes (schema
// lookup, argument decoding, the metadata rules of kernels/meta, output ids,
// size limits; server/op_decode.h). No network and no kernels.
//
// A finding is anything but a clean OpError: a crash, an ASan/UBSan report,
// another exception type, an internal assertion (kInternal), or a result
// that breaks an invariant the kernels rely on (checked below).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <google/protobuf/stubs/logging.h>

#include "kernels/core/error.h"
#include "server/op_decode.h"
#include "tests/fuzz/fuzz_tensors.h"

namespace tensord::fuzz {
namespace {

constexpr int kMaxOpsPerInput = 64;

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "request_fuzzer: %s\n", what.c_str());
  std::abort();
}

// The furthest byte a strided view reads, +1 (0 when it has no elements).
uint64_t ViewExtentBytes(const TensorMeta& m) {
  if (m.numel() == 0) return 0;
  __int128 last = m.offset;
  for (size_t i = 0; i < m.sizes.size(); ++i) {
    if (m.strides[i] < 0) return ~uint64_t{0};
    last += static_cast<__int128>(m.sizes[i] - 1) * m.strides[i];
  }
  const __int128 bytes = (last + 1) * static_cast<__int128>(ItemSize(m.dtype));
  return bytes > static_cast<__int128>(~uint64_t{0}) ? ~uint64_t{0} : static_cast<uint64_t>(bytes);
}

void CheckRecord(const v1::OpRecord& rec) {
  const auto& tensors = FuzzTensors();
  const OpSchema& op = LookupOp(rec);
  OpArgs args;
  std::vector<uint64_t> input_ids;
  DecodeArgs(op, rec, args, [&](uint64_t id) -> int64_t {
    TD_CHECK(id >= 1 && id <= tensors.size(), kNotFound, "[", op.name, "] unknown tensor id ", id);
    args.metas.push_back(&tensors[id - 1]);
    input_ids.push_back(id);
    return static_cast<int64_t>(args.metas.size() - 1);
  });
  CheckedResults r = CheckResults(op, args, rec,
                                  [&](uint64_t id) { return id >= 1 && id <= tensors.size(); });
  // Invariants the kernels rely on. New results: sizes and strides agree
  // and the bytes fit (InferMeta promises it). Views of a fuzz tensor: they
  // stay inside its storage (as_strided excepted: only its kernel knows the
  // storage, and checks there).
  for (const TensorMeta& m : r.metas) {
    if (m.dynamic_shape) continue;
    if (m.sizes.size() != m.strides.size()) Finding("[" + op.name + "] sizes and strides differ in rank");
    if (!CheckedNbytes(m.sizes, m.dtype)) Finding("[" + op.name + "] result bytes overflow");
  }
  const bool is_view = op.returns == ReturnKind::kView || op.returns == ReturnKind::kViewList;
  if (is_view && op.name != "as_strided" && op.alias_param >= 0 &&
      static_cast<size_t>(op.alias_param) < args.values.size() &&
      args.values[op.alias_param].is_tensor()) {
    const TensorMeta& base = args.tensor(op.alias_param);
    for (const TensorMeta& m : r.metas) {
      if (ViewExtentBytes(m) > base.nbytes()) {
        Finding("[" + op.name + "] a view of " + ShapeStr(base.sizes) + " reaches past its storage: " +
                ShapeStr(m.sizes) + " strides " + ShapeStr(m.strides) + " offset " +
                std::to_string(m.offset));
      }
    }
  }
}

void CheckOne(const std::function<void()>& check) {
  try {
    check();
  } catch (const OpError& e) {
    if (e.kind() == ErrorKind::kInternal) Finding(std::string("internal assertion: ") + e.what());
  }
  // Any other exception escapes: libFuzzer reports it as a crash.
}

}  // namespace
}  // namespace tensord::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string that is not UTF-8; fuzzing makes millions.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensord;
  v1::ClientMessage msg;
  if (!msg.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (msg.has_batch()) {
    const auto& ops = msg.batch().ops();
    for (int i = 0; i < ops.size() && i < fuzz::kMaxOpsPerInput; ++i) {
      fuzz::CheckOne([&] { fuzz::CheckRecord(ops[i]); });
    }
  }
  if (msg.has_upload()) {
    fuzz::CheckOne([&] {
      CheckUploadHeader(msg.upload(), [](uint64_t id) { return id == 1; });
    });
  }
  return 0;
}
