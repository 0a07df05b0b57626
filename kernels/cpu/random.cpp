// The session generator and random draws.
//
// Draws are counter-based: each op takes one 64-bit key from the session's
// mt19937_64 and element i gets SplitMix64(key, i). So manual_seed(s) makes a
// session's draws reproducible and a fill splits over threads without changing
// its values. The values are not torch's stream (only its semantics).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>
#include <vector>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"
#include "kernels/meta/rng_state.h"
#include "kernels/meta/torch_names.h"

namespace tensord {
namespace {

struct Counter {
  uint64_t key;
  uint64_t Bits(uint64_t i) const {
    uint64_t z = key + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform on [0, 1) with `digits` random bits (exact in a type of that many digits).
  double Uniform(uint64_t i, int digits = 53) const {
    return std::ldexp(static_cast<double>(Bits(i) >> (64 - digits)), -digits);
  }
  // Standard normal (Box-Muller on draws 2i and 2i+1).
  double Normal(uint64_t i) const {
    const double u1 = 1.0 - Uniform(2 * i), u2 = Uniform(2 * i + 1);  // u1 in (0, 1]
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
};

Counter NewCounter(KernelContext& ctx) { return Counter{ctx.generator->engine()}; }

template <typename T>
constexpr int Digits() {
  if constexpr (std::is_same_v<T, Half>) return 11;
  else if constexpr (std::is_same_v<T, BFloat16>) return 8;
  else if constexpr (std::is_same_v<T, float>) return 24;
  else return 53;
}

// dst[i] = f(i) in row-major order, in parallel; a non-contiguous dst is
// filled through a contiguous buffer.
template <typename T, typename F>
void Generate(const KernelContext& ctx, const Tensor& dst, F f) {
  Tensor buf = dst.is_contiguous() ? dst
                                   : ctx.NewTensor(TensorMeta::Contiguous(dst.dtype(), dst.meta.device, dst.sizes()));
  T* p = buf.data<T>();
  ParallelFor(buf.numel(), 8192, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = f(static_cast<uint64_t>(i));
  });
  if (buf.storage != dst.storage) CopyInto(dst, buf);
}

// A contiguous float64 copy of `t` broadcast to `sizes`.
Tensor AsDoubles(const KernelContext& ctx, const Tensor& t, const Shape& sizes) {
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(DType::kFloat64, t.meta.device, sizes));
  CopyInto(out, t);
  return out;
}

void ManualSeedKernel(KernelContext& ctx) {
  ctx.generator->Seed(static_cast<uint64_t>(ctx.args.get_int(0)));
}

// The engine's state travels as its standard text form (libstdc++ writes the
// 312 words, then the position), packed as words after the tag and the seed.
void GetRngStateKernel(KernelContext& ctx) {
  std::ostringstream text;
  text << ctx.generator->engine;
  std::vector<uint64_t> words = {kRngStateTag, ctx.generator->initial_seed};
  std::istringstream in(text.str());
  for (uint64_t w; in >> w;) words.push_back(w);
  TD_ASSERT(static_cast<int64_t>(words.size()) == kRngStateWords, "[get_rng_state] the engine's ",
            "state has ", words.size() - 2, " words, expected ", kRngStateWords - 2);
  Tensor& out = ctx.output(0);
  std::memcpy(out.data<uint8_t>(), words.data(), kRngStateBytes);
}

void SetRngStateKernel(KernelContext& ctx) {
  const Tensor& state = ctx.tensor(0);
  TD_CHECK(state.dtype() == DType::kUInt8 && state.meta.device.is_cpu(), kType,
           "[set_rng_state] expected a CPU torch.uint8 tensor, got ", TorchTypeName(state.dtype()),
           " on ", state.meta.device.str());
  TD_CHECK(state.numel() == kRngStateBytes, kRuntime, "[set_rng_state] expected a state of ",
           kRngStateBytes, " bytes (from get_rng_state()), but found the input RNG state size ",
           "to be ", state.numel());
  Tensor bytes = state;
  if (!state.is_contiguous()) {
    bytes = ctx.NewTensor(TensorMeta::Contiguous(DType::kUInt8, state.meta.device, state.sizes()));
    CopyInto(bytes, state);
  }
  std::vector<uint64_t> words(kRngStateWords);
  std::memcpy(words.data(), bytes.data<uint8_t>(), kRngStateBytes);
  TD_CHECK(words[0] == kRngStateTag, kRuntime, "[set_rng_state] the state was not made by ",
           "tensord.get_rng_state() (its format tag differs)");
  TD_CHECK(words.back() <= 312, kRuntime, "[set_rng_state] invalid generator position ",
           words.back(), " (expected 0 to 312)");
  std::ostringstream text;
  for (size_t i = 2; i < words.size(); ++i) text << words[i] << ' ';
  std::istringstream in(text.str());
  std::mt19937_64 engine;
  in >> engine;
  TD_CHECK(!in.fail(), kRuntime, "[set_rng_state] the state could not be read back");
  ctx.generator->engine = engine;
  ctx.generator->initial_seed = words[1];
}

void UniformFill(KernelContext& ctx, const Tensor& dst, double from, double to) {
  Counter g = NewCounter(ctx);
  DispatchFloating(dst.dtype(), ctx.op.name, [&]<typename T>() {
    using M = opmath_t<T>;
    const M a = static_cast<M>(from), w = static_cast<M>(to - from);
    Generate<T>(ctx, dst, [&](uint64_t i) {
      return Convert<T>(static_cast<M>(a + w * static_cast<M>(g.Uniform(i, Digits<T>()))));
    });
  });
}

void NormalFill(KernelContext& ctx, const Tensor& dst, double mean, double std) {
  Counter g = NewCounter(ctx);
  DispatchFloating(dst.dtype(), ctx.op.name, [&]<typename T>() {
    Generate<T>(ctx, dst, [&](uint64_t i) { return Convert<T>(mean + std * g.Normal(i)); });
  });
}

void RandKernel(KernelContext& ctx) { UniformFill(ctx, ctx.output(), 0, 1); }
void RandnKernel(KernelContext& ctx) { NormalFill(ctx, ctx.output(), 0, 1); }
void UniformKernel(KernelContext& ctx) {
  UniformFill(ctx, ctx.tensor(0), ctx.args.get_float(1), ctx.args.get_float(2));
}
void NormalInPlaceKernel(KernelContext& ctx) {
  NormalFill(ctx, ctx.tensor(0), ctx.args.get_float(1), ctx.args.get_float(2));
}

// normal(mean, std[, size]): numbers, or tensors broadcast to the result.
void NormalKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const Value &mv = ctx.args.values[0], &sv = ctx.args.values[1];
  if (!mv.is_tensor() && !sv.is_tensor()) {
    NormalFill(ctx, out, mv.to_double(), sv.to_double());
    return;
  }
  Tensor mean = AsDoubles(ctx, ctx.tensor_or_scalar(0, DType::kFloat64), out.sizes());
  Tensor std = AsDoubles(ctx, ctx.tensor_or_scalar(1, DType::kFloat64), out.sizes());
  const double* m = mean.data<double>();
  const double* s = std.data<double>();
  for (int64_t i = 0; i < std.numel(); ++i) {
    TD_CHECK(s[i] >= 0, kRuntime, "[normal] normal expects all elements of std >= 0.0");
  }
  Counter g = NewCounter(ctx);
  DispatchFloating(out.dtype(), "normal", [&]<typename T>() {
    Generate<T>(ctx, out, [&](uint64_t i) { return Convert<T>(m[i] + s[i] * g.Normal(i)); });
  });
}

void RandintKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const int64_t low = ctx.args.get_int(0);
  const uint64_t range = static_cast<uint64_t>(ctx.args.get_int(1)) - static_cast<uint64_t>(low);
  Counter g = NewCounter(ctx);
  DispatchAll(out.dtype(), "randint", [&]<typename T>() {
    Generate<T>(ctx, out, [&](uint64_t i) {
      return Convert<T>(static_cast<int64_t>(static_cast<uint64_t>(low) + g.Bits(i) % range));
    });
  });
}

