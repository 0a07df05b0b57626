// convolution and convolution_backward. float32 runs on oneDNN's
// convolution primitives (forward, backward data, backward weights; cached
// by shape), other dtypes on the direct loops of conv_direct.h. A
// transposed convolution is the plain one with image and cols swapped:
// its forward is the plain backward-data, its input gradient the plain
// forward, and its weight gradient the plain one with the roles swapped.
#include <dnnl.hpp>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/dnnl_util.h"
#include "kernels/cpu/nn_util.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

enum class Pass { kForward, kBackwardData, kBackwardWeight };

// ---------------------------------------------------------------- oneDNN

using dnnl::memory;

// One pass's primitive. It may want blocked layouts: role r (0 image,
// 1 weight, 2 cols) then goes through a reorder from (inputs) or to
// (the output) the plain layout `plain[r]`.
struct DnnlPrimitive {
  dnnl::primitive prim;
  std::array<memory::desc, 3> plain, chosen;
  std::array<bool, 3> reorder{false, false, false};
  std::array<dnnl::reorder, 3> reorders;
  memory::desc bias;
  size_t scratch_bytes = 0;
};

dnnl::engine& Engine() { return DnnlEngine(); }

memory::dims Dims(std::initializer_list<int64_t> head, const std::array<int64_t, 3>& sp, int spatial) {
  memory::dims d(head.begin(), head.end());
  for (int i = 3 - spatial; i < 3; ++i) d.push_back(sp[i]);
  return d;
}

memory::format_tag DataTag(int spatial) {
  return spatial == 1 ? memory::format_tag::ncw : spatial == 2 ? memory::format_tag::nchw
                                                              : memory::format_tag::ncdhw;
}

memory::format_tag WeightTag(int spatial, bool grouped) {
  if (grouped) {
    return spatial == 1 ? memory::format_tag::goiw : spatial == 2 ? memory::format_tag::goihw
                                                                 : memory::format_tag::goidhw;
  }
  return spatial == 1 ? memory::format_tag::oiw : spatial == 2 ? memory::format_tag::oihw
                                                              : memory::format_tag::oidhw;
}

// The role (0 image, 1 weight, 2 cols) a pass writes.
int OutputRole(Pass pass) {
  return pass == Pass::kForward ? 2 : pass == Pass::kBackwardData ? 0 : 1;
}

