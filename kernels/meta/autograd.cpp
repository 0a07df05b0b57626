// Metadata rules of the autograd ops (requires_grad_, detach, backward, ...).
#include "kernels/meta/rule_util.h"

namespace tensord::rules {

// requires_grad_(self, flag): only floating tensors may require grad.
void requires_grad_inplace(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  TD_CHECK(!args.get_bool(1) || IsFloating(self.dtype), kRuntime, "[", op.name,
           "] only Tensors of floating point and complex dtype can require gradients");
  outs.push_back(self);
}

// detach(self): a view with the same metadata.
void alias(const OpSchema&, const OpArgs& args, std::vector<TensorMeta>& outs) {
  outs.push_back(args.tensor(0));
}

// _autograd_grad(outputs, grad_outputs, inputs, ..., allow_unused): one
// contiguous gradient per input; None is possible only with allow_unused,
// and then the client learns it from the daemon.
void autograd_grad(const OpSchema&, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const bool allow_unused = args.get_bool(5);
  for (int64_t i : args.values[2].ints) {
    const TensorMeta& m = *args.metas[i];
    TensorMeta g = TensorMeta::Contiguous(m.dtype, m.device, m.sizes);
    g.dynamic_shape = allow_unused;
    outs.push_back(g);
  }
}

// _grad_get(self): self's .grad, or None; known only to the daemon.
void grad_get(const OpSchema&, const OpArgs& args, std::vector<TensorMeta>& outs) {
  TensorMeta g = args.tensor(0);
  g.dynamic_shape = true;
  outs.push_back(g);
}

// _grad_set(self, grad): PyTorch's checks on assigning .grad.
void grad_set(const OpSchema&, const OpArgs& args, std::vector<TensorMeta>&) {
  if (args.is_none(1)) return;
  const TensorMeta& self = args.tensor(0);
  const TensorMeta& g = args.tensor(1);
  TD_CHECK(g.dtype == self.dtype, kRuntime, "assigned grad has data of a different type");
  TD_CHECK(g.device == self.device, kRuntime, "assigned grad has data located on a different device");
  TD_CHECK(g.sizes == self.sizes, kRuntime, "assigned grad has data of a different size");
}

}  // namespace tensord::rules
