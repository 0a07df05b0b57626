// Binary arithmetic with broadcasting: add, sub, mul, div, floor_divide,
// remainder, fmod, pow, atan2, maximum, minimum, bitwise and/or/xor, and
// their in-place forms. Operands are converted to the promoted dtype first;
// the math runs in opmath_t (float for the 16-bit floats).
#include <cmath>
#include <string>
#include <string_view>
#include <type_traits>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/elementwise_util.h"
#include "kernels/cpu/loops.h"
#include "kernels/kernel.h"
#include "kernels/meta/rule_util.h"

namespace tensord {
namespace {

// -a with two's complement wrap-around (the type's minimum stays itself).
template <typename M>
M WrapNeg(M a) {
  using U = std::make_unsigned_t<M>;
  return static_cast<M>(U(0) - static_cast<U>(a));
}

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
  } else if constexpr (std::is_signed_v<M>) {
    if (b == M(-1)) return WrapNeg(a);  // min / -1 overflows (and traps on x86)
    M q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
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
  // "trunc", "floor" or "" (None); ElementwiseResultType rejects others.
  std::string rounding = rm_p >= 0 && !ctx.args.is_none(rm_p) ? ctx.args.values[rm_p].s : "";
  const DType compute = ElementwiseResultType(ctx.op, ctx.args);
  auto [a, b] = Operands(ctx, compute);
  if (fn == "div" && !rounding.empty() && IsIntegral(compute, true)) {
    CheckNoIntegerZero(ctx.op.name, b);
  }
  if (fn == "sub") {
    auto is_bool = [&](int i) {
      const Value& v = ctx.args.values[i];
      return v.is_tensor() ? ctx.args.tensor(i).dtype == DType::kBool : v.kind == Value::Kind::kBool;
    };
    TD_CHECK(!(is_bool(0) && is_bool(1)), kRuntime, "[", ctx.op.name,
             "] Subtraction, the `-` operator, with two bool tensors is not supported. "
             "Use the `^` or `logical_xor()` operator instead.");
    TD_CHECK(!is_bool(0) && !is_bool(1), kRuntime, "[", ctx.op.name,
             "] Subtraction, the `-` operator, with a bool tensor is not supported. "
             "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
  }
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


// Python's %: the result has the sign of the divisor.
template <typename M>
M Remainder(M a, M b) {
  if constexpr (std::is_floating_point_v<M>) {
    M mod = std::fmod(a, b);
    if (mod != 0 && ((b < 0) != (mod < 0))) mod += b;
    return mod;
  } else {
    if constexpr (std::is_signed_v<M>) {
      if (b == M(-1)) return M(0);
    }
    M r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
}

// C's fmod: the result has the sign of the dividend.
template <typename M>
M Fmod(M a, M b) {
  if constexpr (std::is_floating_point_v<M>) {
    return std::fmod(a, b);
  } else {
    if constexpr (std::is_signed_v<M>) {
      if (b == M(-1)) return M(0);
    }
    return a % b;
  }
}

// Integer power by squaring, wrapping like PyTorch's; negative exponents give
// 0 except for bases 1 and -1.
template <typename M>
M IntPow(M base, M exp) {
  if constexpr (std::is_signed_v<M>) {
    if (exp < 0) {
      if (base == 1) return M(1);
      if (base == -1) return (exp & 1) ? M(-1) : M(1);
      return M(0);
    }
  }
  uint64_t result = 1, b = static_cast<uint64_t>(static_cast<int64_t>(base));
  for (uint64_t e = static_cast<uint64_t>(exp); e; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<M>(static_cast<int64_t>(result));
}

template <typename M>
M Maximum(M a, M b) {
  if (IsNanValue(a)) return a;
  if (IsNanValue(b)) return b;
  return a > b ? a : b;
}

template <typename M>
M Minimum(M a, M b) {
  if (IsNanValue(a)) return a;
  if (IsNanValue(b)) return b;
  return a < b ? a : b;
}

// Runs f(M, M) -> M over both operands converted to `compute`.
template <typename Dispatch, typename F>
void MathBinary(KernelContext& ctx, DType compute, Dispatch dispatch, F f) {
  ElementwiseDst d(ctx, compute);
  const Tensor a = OperandAs(ctx, 0, compute);
  const Tensor b = OperandAs(ctx, 1, compute);
  dispatch(compute, ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    if constexpr (std::is_same_v<T, bool>) {
      BinaryLoop<T, T>(d.dst, a, b, [f](T x, T y) { return f.template operator()<bool>(x, y); });
    } else {
      BinaryLoop<T, T>(d.dst, a, b, [f](T x, T y) {
        return Convert<T>(static_cast<M>(f.template operator()<M>(M(x), M(y))));
      });
    }
  });
  d.Finish();
}

constexpr auto kNumeric = [](DType d, std::string_view op, auto&& f) { DispatchNumeric(d, op, f); };
constexpr auto kFloating = [](DType d, std::string_view op, auto&& f) { DispatchFloating(d, op, f); };
constexpr auto kAll = [](DType d, std::string_view op, auto&& f) { DispatchAll(d, op, f); };
constexpr auto kIntegral = [](DType d, std::string_view op, auto&& f) { DispatchIntegral(d, op, f); };

void BinaryMathKernel(KernelContext& ctx) {
  const std::string& fn = ctx.op.variant;
  const DType compute = ElementwiseResultType(ctx.op, ctx.args);
  const bool integral = IsIntegral(compute, false);
  if (fn == "floor_divide" || fn == "remainder" || fn == "fmod") {
    TD_CHECK(compute != DType::kBool, kRuntime, "[", ctx.op.name, "] \"", fn,
             "\" not implemented for 'Bool'");
    if (integral) CheckNoIntegerZero(ctx.op.name, OperandAs(ctx, 1, compute));
  }
  if (fn == "floor_divide") {
    return MathBinary(ctx, compute, kNumeric, []<typename M>(M x, M y) { return FloorDivide<M>(x, y); });
  }
  if (fn == "remainder") {
    return MathBinary(ctx, compute, kNumeric, []<typename M>(M x, M y) { return Remainder<M>(x, y); });
  }
  if (fn == "fmod") {
    return MathBinary(ctx, compute, kNumeric, []<typename M>(M x, M y) { return Fmod<M>(x, y); });
  }
  if (fn == "pow") {
    const Value& e = ctx.args.values[1];
    TD_CHECK(!(integral && e.kind == Value::Kind::kInt && e.i < 0), kRuntime, "[", ctx.op.name,
             "] Integers to negative integer powers are not allowed.");
    return MathBinary(ctx, compute, kNumeric, []<typename M>(M x, M y) {
      if constexpr (std::is_floating_point_v<M>) return std::pow(x, y);
      else return IntPow<M>(x, y);
    });
  }
  if (fn == "atan2") {
    return MathBinary(ctx, compute, kFloating, []<typename M>(M x, M y) { return std::atan2(x, y); });
  }
  if (fn == "maximum") {
    return MathBinary(ctx, compute, kAll, []<typename M>(M x, M y) { return Maximum<M>(x, y); });
  }
  if (fn == "minimum") {
    return MathBinary(ctx, compute, kAll, []<typename M>(M x, M y) { return Minimum<M>(x, y); });
  }
  if (fn == "bitwise_and") {
    return MathBinary(ctx, compute, kIntegral, []<typename M>(M x, M y) { return M(x & y); });
  }
  if (fn == "bitwise_or") {
    return MathBinary(ctx, compute, kIntegral, []<typename M>(M x, M y) { return M(x | y); });
  }
  if (fn == "bitwise_xor") {
    return MathBinary(ctx, compute, kIntegral, []<typename M>(M x, M y) { return M(x ^ y); });
  }
  Fail(ErrorKind::kInternal, "[", ctx.op.name, "] no binary function ", fn);
}

}  // namespace

void RegisterBinaryKernels(KernelRegistry& r) {
  for (const char* op : {"add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_"}) {
    r.Register(op, Device::Kind::kCPU, &BinaryArithKernel);
  }
  for (const char* op : {"floor_divide", "remainder", "fmod", "pow", "atan2", "maximum", "minimum",
                         "bitwise_and", "bitwise_or", "bitwise_xor"}) {
    r.Register(op, Device::Kind::kCPU, &BinaryMathKernel);
    const std::string inplace = std::string(op) + "_";
    if (FindOp(inplace)) r.Register(inplace, Device::Kind::kCPU, &BinaryMathKernel);
  }
}

}  // namespace tensord