// Builds the primitive of one pass, letting oneDNN pick its layouts (its
// fast kernels want blocked ones); a forward with_bias adds OC biases.
DnnlPrimitive Build(const ConvGeometry& g, Pass pass, bool with_bias) {
  const int sp = g.spatial;
  const auto f32 = memory::data_type::f32;
  const auto any = memory::format_tag::any;
  const bool grouped = g.groups > 1;
  const memory::dims id = Dims({g.n, g.c}, g.in, sp), cd = Dims({g.n, g.oc}, g.out, sp);
  const memory::dims wd = grouped ? Dims({g.groups, g.oc / g.groups, g.c / g.groups}, g.k, sp)
                                  : Dims({g.oc, g.c}, g.k, sp);
  DnnlPrimitive p;
  p.plain = {memory::desc(id, f32, DataTag(sp)), memory::desc(wd, f32, WeightTag(sp, grouped)),
             memory::desc(cd, f32, DataTag(sp))};
  const memory::desc image(id, f32, any), weight(wd, f32, any), cols(cd, f32, any);
  memory::dims strides, dilates, pad_l, pad_r;
  for (int i = 3 - sp; i < 3; ++i) {
    strides.push_back(g.stride[i]);
    dilates.push_back(g.dil[i] - 1);
    pad_l.push_back(g.pad[i]);
    // The right padding that makes (in + pad_l + pad_r - dk) / s + 1 == out exactly.
    pad_r.push_back((g.out[i] - 1) * g.stride[i] + (g.k[i] - 1) * g.dil[i] + 1 - g.in[i] - g.pad[i]);
  }
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto alg = dnnl::algorithm::convolution_direct;
  p.bias = memory::desc({g.oc}, f32, memory::format_tag::x);
  auto fwd = with_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, image,
                                                         weight, p.bias, cols, strides, dilates, pad_l, pad_r)
                       : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, image,
                                                         weight, cols, strides, dilates, pad_l, pad_r);
  dnnl::convolution_forward::primitive_desc fwd_pd(fwd, attr, Engine());
  if (pass == Pass::kForward) {
    p.prim = dnnl::convolution_forward(fwd_pd);
    p.chosen = {fwd_pd.src_desc(), fwd_pd.weights_desc(), fwd_pd.dst_desc()};
    p.scratch_bytes = fwd_pd.scratchpad_desc().get_size();
  } else if (pass == Pass::kBackwardData) {
    dnnl::convolution_backward_data::desc bd(alg, image, weight, cols, strides, dilates, pad_l, pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(bd, attr, Engine(), fwd_pd);
    p.prim = dnnl::convolution_backward_data(pd);
    p.chosen = {pd.diff_src_desc(), pd.weights_desc(), pd.diff_dst_desc()};
    p.scratch_bytes = pd.scratchpad_desc().get_size();
  } else {
    dnnl::convolution_backward_weights::desc bw(alg, image, weight, cols, strides, dilates, pad_l, pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(bw, attr, Engine(), fwd_pd);
    p.prim = dnnl::convolution_backward_weights(pd);
    p.chosen = {pd.src_desc(), pd.diff_weights_desc(), pd.diff_dst_desc()};
    p.scratch_bytes = pd.scratchpad_desc().get_size();
  }
  for (int r = 0; r < 3; ++r) {
    p.reorder[r] = p.chosen[r] != p.plain[r];
    if (!p.reorder[r]) continue;
    const bool out = r == OutputRole(pass);
    p.reorders[r] = out ? dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), p.chosen[r], Engine(), p.plain[r]))
                        : dnnl::reorder(dnnl::reorder::primitive_desc(Engine(), p.plain[r], Engine(), p.chosen[r]));
  }
  return p;
}

// Primitives by (pass, bias, geometry): building a descriptor costs far
// more than a small convolution. Cleared when full; a miss only rebuilds.
std::shared_ptr<const DnnlPrimitive> Cached(const ConvGeometry& g, Pass pass, bool with_bias) {
  static std::mutex mu;
  static auto* cache = new std::map<std::vector<int64_t>, std::shared_ptr<const DnnlPrimitive>>();
  std::vector<int64_t> key{static_cast<int64_t>(pass), with_bias, g.spatial, g.n, g.c, g.oc, g.groups};
  for (const auto* a : {&g.in, &g.out, &g.k, &g.stride, &g.pad, &g.dil}) key.insert(key.end(), a->begin(), a->end());
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  if (cache->size() >= 256) cache->clear();
  try {
    auto p = std::make_shared<const DnnlPrimitive>(Build(g, pass, with_bias));
    cache->emplace(std::move(key), p);
    return p;
  } catch (const dnnl::error&) {
    return nullptr;  // a geometry oneDNN refuses: the direct loops take it
  }
}

