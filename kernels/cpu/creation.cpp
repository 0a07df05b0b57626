// Factories: empty/zeros/ones/full/arange/linspace/logspace/eye, zero_ and
// tensors from client bytes.
#include <cmath>
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

// Zeroed, unlike PyTorch's uninitialised memory: on a shared daemon, freed
// memory may hold another session's data.
void EmptyKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  std::memset(out.raw(), 0, out.meta.nbytes());
}

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

// linspace/logspace: ATen's formula (the second half counts back from end,
// so end is exact); integral dtypes truncate start/end first and step in double.
void LinspaceKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const bool log = ctx.op.name == "logspace";
  const int64_t steps = out.numel();
  if (steps == 0) return;
  const double base = log ? ctx.args.get_float(3) : 0;
  DispatchNumeric(out.dtype(), ctx.op.name, [&]<typename T>() {
    constexpr bool kIntegral = std::is_integral_v<T>;
    using S = std::conditional_t<std::is_same_v<T, double> || kIntegral, double, float>;
    const Value &vs = ctx.args.values[0], &ve = ctx.args.values[1];
    S start, end;
    if constexpr (kIntegral) {
      start = static_cast<S>(static_cast<int64_t>(vs.to_double()));
      end = static_cast<S>(static_cast<int64_t>(ve.to_double()));
    } else {
      start = static_cast<S>(vs.to_double());
      end = static_cast<S>(ve.to_double());
    }
    T* o = out.data<T>();
    if (steps == 1) {
      o[0] = Convert<T>(log ? static_cast<S>(std::pow(static_cast<S>(base), start)) : start);
      return;
    }
    const S step = (end - start) / static_cast<S>(steps - 1);
    const int64_t half = steps / 2;
    for (int64_t i = 0; i < steps; ++i) {
      const S v = i < half ? static_cast<S>(start + step * static_cast<S>(i))
                           : static_cast<S>(end - step * static_cast<S>(steps - i - 1));
      o[i] = Convert<T>(log ? static_cast<S>(std::pow(static_cast<S>(base), v)) : v);
    }
  });
}

void EyeKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  std::memset(out.raw(), 0, out.meta.nbytes());
  const int64_t n = out.sizes()[0], m = out.sizes()[1];
  DispatchAll(out.dtype(), "eye", [&]<typename T>() {
    T* o = out.data<T>();
    for (int64_t i = 0; i < std::min(n, m); ++i) o[i * m + i] = Convert<T>(1);
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
  r.Register("linspace", Device::Kind::kCPU, &LinspaceKernel);
  r.Register("logspace", Device::Kind::kCPU, &LinspaceKernel);
  r.Register("eye", Device::Kind::kCPU, &EyeKernel);
}

}  // namespace tensord
