// Binary arithmetic with broadcasting: add, sub, mul, div and their
// in-place forms. Operands are converted to the promoted dtype first; the
// math runs in opmath_t (float for the 16-bit floats).
#include <cmath>
#include <string_view>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/loops.h"
#include "kernels/kernel.h"
#include "kernels/meta/rule_util.h"

namespace tensord {
namespace {

template <typename M>
M FloorDivide(M a, M b) {
  if constexpr (std::is_floating_point_v<M>) {
    if (b == 0) return a / b;
    // PyTorch's div_floor_floating: exact for values whose quotient is
    // representable, and consistent with Python's //.
    M mod = std::fmod(a, b);
    M div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div == 0) return std::copysign(M(0), a / b);
    M floordiv = std::floor(div);
    if (div - floordiv > M(0.5)) floordiv += 1;
    return floordiv;
  } else if constexpr (std::is_same_v<M, bool>) {
    return a;  // b is true: division by zero was rejected before
  } else {
    M q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  }
}

// The tensors of an elementwise op converted to `compute`, Python numbers
// as 0-d tensors.
std::pair<Tensor, Tensor> Operands(const KernelContext& ctx, DType compute) {
  return {CastTo(ctx.tensor_or_scalar(0, compute), compute, ctx.tracker),
          CastTo(ctx.tensor_or_scalar(1, compute), compute, ctx.tracker)};
}

void CheckNoIntegerZero(std::string_view op, const Tensor& b) {
  bool zero = false;
  DispatchAll(b.dtype(), op, [&]<typename T>() {
    auto loop = MakeLoop<1>(b.sizes(), {&b});
    auto scan = [&](std::array<char*, 1> p, std::array<int64_t, 1> s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        if (Convert<int64_t>(*reinterpret_cast<const T*>(p[0] + i * s[0])) == 0) zero = true;
      }
    };
    RunLoopRange<1>(loop, 0, loop.numel(), scan);
  });
  TD_CHECK(!zero, kRuntime, "[", op, "] ZeroDivisionError");
}

void BinaryArithKernel(KernelContext& ctx) {
  const std::string& fn = ctx.op.variant;
  const bool inplace = ctx.op.returns == ReturnKind::kInPlace;
  const Tensor out = inplace ? ctx.tensor(0) : ctx.output();
  const int rm_p = ctx.op.param_index("rounding_mode");
  std::string rounding = rm_p >= 0 && !ctx.args.is_none(rm_p) ? ctx.args.values[rm_p].s : "";
  TD_CHECK(rounding.empty() || rounding == "trunc" || rounding == "floor", kValue, "[",
           ctx.op.name, "] div expected rounding_mode to be one of None, 'trunc', or 'floor' "
           "but found '", rounding, "'");
  const DType compute = ElementwiseResultType(ctx.op, ctx.args);
  auto [a, b] = Operands(ctx, compute);
  if (fn == "div" && !rounding.empty() && IsIntegral(compute, true)) {
    CheckNoIntegerZero(ctx.op.name, b);
  }
  TD_CHECK(!(fn == "sub" && compute == DType::kBool), kRuntime, "[", ctx.op.name,
           "] Subtraction, the `-` operator, with two bool tensors is not supported. "
           "Use the `^` or `logical_xor()` operator instead.");
  Tensor dst = out.dtype() == compute ? out : ctx.NewTensor(TensorMeta::Contiguous(compute, out.meta.device, out.sizes()));
  const int alpha_p = ctx.op.param_index("alpha");
  const Value alpha = alpha_p >= 0 ? ctx.args.values[alpha_p] : Value::Int(1);
  DispatchAll(compute, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const M al = alpha.kind == Value::Kind::kFloat ? static_cast<M>(alpha.f)
                                                   : static_cast<M>(alpha.to_int());
    if (fn == "add") {
      if (al == M(1)) {
        BinaryLoop<T, T>(dst, a, b, [](T x, T y) { return Convert<T>(M(x) + M(y)); });
      } else {
        BinaryLoop<T, T>(dst, a, b, [al](T x, T y) { return Convert<T>(M(x) + al * M(y)); });
      }
    } else if (fn == "sub") {
      BinaryLoop<T, T>(dst, a, b, [al](T x, T y) { return Convert<T>(M(x) - al * M(y)); });
    } else if (fn == "mul") {
      BinaryLoop<T, T>(dst, a, b, [](T x, T y) { return Convert<T>(M(x) * M(y)); });
    } else if (fn == "div") {
      if (rounding == "floor") {
        BinaryLoop<T, T>(dst, a, b, [](T x, T y) { return Convert<T>(FloorDivide<M>(M(x), M(y))); });
      } else if (rounding == "trunc") {
        BinaryLoop<T, T>(dst, a, b, [](T x, T y) {
          if constexpr (std::is_floating_point_v<M>) return Convert<T>(std::trunc(M(x) / M(y)));
          else return Convert<T>(M(x) / M(y));
        });
      } else {
        BinaryLoop<T, T>(dst, a, b, [](T x, T y) { return Convert<T>(M(x) / M(y)); });
      }
    } else {
      Fail(ErrorKind::kInternal, "[", ctx.op.name, "] no binary function ", fn);
    }
  });
  if (dst.storage != out.storage) CopyInto(out, dst);
}

}  // namespace

void RegisterBinaryKernels(KernelRegistry& r) {
  for (const char* op : {"add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_"}) {
    r.Register(op, Device::Kind::kCPU, &BinaryArithKernel);
  }
}

}  // namespace tensord
