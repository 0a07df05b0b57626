#include "kernels/meta/view_rebase.h"

namespace tensord {

std::string ViewRebaseError(const std::string& grad_fn_name, uint32_t output_nr,
                            bool multi_output, bool indirect) {
  const char* modified = indirect ? "its base or another view of its base has been" : "is being";
  std::string msg;
  if (!grad_fn_name.empty()) {
    msg = "Output " + std::to_string(output_nr) + " of " + grad_fn_name + " is a view and " +
          modified + " modified inplace.";
  } else {
    msg = std::string("A view was created in no_grad mode and ") + modified +
          " modified inplace with grad mode enabled.";
  }
  if (multi_output) {
    msg += " This view is the output of a function that returns multiple views. Such functions do "
           "not allow the output views to be modified inplace. You should replace the inplace "
           "operation by an out-of-place one.";
  } else {
    msg += " Given that this use case is ambiguous and error-prone, it is forbidden. You can "
           "clarify your code by moving both the view and the inplace either both inside the "
           "no_grad block (if you don't want the inplace to be tracked) or both outside (if you "
           "want the inplace to be tracked).";
  }
  return msg;
}

}  // namespace tensord
