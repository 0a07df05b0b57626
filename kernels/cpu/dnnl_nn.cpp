// float32 pooling and normalisation on oneDNN (see dnnl_util.h): avg_pool2d
// (+ backward) on pooling_v2, native_batch_norm (+ backward) on
// batch_normalization, native_layer_norm (+ backward) on
// layer_normalization, native_group_norm (+ backward) on
// layer_normalization over (N * group) rows, all in plain row-major
// layouts. PyTorch's
// invstd/rstd is 1/sqrt(var + eps) of oneDNN's biased variance; a training
// backward passes 1/invstd^2 as the variance with eps 0.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <map>
#include <mutex>
#include <unordered_map>

#include "kernels/cpu/dnnl_util.h"
#include "kernels/core/error.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/cpu/parallel.h"

namespace tensord {

dnnl::engine& DnnlEngine() {
  static dnnl::engine* eng = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *eng;
}

std::atomic<int64_t>& DnnlNnCalls() {
  static std::atomic<int64_t> calls{0};
  return calls;
}

bool DnnlNnEnabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("TENSORD_ONEDNN_NN");
    return v == nullptr || std::string_view(v) != "0";
  }();
  return enabled;
}

std::shared_ptr<const DnnlPrim> DnnlCached(const std::vector<int64_t>& key,
                                           const std::function<DnnlPrim()>& build) {
  static std::mutex mu;
  static auto* cache = new std::map<std::vector<int64_t>, std::shared_ptr<const DnnlPrim>>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  if (cache->size() >= 256) cache->clear();
  try {
    auto p = std::make_shared<const DnnlPrim>(build());
    cache->emplace(key, p);
    return p;
  } catch (const dnnl::error&) {
    cache->emplace(key, nullptr);  // refused: do not ask again
    return nullptr;
  }
}

void DnnlExecute(const DnnlPrim& p, std::unordered_map<int, dnnl::memory> args) {
  dnnl::engine& eng = DnnlEngine();
  dnnl::stream stream(eng);
  std::vector<char> scratch(p.scratch_bytes);
  args.insert({DNNL_ARG_SCRATCHPAD,
               dnnl::memory(dnnl::memory::desc({static_cast<int64_t>(scratch.size())}, dnnl::memory::data_type::u8,
                                               dnnl::memory::format_tag::x),
                            eng, scratch.data())});
  try {
    p.prim.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    TD_CHECK(false, kRuntime, "[onednn] ", e.what(), " (status ", static_cast<int>(e.status), ")");
  }
  DnnlNnCalls().fetch_add(1, std::memory_order_relaxed);
}

namespace {

using dnnl::memory;
using Flags = dnnl::normalization_flags;
constexpr auto kF32 = memory::data_type::f32;

enum Kind : int64_t {
  kAvgPool = 1, kAvgPoolBack, kBatchNorm, kBatchNormBack, kLayerNorm, kLayerNormBack, kGroupNorm, kGroupNormBack
};

dnnl::primitive_attr UserScratch() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

memory Mem(const memory::desc& d, const void* p) {
  return memory(d, DnnlEngine(), const_cast<void*>(p));
}

memory::desc Vec(int64_t n) { return memory::desc({n}, kF32, memory::format_tag::x); }

// Argument i (float32, or None) as a contiguous tensor; false when it is
// there but not float32.
bool F32Arg(const KernelContext& ctx, int i, Tensor* out) {
  if (!ctx.args.values[i].is_tensor()) return true;
  if (ctx.tensor(i).dtype() != DType::kFloat32) return false;
  *out = ContiguousOf(ctx, ctx.tensor(i));
  return true;
}

// n floats, contiguous (a scratch buffer, or `t`'s data when t is a
// contiguous float32 tensor of n elements).
struct Buf {
  Tensor t;
  float* p = nullptr;
  Buf(const KernelContext& ctx, int64_t n, const Tensor* target = nullptr) {
    if (target != nullptr && target->numel() == n && target->is_contiguous()) {
      p = target->data<float>();
    } else {
      t = ctx.NewTensor(TensorMeta::Contiguous(DType::kFloat32, Device{}, {n}));
      p = t.data<float>();
    }
  }
};

// ---------------------------------------------------------------- pooling

DnnlPrim BuildAvgPool(const Pool2dGeometry& g, bool count_pad, bool backward, int64_t pr_h, int64_t pr_w) {
  const memory::desc src({g.n, g.c, g.ih, g.iw}, kF32, memory::format_tag::nchw);
  const memory::desc dst({g.n, g.c, g.oh, g.ow}, kF32, memory::format_tag::nchw);
  const auto alg = count_pad ? dnnl::algorithm::pooling_avg_include_padding
                             : dnnl::algorithm::pooling_avg_exclude_padding;
  const memory::dims strides{g.sh, g.sw}, kernel{g.kh, g.kw}, dil{g.dh - 1, g.dw - 1}, pl{g.ph, g.pw},
      pr{pr_h, pr_w};
  const auto attr = UserScratch();
  dnnl::pooling_v2_forward::primitive_desc fwd(
      dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_training, alg, src, dst, strides, kernel, dil, pl, pr),
      attr, DnnlEngine());
  DnnlPrim p;
  p.descs = {src, dst};
  if (!backward) {
    p.prim = dnnl::pooling_v2_forward(fwd);
    p.scratch_bytes = fwd.scratchpad_desc().get_size();
  } else {
    dnnl::pooling_v2_backward::primitive_desc bwd(
        dnnl::pooling_v2_backward::desc(alg, src, dst, strides, kernel, dil, pl, pr), attr, DnnlEngine(), fwd);
    p.prim = dnnl::pooling_v2_backward(bwd);
    p.scratch_bytes = bwd.scratchpad_desc().get_size();
  }
  return p;
}

}  // namespace

