// PyTorch's refusal of an in-place op on a view whose history cannot be
// rewritten (CopySlices). The daemon and the client core both check it (the
// client to raise at the call, the daemon because it must never trust the
// client), so the text lives here once.
#ifndef TENSORD_KERNELS_META_VIEW_REBASE_H_
#define TENSORD_KERNELS_META_VIEW_REBASE_H_

#include <cstdint>
#include <string>

namespace tensord {

// `grad_fn_name`: the view's grad_fn ("UnbindBackward0"), or empty when it
// has none (a view made in no_grad mode). `multi_output`: the view is one of
// several a function returned (unbind, split, chunk). `indirect`: the write
// went through its base or another view of it.
std::string ViewRebaseError(const std::string& grad_fn_name, uint32_t output_nr,
                            bool multi_output, bool indirect);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_VIEW_REBASE_H_
