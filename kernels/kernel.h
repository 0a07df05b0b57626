// What a kernel sees, and the registry that maps ops to kernels per device.
#ifndef TENSORD_KERNELS_KERNEL_H_
#define TENSORD_KERNELS_KERNEL_H_

#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "kernels/core/tensor.h"
#include "kernels/schema/op_schema.h"

namespace tensord {

// A session's random source; manual_seed re-seeds it.
struct Generator {
  static constexpr uint64_t kDefaultSeed = 0x5eed;
  std::mt19937_64 engine{kDefaultSeed};
  uint64_t initial_seed = kDefaultSeed;  // torch.initial_seed(): the last seed given
  void Seed(uint64_t s) {
    engine.seed(s);
    initial_seed = s;
  }
};

struct KernelContext {
  const OpSchema& op;
  const OpArgs& args;
  // Parallel to args.metas: the tensors that Tensor values index.
  std::vector<const Tensor*> tensors;
  // The results' metadata from the op's rule.
  std::vector<TensorMeta> out_metas;
  // The results: a kernel allocates each with output(i), or sets one itself
  // (a view, or an op whose sizes depend on data).
  std::vector<Tensor> outputs;
  Generator* generator = nullptr;
  std::shared_ptr<MemoryTracker> tracker;
  // Tensors a kernel allocates (output(), NewTensor()) may not exceed this:
  // results whose size depends on data are checked here, not before.
  uint64_t max_tensor_bytes = UINT64_MAX;

  KernelContext(const OpSchema& o, const OpArgs& a) : op(o), args(a) {}

  const Tensor& tensor(size_t arg) const { return *tensors[args.values[arg].i]; }
  // Tensor argument `arg`, or a 0-d tensor of `dtype` for a Python number.
  Tensor tensor_or_scalar(size_t arg, DType dtype) const;
  // The list of tensors of a Tensor[] argument.
  std::vector<const Tensor*> tensor_list(size_t arg) const;
  // Allocates result i from out_metas[i] on first use.
  Tensor& output(size_t i = 0);
  // A scratch (or data-dependent result) tensor on the host.
  Tensor NewTensor(const TensorMeta& meta) const;
};

using Kernel = void (*)(KernelContext& ctx);

class KernelRegistry {
 public:
  static KernelRegistry& Get();
  void Register(std::string_view op, Device::Kind device, Kernel kernel);
  // nullptr when the op has no kernel for that device.
  Kernel Find(const OpSchema& op, Device::Kind device) const;
  // Ops whose schema lists `device` but which have no kernel for it (view
  // ops need none: the executor builds views from their rules).
  std::vector<std::string> Missing(Device::Kind device) const;

 private:
  std::vector<Kernel> cpu_, cuda_;  // by op index
};

// Registers every CPU kernel; idempotent.
void RegisterCpuKernels();

// A converted (and contiguous) copy of `t`, or `t` itself when it already has
// that dtype. Used by kernels that compute in one dtype.
Tensor CastTo(const Tensor& t, DType dtype, const std::shared_ptr<MemoryTracker>& tracker = nullptr);
// dst[...] = src[...] with broadcasting and dtype conversion.
void CopyInto(const Tensor& dst, const Tensor& src);

}  // namespace tensord

#endif  // TENSORD_KERNELS_KERNEL_H_