// Runs one pass on oneDNN (a forward adds bias unless it is null); false
// when oneDNN has no primitive for it.
bool RunDnnl(const ConvGeometry& g, Pass pass, const float* image, const float* weight,
             const float* cols, const float* bias) {
  const std::shared_ptr<const DnnlPrimitive> p = Cached(g, pass, bias != nullptr);
  if (p == nullptr) return false;
  dnnl::engine& eng = Engine();
  dnnl::stream stream(eng);
  const float* data[3] = {image, weight, cols};
  memory plain[3], used[3];
  std::vector<char> blocked[3];
  for (int r = 0; r < 3; ++r) {
    plain[r] = memory(p->plain[r], eng, const_cast<float*>(data[r]));
    if (!p->reorder[r]) {
      used[r] = plain[r];
      continue;
    }
    blocked[r].resize(p->chosen[r].get_size());
    used[r] = memory(p->chosen[r], eng, blocked[r].data());
    if (r != OutputRole(pass)) p->reorders[r].execute(stream, plain[r], used[r]);
  }
  std::vector<char> scratch(p->scratch_bytes);
  memory sc(dnnl::memory::desc({static_cast<int64_t>(scratch.size())}, memory::data_type::u8,
                               memory::format_tag::x),
            eng, scratch.data());
  std::unordered_map<int, memory> argv{{DNNL_ARG_SCRATCHPAD, sc}};
  if (pass == Pass::kForward) {
    argv.insert({{DNNL_ARG_SRC, used[0]}, {DNNL_ARG_WEIGHTS, used[1]}, {DNNL_ARG_DST, used[2]}});
    if (bias != nullptr) argv.insert({DNNL_ARG_BIAS, memory(p->bias, eng, const_cast<float*>(bias))});
  } else if (pass == Pass::kBackwardData) {
    argv.insert({{DNNL_ARG_DIFF_SRC, used[0]}, {DNNL_ARG_WEIGHTS, used[1]}, {DNNL_ARG_DIFF_DST, used[2]}});
  } else {
    argv.insert({{DNNL_ARG_SRC, used[0]}, {DNNL_ARG_DIFF_WEIGHTS, used[1]}, {DNNL_ARG_DIFF_DST, used[2]}});
  }
  p->prim.execute(stream, argv);
  const int out = OutputRole(pass);
  if (p->reorder[out]) p->reorders[out].execute(stream, used[out], plain[out]);
  stream.wait();
  return true;
}

// ---------------------------------------------------------------- dispatch

// One pass of the plain convolution: writes the pass's result (cols for
// kForward, image for kBackwardData, weight for kBackwardWeight). Returns
// whether it also added `bias` (a contiguous forward bias, or null).
bool RunPass(const KernelContext& ctx, const ConvGeometry& g, Pass pass, const Tensor& image,
             const Tensor& weight, const Tensor& cols, const Tensor* bias = nullptr) {
  const bool all_nonempty = g.image_numel() > 0 && g.cols_numel() > 0 && weight.numel() > 0;
  if (image.dtype() == DType::kFloat32 && all_nonempty &&
      RunDnnl(g, pass, image.data<float>(), weight.data<float>(), cols.data<float>(),
              bias != nullptr ? bias->data<float>() : nullptr)) {
    return bias != nullptr;
  }
  DispatchNumeric(image.dtype(), ctx.op.name, [&]<typename T>() {
    if (pass == Pass::kForward) {
      conv_direct::Forward<T>(g, image.data<T>(), weight.data<T>(), cols.data<T>());
    } else if (pass == Pass::kBackwardData) {
      conv_direct::BackwardData<T>(g, cols.data<T>(), weight.data<T>(), image.data<T>());
    } else {
      conv_direct::BackwardWeight<T>(g, image.data<T>(), cols.data<T>(), weight.data<T>());
    }
  });
  return false;
}

// out[:, ch, ...] += b[ch] for contiguous out and b.
void AddBias(const KernelContext& ctx, const Tensor& out, const Tensor& b) {
  const int64_t n = out.sizes()[0], ch = out.sizes()[1], area = out.numel() / std::max<int64_t>(1, n * ch);
  DispatchNumeric(out.dtype(), ctx.op.name, [&]<typename T>() {
    T* o = out.data<T>();
    const T* bp = b.data<T>();
    ParallelFor(n * ch, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, area)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const opmath_t<T> bv = static_cast<opmath_t<T>>(bp[r % ch]);
        T* row = o + r * area;
        for (int64_t j = 0; j < area; ++j) row[j] = Convert<T>(static_cast<opmath_t<T>>(static_cast<opmath_t<T>>(row[j]) + bv));
      }
    });
  });
}

