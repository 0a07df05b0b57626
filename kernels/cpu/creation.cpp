// Factories: empty/zeros/ones/full/arange and tensors from client bytes.
#include <cstring>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

void FillWith(const Tensor& t, const Value& v) {
  Tensor s = v.kind == Value::Kind::kFloat ? Tensor::Scalar(v.f, t.dtype())
                                           : Tensor::ScalarInt(v.to_int(), t.dtype());
  CopyInto(t, s);
}

void EmptyKernel(KernelContext& ctx) { ctx.output(); }

void ZerosKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  std::memset(out.raw(), 0, out.meta.nbytes());
}

void OnesKernel(KernelContext& ctx) { FillWith(ctx.output(), Value::Int(1)); }

void FullKernel(KernelContext& ctx) { FillWith(ctx.output(), ctx.args.values[1]); }

void ArangeKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const Value &start = ctx.args.values[0], &step = ctx.args.values[2];
  const bool integral = start.kind != Value::Kind::kFloat && step.kind != Value::Kind::kFloat;
  DispatchNumeric(out.dtype(), "arange", [&]<typename T>() {
    T* o = out.data<T>();
    const int64_t n = out.numel();
    if (integral) {
      const int64_t a = start.to_int(), s = step.to_int();
      for (int64_t i = 0; i < n; ++i) o[i] = Convert<T>(a + i * s);
    } else {
      const double a = start.to_double(), s = step.to_double();
      for (int64_t i = 0; i < n; ++i) o[i] = Convert<T>(a + static_cast<double>(i) * s);
    }
  });
}

void FromDataKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const std::string& bytes = ctx.args.values[0].s;
  std::memcpy(out.raw(), bytes.data(), bytes.size());
  if (out.dtype() == DType::kBool) {  // normalise to 0/1 so bool reads stay defined
    uint8_t* p = out.data<uint8_t>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = p[i] != 0;
  }
}

}  // namespace

void RegisterCreationKernels(KernelRegistry& r) {
  r.Register("empty", Device::Kind::kCPU, &EmptyKernel);
  r.Register("zeros", Device::Kind::kCPU, &ZerosKernel);
  r.Register("ones", Device::Kind::kCPU, &OnesKernel);
  r.Register("full", Device::Kind::kCPU, &FullKernel);
  r.Register("arange", Device::Kind::kCPU, &ArangeKernel);
  r.Register("from_data", Device::Kind::kCPU, &FromDataKernel);
}

}  // namespace tensord
