#include "kernels/core/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>

namespace tensord {
namespace {

constexpr char kPrefix[] = "/tensord-";
constexpr size_t kHexDigits = 32;

std::string Errno(const char* what, const std::string& name) {
  return std::string(what) + " " + name + ": " + std::strerror(errno);
}

}  // namespace

void CopyBytes(void* dst, const void* src, size_t n) {
  if (n < (8u << 20)) {
    std::memcpy(dst, src, n);
    return;
  }
  const size_t half = (n / 2) & ~size_t{63};
  std::thread t([&] { std::memcpy(dst, src, half); });
  std::memcpy(static_cast<char*>(dst) + half, static_cast<const char*>(src) + half, n - half);
  t.join();
}

std::string NewSharedMemoryName() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          (static_cast<uint64_t>(std::random_device{}()) << 32)};
  static const char* hex = "0123456789abcdef";
  std::string name = kPrefix;
  for (size_t i = 0; i < kHexDigits; i += 16) {
    uint64_t v = rng();
    for (int j = 0; j < 16; ++j) name += hex[(v >> (j * 4)) & 0xf];
  }
  return name;
}

bool IsSharedMemoryName(const std::string& name) {
  if (name.size() != sizeof(kPrefix) - 1 + kHexDigits || name.rfind(kPrefix, 0) != 0) return false;
  for (size_t i = sizeof(kPrefix) - 1; i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void* CreateSharedMemory(const std::string& name, size_t nbytes, std::string* error) {
  const int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) {
    *error = Errno("shm_open", name);
    return nullptr;
  }
  void* mapped = nullptr;
  if (ftruncate(fd, static_cast<off_t>(nbytes)) != 0) {
    *error = Errno("ftruncate", name);
  } else {
    void* p = mmap(nullptr, std::max<size_t>(nbytes, 1), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      *error = Errno("mmap", name);
    } else {
      mapped = p;
    }
  }
  close(fd);
  if (!mapped) shm_unlink(name.c_str());
  return mapped;
}

void* OpenSharedMemory(const std::string& name, size_t nbytes, bool shared, std::string* error) {
  if (!IsSharedMemoryName(name)) {
    *error = "not a tensord shared-memory name: " + name;
    return nullptr;
  }
  const int fd = shm_open(name.c_str(), O_RDONLY | O_NOFOLLOW, 0);
  if (fd < 0) {
    *error = Errno("shm_open", name);
    return nullptr;
  }
  shm_unlink(name.c_str());  // opened once: nobody can open it again
  void* mapped = nullptr;
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    *error = Errno("fstat", name);
  } else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    *error = "shared-memory object " + name + " is not a regular file of this user";
  } else if (static_cast<size_t>(st.st_size) != nbytes) {
    *error = "shared-memory object " + name + " holds " + std::to_string(st.st_size) +
             " bytes, " + std::to_string(nbytes) + " expected";
  } else {
    void* p = shared ? mmap(nullptr, std::max<size_t>(nbytes, 1), PROT_READ, MAP_SHARED, fd, 0)
                     : mmap(nullptr, std::max<size_t>(nbytes, 1), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      *error = Errno("mmap", name);
    } else {
      mapped = p;
    }
  }
  close(fd);
  return mapped;
}

void UnmapSharedMemory(void* p, size_t nbytes) { munmap(p, std::max<size_t>(nbytes, 1)); }

void UnlinkSharedMemory(const std::string& name) {
  if (IsSharedMemoryName(name)) shm_unlink(name.c_str());
}

std::string WriteSharedMemory(const std::string& name, const void* data, size_t nbytes) {
  std::string err;
  void* p = CreateSharedMemory(name, nbytes, &err);
  if (!p) return err;
  CopyBytes(p, data, nbytes);
  UnmapSharedMemory(p, nbytes);
  return "";
}

}  // namespace tensord