// out[ch] = sum of grad[:, ch, ...] for a contiguous grad.
void SumChannels(const KernelContext& ctx, const Tensor& grad, const Tensor& out) {
  const int64_t n = grad.sizes()[0], ch = grad.sizes()[1], area = grad.numel() / std::max<int64_t>(1, n * ch);
  DispatchNumeric(out.dtype(), ctx.op.name, [&]<typename T>() {
    using M = std::conditional_t<std::is_floating_point_v<opmath_t<T>>, double, opmath_t<T>>;
    const T* gp = grad.data<T>();
    T* o = out.data<T>();
    ParallelFor(ch, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        M s = 0;
        for (int64_t i = 0; i < n; ++i) {
          const T* row = gp + (i * ch + c) * area;
          for (int64_t j = 0; j < area; ++j) s += static_cast<M>(static_cast<opmath_t<T>>(row[j]));
        }
        o[c] = Convert<T>(static_cast<opmath_t<T>>(s));
      }
    });
  });
}

void ConvolutionKernel(KernelContext& ctx) {
  const ConvGeometry g = ParseConvolution(ctx.op, ctx.args, 0);
  Tensor& out = ctx.output(0);
  if (out.numel() == 0) return;
  const Tensor input = ContiguousOf(ctx, ctx.tensor(0));
  const Tensor weight = ContiguousOf(ctx, ctx.tensor(1));
  const bool has_bias = !ctx.args.is_none(2);
  const Tensor bias = has_bias ? ContiguousOf(ctx, ctx.tensor(2)) : Tensor();
  bool bias_done = false;
  if (g.transposed) {
    RunPass(ctx, g, Pass::kBackwardData, out, weight, input);
  } else {
    bias_done = RunPass(ctx, g, Pass::kForward, input, weight, out, has_bias ? &bias : nullptr);
  }
  if (has_bias && !bias_done) AddBias(ctx, out, bias);
}

void ConvolutionBackwardKernel(KernelContext& ctx) {
  const Shape bias_sizes = ctx.args.is_none(3)
                               ? Shape{}
                               : Shape(ctx.args.get_ints(3).begin(), ctx.args.get_ints(3).end());
  const ConvGeometry g = ParseConvolution(ctx.op, ctx.args, 1, ctx.args.is_none(3) ? nullptr : &bias_sizes);
  const std::vector<int64_t>& mask = ctx.args.get_ints(10);
  for (size_t i = 0; i < 3; ++i) ctx.output(i);
  const Tensor grad = ContiguousOf(ctx, ctx.tensor(0));
  const Tensor input = ContiguousOf(ctx, ctx.tensor(1));
  const Tensor weight = ContiguousOf(ctx, ctx.tensor(2));
  if (mask[0] && ctx.outputs[0].numel() > 0) {
    if (g.transposed) {
      RunPass(ctx, g, Pass::kForward, grad, weight, ctx.outputs[0]);
    } else {
      RunPass(ctx, g, Pass::kBackwardData, ctx.outputs[0], weight, grad);
    }
  }
  if (mask[1] && ctx.outputs[1].numel() > 0) {
    if (g.transposed) {
      RunPass(ctx, g, Pass::kBackwardWeight, grad, ctx.outputs[1], input);
    } else {
      RunPass(ctx, g, Pass::kBackwardWeight, input, ctx.outputs[1], grad);
    }
  }
  if (mask[2] && ctx.outputs[2].numel() > 0) SumChannels(ctx, grad, ctx.outputs[2]);
}

}  // namespace

void RegisterPoolKernels(KernelRegistry& r);
void RegisterResampleKernels(KernelRegistry& r);

void RegisterConvKernels(KernelRegistry& r) {
  r.Register("convolution", Device::Kind::kCPU, &ConvolutionKernel);
  r.Register("convolution_backward", Device::Kind::kCPU, &ConvolutionBackwardKernel);
  RegisterPoolKernels(r);
  RegisterResampleKernels(r);
}

}  // namespace tensord
