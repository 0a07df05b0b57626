// The ops the CUDA backend scaffold runs, as kernels calling its C table:
// factories and copies for every dtype, and float32 elementwise and matmul on
// contiguous operands. Anything else on a CUDA tensor fails with
// NotImplementedError naming the op (the full CUDA backend is a later issue).
#include <cstring>

#include "kernels/core/error.h"
#include "kernels/device_backend.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

int Dev(const Tensor& t) { return t.meta.device.index; }

void Check(int rc, const OpSchema& op) {
  if (rc != 0) Fail(ErrorKind::kRuntime, "[", op.name, "] CUDA error: ", CudaBackend()->last_error());
}

// Requires contiguous float32 on the GPU, or says what is unsupported.
void RequireF32(const KernelContext& ctx, const Tensor& t) {
  TD_CHECK(t.dtype() == DType::kFloat32 && t.is_contiguous(), kNotImplemented, "[",
           ctx.op.name, "] the CUDA backend runs this op on contiguous float32 tensors only (got ",
           DTypeName(t.dtype()), t.is_contiguous() ? "" : ", non-contiguous", ")");
}

void FillKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const std::string& op = ctx.op.name;
  if (op == "empty" || out.numel() == 0) return;
  if (op == "zeros" || out.dtype() != DType::kFloat32) {
    // Any dtype: build the bytes on the host, copy them over.
    Tensor host = Tensor::Empty(TensorMeta::Contiguous(out.dtype(), Device{}, out.sizes()));
    if (op == "zeros") {
      std::memset(host.raw(), 0, host.meta.nbytes());
    } else {
      const Value& v = op == "ones" ? Value::Int(1) : ctx.args.values[1];
      Tensor s = v.kind == Value::Kind::kFloat ? Tensor::Scalar(v.f, out.dtype())
                                               : Tensor::ScalarInt(v.to_int(), out.dtype());
      CopyInto(host, s);
    }
    Check(CudaBackend()->copy_to_device(Dev(out), out.raw(), host.raw(), host.meta.nbytes()), ctx.op);
    return;
  }
  const float value = op == "ones" ? 1.0f : static_cast<float>(ctx.args.values[1].to_double());
  Check(CudaBackend()->fill_f32(Dev(out), out.data<float>(), value, out.numel()), ctx.op);
}

void ToDeviceKernel(KernelContext& ctx) {
  const Tensor& src = ctx.tensor(0);
  Tensor& out = ctx.output();
  const size_t n = out.meta.nbytes();
  if (n == 0) return;
  if (out.meta.device.is_cpu()) {
    Tensor host = ToHost(src, ctx.tracker);
    std::memcpy(out.raw(), host.raw(), n);
  } else if (src.meta.device.is_cpu()) {
    Tensor host = ToHost(src, ctx.tracker);
    Check(CudaBackend()->copy_to_device(Dev(out), out.raw(), host.raw(), n), ctx.op);
  } else {
    TD_CHECK(src.is_contiguous() && Dev(src) == Dev(out), kNotImplemented, "[", ctx.op.name,
             "] copies between CUDA devices or of non-contiguous CUDA tensors are not supported yet");
    Check(CudaBackend()->copy_device_to_device(Dev(out), out.raw(), src.raw(), n), ctx.op);
  }
}

// A float32 operand on the output's device: the tensor, or a filled
// temporary for a Python number.
Tensor Operand(KernelContext& ctx, size_t arg, const Tensor& out) {
  const Value& v = ctx.args.values[arg];
  if (v.is_tensor()) {
    const Tensor& t = ctx.tensor(arg);
    RequireF32(ctx, t);
    TD_CHECK(t.sizes() == out.sizes(), kNotImplemented, "[", ctx.op.name,
             "] the CUDA backend does not broadcast yet (", ShapeStr(t.sizes()), " vs ",
             ShapeStr(out.sizes()), ")");
    return t;
  }
  Tensor tmp = Tensor::Empty(out.meta, ctx.tracker, AllocatorFor(out.meta.device));
  Check(CudaBackend()->fill_f32(Dev(out), tmp.data<float>(), static_cast<float>(v.to_double()),
                                tmp.numel()),
        ctx.op);
  return tmp;
}

void BinaryKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  RequireF32(ctx, out);
  const std::string& fn = ctx.op.variant;
  const int alpha_p = ctx.op.param_index("alpha");
  TD_CHECK(alpha_p < 0 || ctx.args.values[alpha_p].to_double() == 1.0, kNotImplemented, "[",
           ctx.op.name, "] alpha != 1 is not supported by the CUDA backend yet");
  const int rm_p = ctx.op.param_index("rounding_mode");
  TD_CHECK(rm_p < 0 || ctx.args.is_none(rm_p), kNotImplemented, "[", ctx.op.name,
           "] rounding_mode is not supported by the CUDA backend yet");
  const int code = fn == "add" ? TENSORD_CUDA_ADD : fn == "sub" ? TENSORD_CUDA_SUB
                 : fn == "mul" ? TENSORD_CUDA_MUL : fn == "div" ? TENSORD_CUDA_DIV
                 : fn == "maximum" ? TENSORD_CUDA_MAXIMUM : TENSORD_CUDA_MINIMUM;
  Tensor a = Operand(ctx, 0, out), b = Operand(ctx, 1, out);
  Check(CudaBackend()->binary_f32(Dev(out), code, a.data<float>(), b.data<float>(),
                                  out.data<float>(), out.numel()),
        ctx.op);
}

void UnaryKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const Tensor& in = ctx.tensor(0);
  RequireF32(ctx, in);
  const std::string& fn = ctx.op.variant;
  const int code = fn == "neg" ? TENSORD_CUDA_NEG : fn == "exp" ? TENSORD_CUDA_EXP
                 : fn == "log" ? TENSORD_CUDA_LOG : fn == "relu" ? TENSORD_CUDA_RELU
                 : fn == "sigmoid" ? TENSORD_CUDA_SIGMOID : fn == "tanh" ? TENSORD_CUDA_TANH
                 : fn == "sqrt" ? TENSORD_CUDA_SQRT : TENSORD_CUDA_ABS;
  Check(CudaBackend()->unary_f32(Dev(out), code, in.data<float>(), out.data<float>(), out.numel()),
        ctx.op);
}

void MatmulKernel(KernelContext& ctx) {
  const Tensor& a = ctx.tensor(0);
  const Tensor& b = ctx.tensor(1);
  RequireF32(ctx, a);
  RequireF32(ctx, b);
  TD_CHECK(a.dim() == 2 && b.dim() == 2, kNotImplemented, "[", ctx.op.name,
           "] the CUDA backend multiplies 2-D matrices only yet");
  Tensor& out = ctx.output();
  Check(CudaBackend()->matmul_f32(Dev(out), a.sizes()[0], b.sizes()[1], a.sizes()[1],
                                  a.data<float>(), b.data<float>(), out.data<float>()),
        ctx.op);
}

}  // namespace

void RegisterCudaKernels(KernelRegistry& r) {
  for (const char* op : {"empty", "zeros", "ones", "full"}) r.Register(op, Device::Kind::kCUDA, &FillKernel);
  r.Register("to_device", Device::Kind::kCUDA, &ToDeviceKernel);
  for (const char* op : {"add", "sub", "mul", "div"}) r.Register(op, Device::Kind::kCUDA, &BinaryKernel);
  r.Register("matmul", Device::Kind::kCUDA, &MatmulKernel);
  // Ops the backend has functions for; some come with later op families.
  for (const char* op : {"neg", "exp", "log", "relu", "sigmoid", "tanh", "sqrt", "abs"}) {
    if (FindOp(op)) r.Register(op, Device::Kind::kCUDA, &UnaryKernel);
  }
  for (const char* op : {"maximum", "minimum"}) {
    if (FindOp(op)) r.Register(op, Device::Kind::kCUDA, &BinaryKernel);
  }
}

}  // namespace tensord