// Fisher-Yates, sequential on the session engine.
void RandpermKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const int64_t n = ctx.args.get_int(0);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(ctx.generator->engine() % static_cast<uint64_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
  DispatchNumeric(out.dtype(), "randperm", [&]<typename T>() {
    T* o = out.data<T>();
    for (int64_t i = 0; i < n; ++i) o[i] = Convert<T>(perm[i]);
  });
}

// dst[i] = (u_i < p[i]) for p, a contiguous float64 tensor of dst's sizes.
void BernoulliFill(KernelContext& ctx, const Tensor& dst, const Tensor& p) {
  const double* pp = p.data<double>();
  for (int64_t i = 0; i < p.numel(); ++i) {
    TD_CHECK(pp[i] >= 0 && pp[i] <= 1, kRuntime,
             "[", ctx.op.name, "] Expected p_in >= 0 && p_in <= 1 to be true, but got false.");
  }
  Counter g = NewCounter(ctx);
  DispatchAll(dst.dtype(), ctx.op.name, [&]<typename T>() {
    Generate<T>(ctx, dst, [&](uint64_t i) { return Convert<T>(g.Uniform(i) < pp[i] ? 1 : 0); });
  });
}

void BernoulliScalarFill(KernelContext& ctx, const Tensor& dst, double p) {
  Counter g = NewCounter(ctx);
  DispatchAll(dst.dtype(), ctx.op.name, [&]<typename T>() {
    Generate<T>(ctx, dst, [&](uint64_t i) { return Convert<T>(g.Uniform(i) < p ? 1 : 0); });
  });
}

void BernoulliKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor& out = ctx.output();
  if (ctx.args.is_none(1)) {
    BernoulliFill(ctx, out, AsDoubles(ctx, self, self.sizes()));
  } else {
    BernoulliScalarFill(ctx, out, ctx.args.get_float(1));
  }
}

void BernoulliInPlaceKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  if (ctx.args.values[1].is_tensor()) {
    BernoulliFill(ctx, self, AsDoubles(ctx, ctx.tensor(1), self.sizes()));
  } else {
    BernoulliScalarFill(ctx, self, ctx.args.get_float(1));
  }
}

// Per row: without replacement the n largest keys p_j / E_j (E_j ~ Exp(1),
// the exponential trick torch uses too); with replacement inverse-CDF draws.
void MultinomialKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor& out = ctx.output();
  const int64_t n = ctx.args.get_int(1);
  const bool replacement = ctx.args.get_bool(2);
  const int64_t cats = self.sizes().back();
  const int64_t rows = self.dim() == 1 ? 1 : self.sizes()[0];
  Tensor p = AsDoubles(ctx, self, self.sizes());
  const double* pp = p.data<double>();
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t j = 0; j < cats; ++j) {
      const double v = pp[r * cats + j];
      // torch 1.13's with-replacement kernel words its checks differently.
      if (replacement) {
        TD_CHECK(v >= 0, kRuntime,  // NaN fails this too, as in torch
                 "[multinomial] invalid multinomial distribution "
                 "(encountering probability entry < 0)");
        TD_CHECK(std::isfinite(v), kRuntime, "[multinomial] invalid multinomial distribution "
                 "(encountering probability entry = infinity or NaN)");
      } else {
        TD_CHECK(std::isfinite(v) && v >= 0, kRuntime,
                 "[multinomial] probability tensor contains either `inf`, `nan` or element < 0");
      }
      sum += v;
    }
    TD_CHECK(sum > 0, kRuntime, "[multinomial] invalid multinomial distribution (sum of probabilities <= 0)");
  }
  Counter g = NewCounter(ctx);
  int64_t* o = out.data<int64_t>();
  ParallelFor(rows, 1, [&](int64_t r0, int64_t r1) {
    std::vector<double> work(static_cast<size_t>(cats));
    std::vector<int64_t> idx(static_cast<size_t>(cats));
    for (int64_t r = r0; r < r1; ++r) {
      const double* row = pp + r * cats;
      if (replacement) {
        std::partial_sum(row, row + cats, work.begin());
        for (int64_t s = 0; s < n; ++s) {
          const double u = g.Uniform(static_cast<uint64_t>(r * n + s)) * work.back();
          int64_t j = std::upper_bound(work.begin(), work.end(), u) - work.begin();
          if (j == cats) {  // u rounded up to the total: the last nonzero category
            for (j = cats - 1; row[j] == 0; --j) {
            }
          }
          o[r * n + s] = j;
        }
      } else {
        for (int64_t j = 0; j < cats; ++j) {
          const double e = -std::log(1.0 - g.Uniform(static_cast<uint64_t>(r * cats + j)));
          work[j] = row[j] / e;
        }
        std::iota(idx.begin(), idx.end(), int64_t{0});
        std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), [&](int64_t x, int64_t y) {
          return work[x] > work[y] || (work[x] == work[y] && x < y);
        });
        std::copy(idx.begin(), idx.begin() + n, o + r * n);
      }
    }
  });
}

}  // namespace

void RegisterRandomKernels(KernelRegistry& r) {
  r.Register("manual_seed", Device::Kind::kCPU, &ManualSeedKernel);
  r.Register("_get_rng_state", Device::Kind::kCPU, &GetRngStateKernel);
  r.Register("_set_rng_state", Device::Kind::kCPU, &SetRngStateKernel);
  r.Register("rand", Device::Kind::kCPU, &RandKernel);
  r.Register("randn", Device::Kind::kCPU, &RandnKernel);
  r.Register("randint", Device::Kind::kCPU, &RandintKernel);
  r.Register("randperm", Device::Kind::kCPU, &RandpermKernel);
  r.Register("normal", Device::Kind::kCPU, &NormalKernel);
  r.Register("normal_", Device::Kind::kCPU, &NormalInPlaceKernel);
  r.Register("uniform_", Device::Kind::kCPU, &UniformKernel);
  r.Register("bernoulli", Device::Kind::kCPU, &BernoulliKernel);
  r.Register("bernoulli_", Device::Kind::kCPU, &BernoulliInPlaceKernel);
  r.Register("multinomial", Device::Kind::kCPU, &MultinomialKernel);
}

}  // namespace tensord
