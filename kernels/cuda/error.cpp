// The calling thread's last error (backend_abi.h: last_error()).
#include <cstdarg>
#include <cstdio>
#include <string>

#include "kernels/cuda/internal.h"

namespace tensord_cuda {
namespace {
thread_local std::string t_last_error;
}  // namespace

void ClearError() { t_last_error.clear(); }

int SetError(const char* fmt, ...) {
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  t_last_error = buf;
  return -1;
}

int SetCudaError(const char* what, cudaError_t err) {
  return SetError("%s: %s (%s)", what, cudaGetErrorString(err),
                  cudaGetErrorName(err));
}

const char* LastError() { return t_last_error.c_str(); }

}  // namespace tensord_cuda
