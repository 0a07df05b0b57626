// Differentiable views (PyTorch's view + in-place machinery): a view of a
// floating tensor remembers its base, so an in-place op on it can rebase the
// base's history onto CopySlices, and a view whose storage was written since
// gets its grad_fn regenerated (AsStridedBackward0). See docs/autograd.md.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_VIEWS_H_
#define TENSORD_SCHEDULER_AUTOGRAD_VIEWS_H_

#include <memory>

#include "scheduler/autograd/node.h"

namespace tensord::autograd {

// Makes `view`, a result of a view op on `input`, a tracked view of input's
// root base. `multi_output`: made by unbind/split/chunk.
void TrackView(const Tensor& input, Tensor& view, bool multi_output, bool grad_mode);

// PyTorch's check_inplace for an in-place op on the view `t` that records a
// node: throws unless the base's history may be rebased.
void CheckInPlaceOnView(const Tensor& t, const std::string& op);

// After the in-place op `fn` (its next edge `fn_self_slot` was the view's)
// wrote into the view `t`: the base's grad_fn becomes CopySlices(fn), and t's
// grad_fn AsStridedBackward0 of the base.
void RebaseView(const Tensor& t, std::shared_ptr<Node> fn, int fn_self_slot);

// Elements of storage, from offset 0, that `m` reaches (PyTorch's
// _min_storage_size).
int64_t StorageExtent(const TensorMeta& m);

// Storage offsets of the elements of `m` (row-major order), as an int64
// tensor on `device`; `offset_shift` is subtracted from every one.
Tensor LinearIndices(const TensorMeta& m, int64_t offset_shift, Device device);

}  // namespace tensord::autograd

#endif  // TENSORD_SCHEDULER_AUTOGRAD_VIEWS_H_