bool DnnlAvgPool2d(KernelContext& ctx, const Pool2dGeometry& g, bool count_pad, bool backward) {
  const Tensor& src = ctx.tensor(0);  // input, or grad_output
  Tensor& out = ctx.output(0);
  if (!DnnlNnEnabled() || src.dtype() != DType::kFloat32 || out.numel() == 0 || src.numel() == 0 || !out.is_contiguous()) {
    return false;
  }
  // The right padding that makes (in + pl + pr - dk) / s + 1 == out. ATen's
  // count_include_pad divisor stops at in + pad, oneDNN's counts the whole
  // window: with include_padding the windows must not reach past in + pad.
  const int64_t pr_h = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.ih - g.ph;
  const int64_t pr_w = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.iw - g.pw;
  if (pr_h < 0 || pr_w < 0) return false;
  if (count_pad && (pr_h > g.ph || pr_w > g.pw)) return false;
  std::vector<int64_t> key{kAvgPool + backward, count_pad, g.n, g.c, g.ih, g.iw, g.oh, g.ow, g.kh, g.kw,
                           g.sh, g.sw, g.ph, g.pw, g.dh, g.dw};
  auto p = DnnlCached(key, [&] { return BuildAvgPool(g, count_pad, backward, pr_h, pr_w); });
  if (p == nullptr) return false;
  const Tensor s = ContiguousOf(ctx, src);
  if (backward) {
    DnnlExecute(*p, {{DNNL_ARG_DIFF_DST, Mem(p->descs[1], s.data<float>())},
                     {DNNL_ARG_DIFF_SRC, Mem(p->descs[0], out.data<float>())}});
  } else {
    DnnlExecute(*p, {{DNNL_ARG_SRC, Mem(p->descs[0], s.data<float>())},
                     {DNNL_ARG_DST, Mem(p->descs[1], out.data<float>())}});
  }
  return true;
}

// ---------------------------------------------------------------- batch norm

