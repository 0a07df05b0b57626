// POSIX shared-memory objects that carry tensor bytes between a client and
// a daemon on the same host, instead of gRPC messages (which copy the bytes
// several times and top out far below memcpy speed).
//
// Names are "/tensord-" plus 32 random hex digits: unguessable, created with
// O_EXCL and mode 0600, and unlinked by the receiver as soon as it has
// mapped them. The daemon opens no other names, and only objects of its own
// user.
#ifndef TENSORD_KERNELS_CORE_SHARED_MEMORY_H_
#define TENSORD_KERNELS_CORE_SHARED_MEMORY_H_

#include <cstddef>
#include <string>

namespace tensord {

// A new, unguessable object name.
std::string NewSharedMemoryName();
// Whether `name` has the form above (checked before opening any object).
bool IsSharedMemoryName(const std::string& name);

// Creates `name` with nbytes and maps it shared, read/write. Returns the
// mapping, or nullptr with `*error` set.
void* CreateSharedMemory(const std::string& name, size_t nbytes, std::string* error);
// Opens `name` (exactly nbytes, a regular file of this user), maps it and
// unlinks it. shared: see the creator's later writes (read-only mapping);
// else a private copy-on-write mapping the caller may write.
void* OpenSharedMemory(const std::string& name, size_t nbytes, bool shared, std::string* error);
void UnmapSharedMemory(void* p, size_t nbytes);
void UnlinkSharedMemory(const std::string& name);

// Creates `name` holding a copy of data[0, nbytes). Returns "" or an error.
std::string WriteSharedMemory(const std::string& name, const void* data, size_t nbytes);
// memcpy, on two threads for large copies.
void CopyBytes(void* dst, const void* src, size_t n);

}  // namespace tensord

#endif  // TENSORD_KERNELS_CORE_SHARED_MEMORY_H_
