// Errors raised while checking or running an op.
//
// Kernels and metadata rules throw OpError for user errors (the client's
// fault: bad shape, dim out of range); the service edge turns it into an
// OpError reply with a gRPC code and the Python exception PyTorch would raise.
// Internal bugs use TD_ASSERT, which throws with kind kInternal.
#ifndef TENSORD_KERNELS_CORE_ERROR_H_
#define TENSORD_KERNELS_CORE_ERROR_H_

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace tensord {

// The Python exception a failure maps to (PyTorch's choice for that failure).
enum class ErrorKind {
  kRuntime,         // RuntimeError: shape mismatch, bad value, unsupported
  kIndex,           // IndexError: index or dim out of range
  kType,            // TypeError: wrong argument type
  kValue,           // ValueError
  kNotImplemented,  // NotImplementedError: op/dtype/device not implemented
  kResource,        // RuntimeError with RESOURCE_EXHAUSTED: over a limit
  kNotFound,        // RuntimeError with NOT_FOUND: unknown tensor id or op
  kInternal,        // RuntimeError with INTERNAL: a tensord bug
  kOutOfMemory,     // torch.cuda.OutOfMemoryError with RESOURCE_EXHAUSTED: GPU memory
};

const char* ErrorKindPythonName(ErrorKind kind);
int ErrorKindGrpcCode(ErrorKind kind);

class OpError : public std::runtime_error {
 public:
  OpError(ErrorKind kind, std::string message)
      : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <typename... Args>
[[noreturn]] void Fail(ErrorKind kind, const Args&... args) {
  throw OpError(kind, StrCat(args...));
}

}  // namespace tensord

// User-facing check: message pieces are streamed, e.g.
// TD_CHECK(a == b, kRuntime, "[add] sizes ", a, " and ", b, " differ").
#define TD_CHECK(cond, kind, ...)                             \
  do {                                                        \
    if (!(cond)) ::tensord::Fail(::tensord::ErrorKind::kind, __VA_ARGS__); \
  } while (0)

#define TD_ASSERT(cond, ...)                                                \
  do {                                                                      \
    if (!(cond))                                                            \
      ::tensord::Fail(::tensord::ErrorKind::kInternal, "internal error at ", \
                      __FILE__, ":", __LINE__, ": " #cond " ", ##__VA_ARGS__); \
  } while (0)

#endif  // TENSORD_KERNELS_CORE_ERROR_H_