namespace {

// Input (N, C, S...) seen as nchw [N][C][S][1]. oneDNN's fast batch norm
// wants channels last (its nchw one is a slow reference loop): with S > 1 the
// primitive runs on an nhwc copy, reordered in and out.
DnnlPrim BuildBatchNorm(int64_t n, int64_t c, int64_t s, float eps, Flags flags, bool backward) {
  const memory::desc plain({n, c, s, 1}, kF32, memory::format_tag::nchw);
  const memory::desc data({n, c, s, 1}, kF32, s > 1 ? memory::format_tag::nhwc : memory::format_tag::nchw);
  const auto attr = UserScratch();
  const bool global = (flags & Flags::use_global_stats) != Flags::none;
  dnnl::batch_normalization_forward::primitive_desc fwd(
      dnnl::batch_normalization_forward::desc(
          global && !backward ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training, data,
          eps, flags),
      attr, DnnlEngine());
  DnnlPrim p;
  p.descs = {data, Vec(c)};
  if (!backward) {
    p.prim = dnnl::batch_normalization_forward(fwd);
    p.scratch_bytes = fwd.scratchpad_desc().get_size();
  } else {
    dnnl::batch_normalization_backward::primitive_desc bwd(
        dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, data, data, eps, flags), attr,
        DnnlEngine(), fwd);
    p.prim = dnnl::batch_normalization_backward(bwd);
    p.scratch_bytes = bwd.scratchpad_desc().get_size();
  }
  if (s > 1) {
    p.relayout = true;
    p.plain = plain;
    p.to_inner = dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), plain, DnnlEngine(), data));
    p.from_inner = dnnl::reorder(dnnl::reorder::primitive_desc(DnnlEngine(), data, DnnlEngine(), plain));
  }
  return p;
}

// Runs a reorder of p from src to dst (to_inner when `in`).
void Relayout(const DnnlPrim& p, bool in, const float* src, float* dst) {
  dnnl::stream stream(DnnlEngine());
  const memory::desc& from = in ? p.plain : p.descs[0];
  const memory::desc& to = in ? p.descs[0] : p.plain;
  memory a = Mem(from, src), b = Mem(to, dst);
  (in ? p.to_inner : p.from_inner).execute(stream, a, b);
  stream.wait();
}

// The data of p's layout: `plain` itself, or an inner copy of it in `holder`.
const float* Inner(const KernelContext& ctx, const DnnlPrim& p, const float* plain, int64_t n, Tensor* holder) {
  if (!p.relayout) return plain;
  *holder = ctx.NewTensor(TensorMeta::Contiguous(DType::kFloat32, Device{}, {n}));
  Relayout(p, true, plain, holder->data<float>());
  return holder->data<float>();
}

struct BatchShape {
  int64_t n, c, s;
  explicit BatchShape(const Tensor& input)
      : n(input.sizes()[0]), c(input.sizes()[1]), s(input.numel() / std::max<int64_t>(1, n * c)) {}
};

std::vector<int64_t> FloatKey(int64_t kind, std::initializer_list<int64_t> ints, float eps, Flags flags) {
  std::vector<int64_t> key{kind, static_cast<int64_t>(flags)};
  key.insert(key.end(), ints.begin(), ints.end());
  int32_t bits;
  std::memcpy(&bits, &eps, sizeof bits);
  key.push_back(bits);
  return key;
}

}  // namespace

