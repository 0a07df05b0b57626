#include "server/build_info.h"

// Written by cmake/git_hash.cmake at every build, rewritten only when the
// commit changes, so only this small file recompiles.
#include "tensord_git_hash.h"

namespace tensord {

const char* BuildGitHash() { return TENSORD_GIT_HASH; }

}  // namespace tensord
