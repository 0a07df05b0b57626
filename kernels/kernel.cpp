#include "kernels/kernel.h"

#include "kernels/core/error.h"
#include "kernels/device_backend.h"

namespace tensord {

Tensor KernelContext::tensor_or_scalar(size_t arg, DType dtype) const {
  const Value& v = args.values[arg];
  if (v.is_tensor()) return *tensors[v.i];
  if (v.kind == Value::Kind::kFloat) return Tensor::Scalar(v.f, dtype);
  return Tensor::ScalarInt(v.to_int(), dtype);
}

std::vector<const Tensor*> KernelContext::tensor_list(size_t arg) const {
  std::vector<const Tensor*> out;
  for (int64_t idx : args.values[arg].ints) out.push_back(tensors[idx]);
  return out;
}

namespace {

void CheckAllocation(const KernelContext& ctx, const TensorMeta& meta) {
  TD_CHECK(meta.nbytes() <= ctx.max_tensor_bytes, kResource, "[", ctx.op.name, "] a tensor of ",
           ShapeStr(meta.sizes), " ", DTypeName(meta.dtype), " needs ", meta.nbytes(),
           " bytes; limits.max_tensor_bytes is ", ctx.max_tensor_bytes);
}

}  // namespace

Tensor KernelContext::NewTensor(const TensorMeta& meta) const {
  CheckAllocation(*this, meta);
  return Tensor::Empty(meta, tracker);
}

Tensor& KernelContext::output(size_t i) {
  TD_ASSERT(i < out_metas.size());
  if (outputs.size() < out_metas.size()) outputs.resize(out_metas.size());
  if (!outputs[i].defined()) {
    CheckAllocation(*this, out_metas[i]);
    outputs[i] = Tensor::Empty(out_metas[i], tracker, AllocatorFor(out_metas[i].device));
  }
  return outputs[i];
}

KernelRegistry& KernelRegistry::Get() {
  static KernelRegistry registry;
  return registry;
}

void KernelRegistry::Register(std::string_view op, Device::Kind device, Kernel kernel) {
  const OpSchema* s = FindOp(op);
  TD_ASSERT(s != nullptr, "kernel registered for unknown op ", op);
  auto& table = device == Device::Kind::kCPU ? cpu_ : cuda_;
  if (table.size() < AllOps().size()) table.resize(AllOps().size(), nullptr);
  table[s->index] = kernel;
}

Kernel KernelRegistry::Find(const OpSchema& op, Device::Kind device) const {
  const auto& table = device == Device::Kind::kCPU ? cpu_ : cuda_;
  return static_cast<size_t>(op.index) < table.size() ? table[op.index] : nullptr;
}

std::vector<std::string> KernelRegistry::Missing(Device::Kind device) const {
  std::vector<std::string> missing;
  for (const auto& op : AllOps()) {
    // CUDA kernels exist only once a backend is installed.
    if (device == Device::Kind::kCUDA && cuda_.empty()) continue;
    const bool listed = device == Device::Kind::kCPU ? op.cpu : op.cuda;
    const bool needs_kernel = op.returns != ReturnKind::kView &&
                              op.returns != ReturnKind::kViewList;
    if (listed && needs_kernel && !Find(op, device)) missing.push_back(op.name);
  }
  return missing;
}

}  // namespace tensord