bool DnnlBatchNorm(KernelContext& ctx) {
  const Tensor& input = ctx.tensor(0);
  if (!DnnlNnEnabled() || input.dtype() != DType::kFloat32 || input.numel() == 0 || input.dim() < 2) return false;
  Tensor w, b, rm, rv;
  if (!F32Arg(ctx, 1, &w) || !F32Arg(ctx, 2, &b) || !F32Arg(ctx, 3, &rm) || !F32Arg(ctx, 4, &rv)) return false;
  const BatchShape L(input);
  const bool training = ctx.args.get_bool(5);
  const double momentum = ctx.args.get_float(6);
  const float eps = static_cast<float>(ctx.args.get_float(7));
  Flags flags = Flags::none;
  if (w.defined()) flags = flags | Flags::use_scale;
  if (b.defined()) flags = flags | Flags::use_shift;
  if (!training) flags = flags | Flags::use_global_stats;
  auto p = DnnlCached(FloatKey(kBatchNorm, {L.n, L.c, L.s}, eps, flags),
                      [&] { return BuildBatchNorm(L.n, L.c, L.s, eps, flags, false); });
  if (p == nullptr) return false;
  const Tensor x = ContiguousOf(ctx, input);
  Tensor& y = ctx.output(0);
  const bool y_direct = y.is_contiguous();
  Buf ybuf(ctx, y_direct ? 0 : x.numel());
  float* yp = y_direct ? y.data<float>() : ybuf.p;
  Buf mean(ctx, L.c, training ? &ctx.output(1) : nullptr), var(ctx, L.c);
  Tensor x_inner;
  const float* xp = Inner(ctx, *p, x.data<float>(), x.numel(), &x_inner);
  Buf y_inner(ctx, p->relayout ? x.numel() : 0);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, Mem(p->descs[0], xp)},
                                       {DNNL_ARG_DST, Mem(p->descs[0], p->relayout ? y_inner.p : yp)}};
  if (w.defined()) args.insert({DNNL_ARG_SCALE, Mem(p->descs[1], w.data<float>())});
  if (b.defined()) args.insert({DNNL_ARG_SHIFT, Mem(p->descs[1], b.data<float>())});
  if (training) {
    args.insert({{DNNL_ARG_MEAN, Mem(p->descs[1], mean.p)}, {DNNL_ARG_VARIANCE, Mem(p->descs[1], var.p)}});
  } else {
    args.insert({{DNNL_ARG_MEAN, Mem(p->descs[1], rm.data<float>())},
                 {DNNL_ARG_VARIANCE, Mem(p->descs[1], rv.data<float>())}});
  }
  DnnlExecute(*p, std::move(args));
  if (p->relayout) Relayout(*p, false, y_inner.p, yp);
  if (!y_direct) CopyInto(y, ybuf.t.View(TensorMeta::Contiguous(DType::kFloat32, Device{}, y.sizes())));
  if (!training) return true;
  Tensor& mean_out = ctx.output(1);
  if (mean.p != mean_out.data<float>()) CopyInto(mean_out, mean.t);
  Tensor& invstd = ctx.output(2);
  Buf is(ctx, L.c, &invstd);
  for (int64_t ch = 0; ch < L.c; ++ch) is.p[ch] = static_cast<float>(1.0 / std::sqrt(double(var.p[ch]) + eps));
  if (is.p != invstd.data<float>()) CopyInto(invstd, is.t);
  // Running statistics are updated in place (they are inputs, not results),
  // the variance unbiased.
  const double count = double(L.n * L.s);
  for (int i : {3, 4}) {
    if (!ctx.args.values[i].is_tensor()) continue;
    const Tensor& stat = i == 3 ? rm : rv;
    Tensor updated = Filled(ctx, ctx.tensor(i).sizes(), 0.0);
    for (int64_t ch = 0; ch < L.c; ++ch) {
      const double batch = i == 3 ? double(mean.p[ch]) : double(var.p[ch]) * count / (count - 1);
      updated.data<double>()[ch] = (1 - momentum) * double(stat.data<float>()[ch]) + momentum * batch;
    }
    CopyInto(ctx.tensor(i), updated);
  }
  return true;
}

bool DnnlBatchNormBackward(KernelContext& ctx) {
  const Tensor& input = ctx.tensor(1);
  if (!DnnlNnEnabled() || input.dtype() != DType::kFloat32 || ctx.tensor(0).dtype() != DType::kFloat32 || input.numel() == 0 ||
      input.dim() < 2) {
    return false;
  }
  const bool train = ctx.args.get_bool(7);
  const float eps = static_cast<float>(ctx.args.get_float(8));
  Tensor w, mean, stat;
  if (!F32Arg(ctx, 2, &w) || !F32Arg(ctx, train ? 5 : 3, &mean) || !F32Arg(ctx, train ? 6 : 4, &stat)) {
    return false;
  }
  const BatchShape L(input);
  // Always scale and shift (scale 1 without a weight): diff_scale and
  // diff_shift are then grad_weight and grad_bias.
  Flags flags = Flags::use_scale | Flags::use_shift;
  if (!train) flags = flags | Flags::use_global_stats;
  // Training passes the variance as 1/invstd^2 with eps 0: oneDNN then
  // divides by exactly the forward's sqrt(var + eps).
  const float desc_eps = train ? 0.0f : eps;
  auto p = DnnlCached(FloatKey(kBatchNormBack, {L.n, L.c, L.s}, desc_eps, flags),
                      [&] { return BuildBatchNorm(L.n, L.c, L.s, desc_eps, flags, true); });
  if (p == nullptr) return false;
  for (size_t i = 0; i < 3; ++i) ctx.output(i);
  const Tensor x = ContiguousOf(ctx, input), g = ContiguousOf(ctx, ctx.tensor(0));
  Buf scale(ctx, L.c), shift(ctx, L.c), var(ctx, L.c);
  for (int64_t ch = 0; ch < L.c; ++ch) {
    scale.p[ch] = w.defined() ? w.data<float>()[ch] : 1.0f;
    shift.p[ch] = 0.0f;  // read by oneDNN's backward though it does not change a gradient
    const double s = stat.data<float>()[ch];
    var.p[ch] = train ? static_cast<float>(1.0 / (s * s)) : static_cast<float>(s);
  }
  Buf gi(ctx, x.numel(), &ctx.outputs[0]), gw(ctx, L.c, &ctx.outputs[1]), gb(ctx, L.c, &ctx.outputs[2]);
  Tensor x_inner, g_inner;
  const float* xp = Inner(ctx, *p, x.data<float>(), x.numel(), &x_inner);
  const float* gp = Inner(ctx, *p, g.data<float>(), g.numel(), &g_inner);
  Buf gi_inner(ctx, p->relayout ? x.numel() : 0);
  DnnlExecute(*p, {{DNNL_ARG_SRC, Mem(p->descs[0], xp)},
                   {DNNL_ARG_DIFF_DST, Mem(p->descs[0], gp)},
                   {DNNL_ARG_MEAN, Mem(p->descs[1], mean.data<float>())},
                   {DNNL_ARG_VARIANCE, Mem(p->descs[1], var.p)},
                   {DNNL_ARG_SCALE, Mem(p->descs[1], scale.p)},
                   {DNNL_ARG_SHIFT, Mem(p->descs[1], shift.p)},
                   {DNNL_ARG_DIFF_SRC, Mem(p->descs[0], p->relayout ? gi_inner.p : gi.p)},
                   {DNNL_ARG_DIFF_SCALE, Mem(p->descs[1], gw.p)},
                   {DNNL_ARG_DIFF_SHIFT, Mem(p->descs[1], gb.p)}});
  if (p->relayout) Relayout(*p, false, gi_inner.p, gi.p);
  return true;
}

