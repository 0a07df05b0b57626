// Checking a record's arguments against its schema and inferring its
// results' metadata: the one entry point both the daemon and the client use.
#ifndef TENSORD_KERNELS_META_INFER_H_
#define TENSORD_KERNELS_META_INFER_H_

#include <vector>

#include "kernels/schema/op_schema.h"

namespace tensord {

// Throws OpError (TypeError) unless `args` has one value per parameter, of
// the parameter's type (None only where optional).
void ValidateArgs(const OpSchema& op, const OpArgs& args);

// ValidateArgs, then the op's rule. Returns one meta per result.
std::vector<TensorMeta> InferMeta(const OpSchema& op, const OpArgs& args);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_INFER_H_
