#include "kernels/core/error.h"

namespace tensord {

const char* ErrorKindPythonName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kIndex: return "IndexError";
    case ErrorKind::kType: return "TypeError";
    case ErrorKind::kValue: return "ValueError";
    case ErrorKind::kNotImplemented: return "NotImplementedError";
    case ErrorKind::kOutOfMemory: return "OutOfMemoryError";
    default: return "RuntimeError";
  }
}

int ErrorKindGrpcCode(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kIndex: return 11;           // OUT_OF_RANGE
    case ErrorKind::kNotImplemented: return 12;  // UNIMPLEMENTED
    case ErrorKind::kResource:
    case ErrorKind::kOutOfMemory: return 8;      // RESOURCE_EXHAUSTED
    case ErrorKind::kNotFound: return 5;         // NOT_FOUND
    case ErrorKind::kInternal: return 13;        // INTERNAL
    default: return 3;                           // INVALID_ARGUMENT
  }
}

}  // namespace tensord