// ---------------------------------------------------------------- layer norm

namespace {

DnnlPrim BuildLayerNorm(int64_t rows, int64_t len, float eps, Flags flags, bool backward) {
  const memory::desc data({rows, len}, kF32, memory::format_tag::ab);
  const memory::desc stat = Vec(rows);
  const auto attr = UserScratch();
  dnnl::layer_normalization_forward::primitive_desc fwd(
      dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_training, data, stat, eps, flags), attr,
      DnnlEngine());
  DnnlPrim p;
  p.descs = {data, stat, Vec(len)};
  if (!backward) {
    p.prim = dnnl::layer_normalization_forward(fwd);
    p.scratch_bytes = fwd.scratchpad_desc().get_size();
  } else {
    dnnl::layer_normalization_backward::primitive_desc bwd(
        dnnl::layer_normalization_backward::desc(
            flags == Flags::none ? dnnl::prop_kind::backward_data : dnnl::prop_kind::backward, data, data, stat,
            eps, flags),
        attr, DnnlEngine(), fwd);
    p.prim = dnnl::layer_normalization_backward(bwd);
    p.scratch_bytes = bwd.scratchpad_desc().get_size();
  }
  return p;
}

}  // namespace

bool DnnlLayerNorm(KernelContext& ctx) {
  const Tensor& input = ctx.tensor(0);
  int64_t len = 1;
  for (int64_t v : ctx.args.get_ints(1)) len *= v;
  if (!DnnlNnEnabled() || input.dtype() != DType::kFloat32 || input.numel() == 0 || len == 0) return false;
  Tensor w, b;
  if (!F32Arg(ctx, 2, &w) || !F32Arg(ctx, 3, &b)) return false;
  const int64_t rows = input.numel() / len;
  const float eps = static_cast<float>(ctx.args.get_float(4));
  Flags flags = Flags::none;
  if (w.defined()) flags = flags | Flags::use_scale;
  if (b.defined()) flags = flags | Flags::use_shift;
  auto p = DnnlCached(FloatKey(kLayerNorm, {rows, len}, eps, flags),
                      [&] { return BuildLayerNorm(rows, len, eps, flags, false); });
  if (p == nullptr) return false;
  for (size_t i = 0; i < 3; ++i) ctx.output(i);
  const Tensor x = ContiguousOf(ctx, input);
  Buf y(ctx, x.numel(), &ctx.outputs[0]), mean(ctx, rows, &ctx.outputs[1]), var(ctx, rows);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, Mem(p->descs[0], x.data<float>())},
                                       {DNNL_ARG_DST, Mem(p->descs[0], y.p)},
                                       {DNNL_ARG_MEAN, Mem(p->descs[1], mean.p)},
                                       {DNNL_ARG_VARIANCE, Mem(p->descs[1], var.p)}};
  if (w.defined()) args.insert({DNNL_ARG_SCALE, Mem(p->descs[2], w.data<float>())});
  if (b.defined()) args.insert({DNNL_ARG_SHIFT, Mem(p->descs[2], b.data<float>())});
  DnnlExecute(*p, std::move(args));
  Buf rstd(ctx, rows, &ctx.outputs[2]);
  for (int64_t r = 0; r < rows; ++r) rstd.p[r] = static_cast<float>(1.0 / std::sqrt(double(var.p[r]) + eps));
  const Tensor* bufs[] = {&y.t, &mean.t, &rstd.t};
  for (size_t i = 0; i < 3; ++i) {
    if (!bufs[i]->defined()) continue;
    CopyInto(ctx.outputs[i], bufs[i]->View(TensorMeta::Contiguous(DType::kFloat32, Device{}, ctx.outputs[i].sizes())));
  }
  return true;
}

