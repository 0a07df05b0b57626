// Finds and loads the CUDA backend (libtensord_cuda.so) at start. The daemon
// itself never links CUDA (TOOLCHAIN.md explains why).
#ifndef TENSORD_SERVER_CUDA_LOADER_H_
#define TENSORD_SERVER_CUDA_LOADER_H_

#include <string>
#include <vector>

#include "kernels/cuda/backend_abi.h"

namespace tensord {

struct CudaDevice {
  int index;
  std::string name;
  uint64_t total_memory;
};

struct CudaBackendStatus {
  const TensordCudaBackend* backend = nullptr;  // null: CPU only
  std::vector<CudaDevice> devices;
  std::string reason;  // why there is no GPU, for the log
};

// `library` empty: lib/libtensord_cuda.so beside the binary's bin/ folder,
// then the loader's search path.
CudaBackendStatus LoadCudaBackend(const std::string& library);

}  // namespace tensord

#endif  // TENSORD_SERVER_CUDA_LOADER_H_
