// Checking an op record or an upload before anything runs: schema lookup,
// decoding arguments into OpArgs, the op's metadata rule (kernels/meta),
// output ids and size limits. The session runs records through these; the
// request fuzzer (tests/fuzz) runs arbitrary bytes through the same code. It
// needs the message types and tensord_meta only: no gRPC, no kernels.
#ifndef TENSORD_SERVER_OP_DECODE_H_
#define TENSORD_SERVER_OP_DECODE_H_

#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/schema/op_schema.h"
#include "tensord/v1/runtime.pb.h"

namespace tensord {

// A non-owning callable reference: the session calls these checks per op,
// and a std::function of a capturing lambda would allocate every time.
template <typename Fn>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor): passed like a lambda
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* obj, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

// The record's op, or throws NOT_FOUND.
const OpSchema& LookupOp(const v1::OpRecord& rec);

// Decodes the record's arguments into args.values, one per parameter
// (throws TypeError on a count mismatch or an argument with no value).
// `tensor` resolves a tensor id: it appends the tensor's meta to args.metas
// and returns its index there, or throws.
void DecodeArgs(const OpSchema& op, const v1::OpRecord& rec, OpArgs& args,
                FunctionRef<int64_t(uint64_t id)> tensor);

struct CheckedResults {
  std::vector<TensorMeta> metas;  // one per result
  size_t output_ids = 0;          // how many ids the record must name
  bool aliases_input = false;     // in-place: the result is an input
};

// The op's metadata rule, then the record's output ids: their count, never
// 0 or the daemon's top-bit space, not `in_use`. (Each result's bytes are
// the caller's to check: the limit is the tenant's.)
CheckedResults CheckResults(const OpSchema& op, const OpArgs& args, const v1::OpRecord& rec,
                            FunctionRef<bool(uint64_t id)> in_use);

// The metadata the first chunk of an upload declares (dtype, sizes whose
// bytes fit, a free id); the tensor is contiguous on the CPU. Its bytes
// against the tenant's limit are the caller's to check.
TensorMeta CheckUploadHeader(const v1::UploadChunk& chunk, FunctionRef<bool(uint64_t id)> in_use);

}  // namespace tensord

#endif  // TENSORD_SERVER_OP_DECODE_H_