bool DnnlLayerNormBackward(KernelContext& ctx) {
  const Tensor& input = ctx.tensor(1);
  int64_t len = 1;
  for (int64_t v : ctx.args.get_ints(2)) len *= v;
  if (!DnnlNnEnabled() || input.dtype() != DType::kFloat32 || ctx.tensor(0).dtype() != DType::kFloat32 || input.numel() == 0 ||
      len == 0 || ctx.tensor(3).dtype() != DType::kFloat32 || ctx.tensor(4).dtype() != DType::kFloat32) {
    return false;
  }
  Tensor w;
  if (!F32Arg(ctx, 5, &w)) return false;
  const int64_t rows = input.numel() / len;
  const float eps = 0.0f;  // unused by the backward: the variance is rebuilt from rstd as 1/rstd^2
  const Flags flags = Flags::use_scale | Flags::use_shift;
  auto p = DnnlCached(FloatKey(kLayerNormBack, {rows, len}, eps, flags),
                      [&] { return BuildLayerNorm(rows, len, eps, flags, true); });
  if (p == nullptr) return false;
  for (size_t i = 0; i < 3; ++i) ctx.output(i);
  const Tensor x = ContiguousOf(ctx, input), g = ContiguousOf(ctx, ctx.tensor(0));
  const Tensor mean = ContiguousOf(ctx, ctx.tensor(3)), rstd = ContiguousOf(ctx, ctx.tensor(4));
  Buf scale(ctx, len), shift(ctx, len), var(ctx, rows);
  for (int64_t j = 0; j < len; ++j) {
    scale.p[j] = w.defined() ? w.data<float>()[j] : 1.0f;
    shift.p[j] = 0.0f;  // read by oneDNN's backward though it does not change a gradient
  }
  for (int64_t r = 0; r < rows; ++r) {
    const double s = rstd.data<float>()[r];
    var.p[r] = static_cast<float>(1.0 / (s * s));
  }
  Buf gi(ctx, x.numel(), &ctx.outputs[0]), gw(ctx, len, &ctx.outputs[1]), gb(ctx, len, &ctx.outputs[2]);
  DnnlExecute(*p, {{DNNL_ARG_SRC, Mem(p->descs[0], x.data<float>())},
                   {DNNL_ARG_DIFF_DST, Mem(p->descs[0], g.data<float>())},
                   {DNNL_ARG_MEAN, Mem(p->descs[1], mean.data<float>())},
                   {DNNL_ARG_VARIANCE, Mem(p->descs[1], var.p)},
                   {DNNL_ARG_SCALE, Mem(p->descs[2], scale.p)},
                   {DNNL_ARG_SHIFT, Mem(p->descs[2], shift.p)},
                   {DNNL_ARG_DIFF_SRC, Mem(p->descs[0], gi.p)},
                   {DNNL_ARG_DIFF_SCALE, Mem(p->descs[2], gw.p)},
                   {DNNL_ARG_DIFF_SHIFT, Mem(p->descs[2], gb.p)}});
  return true;
}

// ---------------------------------------------------------------- group norm

