// Facts about this build that only the build system knows.
#ifndef TENSORD_SERVER_BUILD_INFO_H_
#define TENSORD_SERVER_BUILD_INFO_H_

namespace tensord {

// The git commit the daemon was built from (12 hex digits, "-dirty" when the
// tree had changes), or "unknown" outside a git checkout.
const char* BuildGitHash();

}  // namespace tensord

#endif  // TENSORD_SERVER_BUILD_INFO_H_
