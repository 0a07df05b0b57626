// Checkpoints of a module's state_dict in PyTorch's zip format (what
// torch.save(model.state_dict(), path) writes), readable by torch.load and
// tensord.load, and the reverse. Only this structure is read: an OrderedDict
// (or dict) of names to tensors; anything else in the pickle is refused.
#ifndef TENSORD_CLIENT_SERIALIZE_H_
#define TENSORD_CLIENT_SERIALIZE_H_

#include <string>

#include "tensord/nn.h"

namespace tensord {

// Writes the tensors (fetched from the daemon) as one stored zip archive.
void save_state_dict(const nn::NamedTensors& state, const std::string& path);
// Reads a state_dict, uploading each tensor to `session`.
nn::NamedTensors load_state_dict(Session& session, const std::string& path);

// module.state_dict() to `path`.
void save(const nn::Module& module, const std::string& path);
// Copies a checkpoint into the module's parameters and buffers (in place,
// under NoGradGuard). Keys and shapes must match exactly: RuntimeError
// naming the missing, unexpected or mismatched keys otherwise.
void load(nn::Module& module, const std::string& path);

}  // namespace tensord

#endif  // TENSORD_CLIENT_SERIALIZE_H_