namespace {

// Group norm's layout: input (N, C, HxW) of N * group rows of
// len = C / group * HxW elements; plane (i, ch) holds HxW of them.
struct GroupShape {
  int64_t n, c, hxw, group;
  explicit GroupShape(const KernelContext& ctx, int first)
      : n(ctx.args.get_int(first)), c(ctx.args.get_int(first + 1)), hxw(ctx.args.get_int(first + 2)),
        group(ctx.args.get_int(first + 3)) {}
  int64_t rows() const { return n * group; }
  int64_t len() const { return c / group * hxw; }
  int64_t row_of_plane(int64_t plane) const { return (plane / c) * group + (plane % c) / (c / group); }
};

int64_t PlaneGrain(int64_t hxw) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, hxw)); }

}  // namespace

bool DnnlGroupNorm(KernelContext& ctx) {
  const Tensor& input = ctx.tensor(0);
  const GroupShape L(ctx, 3);
  if (!DnnlNnEnabled() || input.dtype() != DType::kFloat32 || input.numel() == 0 || L.len() == 0) return false;
  Tensor w, b;
  if (!F32Arg(ctx, 1, &w) || !F32Arg(ctx, 2, &b)) return false;
  const float eps = static_cast<float>(ctx.args.get_float(7));
  // oneDNN 2.6 has no group normalisation: layer normalisation of the rows
  // without scale and shift gives xhat, and the per-channel affine follows.
  auto p = DnnlCached(FloatKey(kGroupNorm, {L.rows(), L.len()}, eps, Flags::none),
                      [&] { return BuildLayerNorm(L.rows(), L.len(), eps, Flags::none, false); });
  if (p == nullptr) return false;
  for (size_t i = 0; i < 3; ++i) ctx.output(i);
  const Tensor x = ContiguousOf(ctx, input);
  Buf y(ctx, x.numel(), &ctx.outputs[0]), mean(ctx, L.rows(), &ctx.outputs[1]), var(ctx, L.rows());
  DnnlExecute(*p, {{DNNL_ARG_SRC, Mem(p->descs[0], x.data<float>())},
                   {DNNL_ARG_DST, Mem(p->descs[0], y.p)},
                   {DNNL_ARG_MEAN, Mem(p->descs[1], mean.p)},
                   {DNNL_ARG_VARIANCE, Mem(p->descs[1], var.p)}});
  if (w.defined() || b.defined()) {
    const float* wp = w.defined() ? w.data<float>() : nullptr;
    const float* bp = b.defined() ? b.data<float>() : nullptr;
    ParallelFor(L.n * L.c, PlaneGrain(L.hxw), [&](int64_t lo, int64_t hi) {
      for (int64_t plane = lo; plane < hi; ++plane) {
        const int64_t ch = plane % L.c;
        const float scale = wp != nullptr ? wp[ch] : 1.0f, shift = bp != nullptr ? bp[ch] : 0.0f;
        float* yp = y.p + plane * L.hxw;
        for (int64_t k = 0; k < L.hxw; ++k) yp[k] = yp[k] * scale + shift;
      }
    });
  }
  Buf rstd(ctx, L.rows(), &ctx.outputs[2]);
  for (int64_t r = 0; r < L.rows(); ++r) rstd.p[r] = static_cast<float>(1.0 / std::sqrt(double(var.p[r]) + eps));
  const Tensor* bufs[] = {&y.t, &mean.t, &rstd.t};
  for (size_t i = 0; i < 3; ++i) {
    if (!bufs[i]->defined()) continue;
    CopyInto(ctx.outputs[i], bufs[i]->View(TensorMeta::Contiguous(DType::kFloat32, Device{}, ctx.outputs[i].sizes())));
  }
  return true;
}

bool DnnlGroupNormBackward(KernelContext& ctx) {
  const Tensor& input = ctx.tensor(1);
  const GroupShape L(ctx, 5);
  if (!DnnlNnEnabled() || input.dtype() != DType::kFloat32 || ctx.tensor(0).dtype() != DType::kFloat32 ||
      ctx.tensor(2).dtype() != DType::kFloat32 || ctx.tensor(3).dtype() != DType::kFloat32 || input.numel() == 0 ||
      L.len() == 0) {
    return false;
  }
  Tensor w;
  if (!F32Arg(ctx, 4, &w)) return false;
  auto p = DnnlCached(FloatKey(kGroupNormBack, {L.rows(), L.len()}, 0.0f, Flags::none),
                      [&] { return BuildLayerNorm(L.rows(), L.len(), 0.0f, Flags::none, true); });
  if (p == nullptr) return false;
  for (size_t i = 0; i < 3; ++i) ctx.output(i);
  const Tensor x = ContiguousOf(ctx, input), g = ContiguousOf(ctx, ctx.tensor(0));
  const Tensor mean = ContiguousOf(ctx, ctx.tensor(2)), rstd = ContiguousOf(ctx, ctx.tensor(3));
  const float* xp = x.data<float>();
  const float* gp = g.data<float>();
  const float* mp = mean.data<float>();
  const float* rp = rstd.data<float>();
  const int64_t planes = L.n * L.c;
  if (ctx.outputs[0].numel() == x.numel()) {
    // grad_input is layer norm's input gradient of grad * weight[channel].
    Buf gw(ctx, w.defined() ? x.numel() : 0);
    if (w.defined()) {
      const float* wp = w.data<float>();
      ParallelFor(planes, PlaneGrain(L.hxw), [&](int64_t lo, int64_t hi) {
        for (int64_t plane = lo; plane < hi; ++plane) {
          const float s = wp[plane % L.c];
          for (int64_t k = plane * L.hxw, e = k + L.hxw; k < e; ++k) gw.p[k] = gp[k] * s;
        }
      });
    }
    Buf var(ctx, L.rows()), gi(ctx, x.numel(), &ctx.outputs[0]);
    for (int64_t r = 0; r < L.rows(); ++r) var.p[r] = static_cast<float>(1.0 / (double(rp[r]) * rp[r]));
    DnnlExecute(*p, {{DNNL_ARG_SRC, Mem(p->descs[0], xp)},
                     {DNNL_ARG_DIFF_DST, Mem(p->descs[0], w.defined() ? gw.p : gp)},
                     {DNNL_ARG_MEAN, Mem(p->descs[1], mp)},
                     {DNNL_ARG_VARIANCE, Mem(p->descs[1], var.p)},
                     {DNNL_ARG_DIFF_SRC, Mem(p->descs[0], gi.p)}});
    if (gi.t.defined()) CopyInto(ctx.outputs[0], gi.t.View(TensorMeta::Contiguous(DType::kFloat32, Device{}, x.sizes())));
  }
  if (ctx.outputs[1].numel() != L.c && ctx.outputs[2].numel() != L.c) return true;
  // grad_weight[ch] = sum over (i, k) of g * xhat, grad_bias[ch] = sum of g:
  // per plane sum(g) and sum(g * x) in double, then xhat's affine per row.
  std::vector<double> sum_g(planes), sum_gx(planes);
  ParallelFor(planes, PlaneGrain(L.hxw), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      // Independent lanes, so the adds pipeline (and vectorise).
      constexpr int kLanes = 8;
      double sg[kLanes] = {}, sgx[kLanes] = {};
      const float* g0 = gp + plane * L.hxw;
      const float* x0 = xp + plane * L.hxw;
      int64_t k = 0;
      for (; k + kLanes <= L.hxw; k += kLanes) {
        for (int j = 0; j < kLanes; ++j) {
          sg[j] += g0[k + j];
          sgx[j] += double(g0[k + j]) * x0[k + j];
        }
      }
      for (; k < L.hxw; ++k) {
        sg[0] += g0[k];
        sgx[0] += double(g0[k]) * x0[k];
      }
      sum_g[plane] = sum_gx[plane] = 0;
      for (int j = 0; j < kLanes; ++j) {
        sum_g[plane] += sg[j];
        sum_gx[plane] += sgx[j];
      }
    }
  });
  Tensor gw = Filled(ctx, {L.c}, 0.0), gb = Filled(ctx, {L.c}, 0.0);
  double* gwp = gw.data<double>();
  double* gbp = gb.data<double>();
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t ch = plane % L.c, r = L.row_of_plane(plane);
    gwp[ch] += double(rp[r]) * (sum_gx[plane] - double(mp[r]) * sum_g[plane]);
    gbp[ch] += sum_g[plane];
  }
  if (ctx.outputs[1].numel() == L.c) CopyInto(ctx.outputs[1], gw);
  if (ctx.outputs[2].numel() == L.c) CopyInto(ctx.outputs[2], gb);
  return true;
}

}  // namespace tensord
