// Metadata rules of 2-d pooling (max, average, adaptive) and their
// backward ops, with ATen 1.13's checks in its order.
#include "kernels/meta/conv_geometry.h"
#include "kernels/meta/rule_util.h"
#include "kernels/meta/torch_names.h"

namespace tensord {
namespace {

// ATen's pooling_output_shape (floor division; ceil_mode drops a window
// that would start in the right padding).
int64_t PoolOut(std::string_view op, int64_t in, int64_t k, int64_t pad, int64_t stride,
                int64_t dil, bool ceil_mode) {
  TD_CHECK(stride != 0, kRuntime, "[", op, "] stride should not be zero");
  TD_CHECK(pad >= 0, kRuntime, "[", op, "] pad must be non-negative, but got pad: ", pad);
  TD_CHECK(pad <= k / 2, kRuntime, "[", op, "] pad should be at most half of kernel size, but got pad=",
           pad, " and kernel_size=", k);
  const int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// Floating dtypes (and for avg_pool2d int64) as in PyTorch's CPU kernels.
void CheckPoolDType(std::string_view op, std::string_view kernel, DType d, bool allow_long) {
  const bool ok = d == DType::kFloat32 || d == DType::kFloat64 || d == DType::kBFloat16 ||
                  (allow_long && d == DType::kInt64);
  TD_CHECK(ok, kRuntime, "[", op, "] \"", kernel, "\" not implemented for '", TorchTypeName(d), "'");
}

Shape Ints(const OpArgs& args, int pos) {
  const auto& v = args.get_ints(pos);
  return Shape(v.begin(), v.end());
}

}  // namespace

Shape Pool2dGeometry::OutputSizes() const {
  return batched ? Shape{n, c, oh, ow} : Shape{c, oh, ow};
}

Pool2dGeometry ParsePool2d(const OpSchema& op, const OpArgs& args, std::string_view forward,
                           int self_pos) {
  const std::string& name = op.name;
  const bool is_max = forward == "max_pool2d_with_indices";
  const std::string_view fn = is_max ? "max_pool2d" : "avg_pool2d";
  const TensorMeta& in = args.tensor(self_pos);
  const auto& ks = args.get_ints(self_pos + 1);
  const auto& st = args.get_ints(self_pos + 2);
  const auto& pd = args.get_ints(self_pos + 3);
  TD_CHECK(ks.size() == 1 || ks.size() == 2, kRuntime, "[", name, "] ", fn,
           ": kernel_size must either be a single int, or a tuple of two ints");
  TD_CHECK(st.empty() || st.size() == 1 || st.size() == 2, kRuntime, "[", name, "] ", fn,
           ": stride must either be omitted, a single int, or a tuple of two ints");
  TD_CHECK(pd.size() == 1 || pd.size() == 2, kRuntime, "[", name, "] ", fn,
           ": padding must either be a single int, or a tuple of two ints");
  Pool2dGeometry g;
  g.kh = ks[0];
  g.kw = ks.size() == 2 ? ks[1] : ks[0];
  g.sh = st.empty() ? g.kh : st[0];
  g.sw = st.empty() ? g.kw : st.size() == 2 ? st[1] : st[0];
  g.ph = pd[0];
  g.pw = pd.size() == 2 ? pd[1] : pd[0];
  bool ceil_mode;
  if (is_max) {
    const auto& dl = args.get_ints(self_pos + 4);
    TD_CHECK(dl.size() == 1 || dl.size() == 2, kRuntime, "[", name,
             "] max_pool2d: dilation must be either a single int, or a tuple of two ints");
    g.dh = dl[0];
    g.dw = dl.size() == 2 ? dl[1] : dl[0];
    ceil_mode = args.get_bool(self_pos + 5);
    TD_CHECK(in.dim() == 3 || in.dim() == 4, kRuntime, "[", name,
             "] non-empty 3D or 4D (batch mode) tensor expected for input");
  } else {
    ceil_mode = args.get_bool(self_pos + 4);
    const int dpos = self_pos + 6;
    TD_CHECK(args.is_none(dpos) || args.get_int(dpos) != 0, kRuntime, "[", name,
             "] divisor must be not zero");
    WrapDim(-3, in.dim());  // avg_pool2d reads size(-3) first: IndexError below 3 dims
    TD_CHECK(in.dim() == 3 || in.dim() == 4, kRuntime, "[", name,
             "] non-empty 3D or 4D (batch mode) tensor expected for input");
  }
  g.batched = in.dim() == 4;
  const int b = g.batched ? 1 : 0;
  g.n = g.batched ? in.sizes[0] : 1;
  g.c = in.sizes[b];
  g.ih = in.sizes[b + 1];
  g.iw = in.sizes[b + 2];
  g.oh = PoolOut(name, g.ih, g.kh, g.ph, g.sh, g.dh, ceil_mode);
  g.ow = PoolOut(name, g.iw, g.kw, g.pw, g.sw, g.dw, ceil_mode);
  // pool2d_shape_check
  TD_CHECK(g.kw > 0 && g.kh > 0, kRuntime, "[", name,
           "] kernel size should be greater than zero, but got kH: ", g.kh, " kW: ", g.kw);
  TD_CHECK(g.sw > 0 && g.sh > 0, kRuntime, "[", name,
           "] stride should be greater than zero, but got dH: ", g.sh, " dW: ", g.sw);
  TD_CHECK(g.dh > 0 && g.dw > 0, kRuntime, "[", name,
           "] dilation should be greater than zero, but got dilationH: ", g.dh, " dilationW: ", g.dw);
  const bool valid = in.sizes[1] != 0 && in.sizes[2] != 0;
  TD_CHECK((in.dim() == 3 && in.sizes[0] != 0 && valid) || (in.dim() == 4 && valid && in.sizes[3] != 0),
           kRuntime, "[", name,
           "] Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:",
           ShapeStr(in.sizes));
  TD_CHECK(g.ow >= 1 && g.oh >= 1, kRuntime, "[", name, "] Given input size: (", g.c, "x", g.ih, "x",
           g.iw, "). Calculated output size: (", g.c, "x", g.oh, "x", g.ow, "). Output size is too small");
  CheckPoolDType(name, fn, in.dtype, !is_max);
  return g;
}

Pool2dGeometry ParseAdaptivePool2d(const OpSchema& op, const OpArgs& args,
                                   std::string_view forward, int self_pos, int grad_pos) {
  const std::string& name = op.name;
  const bool is_max = forward == "adaptive_max_pool2d";
  const TensorMeta& in = args.tensor(self_pos);
  const int64_t nd = in.dim();
  Shape osz;
  if (grad_pos >= 0) {
    const TensorMeta& grad = args.tensor(grad_pos);
    TD_CHECK(grad.dim() == nd && nd >= 2, kRuntime, "[", name, "] expected grad_output of ", nd,
             " dims, but got ", ShapeStr(grad.sizes));
    osz = {grad.sizes[nd - 2], grad.sizes[nd - 1]};
  } else {
    osz = Ints(args, self_pos + 1);
  }
  if (!is_max) {
    TD_CHECK(osz.size() == 2, kRuntime, "[", name, "] adaptive_avg_pool2d: output_size must be 2");
    TD_CHECK(osz[0] >= 0 && osz[1] >= 0, kRuntime, "[", name,
             "] adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 "
             "but received {", osz[0], ", ", osz[1], "}");
    TD_CHECK(nd == 3 || nd == 4, kRuntime, "[", name,
             "] adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got ", ShapeStr(in.sizes));
    for (int64_t i : {nd - 2, nd - 1}) {
      TD_CHECK(in.sizes[i] > 0, kRuntime, "[", name,
               "] adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch "
               "dimensions, but input has sizes ", ShapeStr(in.sizes), " with dimension ", i,
               " being empty");
    }
  } else {
    TD_CHECK(nd == 3 || nd == 4, kRuntime, "[", name,
             "] adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: ", ShapeStr(in.sizes));
    for (int64_t i = 1; i < nd; ++i) {
      TD_CHECK(in.sizes[i] > 0, kRuntime, "[", name,
               "] adaptive_max_pool2d(): Expected input to have non-zero size for non-batch "
               "dimensions, but input has sizes ", ShapeStr(in.sizes), " with dimension ", i,
               " being empty");
    }
    TD_CHECK(osz.size() == 2, kRuntime, "[", name,
             "] adaptive_max_pool2d(): internal error: output_size.size() must be 2");
    TD_CHECK(osz[0] >= 0 && osz[1] >= 0, kRuntime, "[", name,
             "] adaptive_max_pool2d(): elements of output_size must be greater than or equal to 0 "
             "but received {", osz[0], ", ", osz[1], "}");
  }
  Pool2dGeometry g;
  g.batched = nd == 4;
  const int b = g.batched ? 1 : 0;
  g.n = g.batched ? in.sizes[0] : 1;
  g.c = in.sizes[b];
  g.ih = in.sizes[b + 1];
  g.iw = in.sizes[b + 2];
  g.oh = osz[0];
  g.ow = osz[1];
  CheckPoolDType(name, forward, in.dtype, false);
  return g;
}

namespace rules {

// (values, indices) of max_pool2d_with_indices, or avg_pool2d's values.
void max_pool2d(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  Pool2dGeometry g = ParsePool2d(op, args, "max_pool2d_with_indices", 0);
  outs.push_back(TensorMeta::Contiguous(args.tensor(0).dtype, dev, g.OutputSizes()));
  outs.push_back(TensorMeta::Contiguous(DType::kInt64, dev, g.OutputSizes()));
}

void avg_pool2d(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  Pool2dGeometry g = ParsePool2d(op, args, "avg_pool2d", 0);
  outs.push_back(TensorMeta::Contiguous(args.tensor(0).dtype, dev, g.OutputSizes()));
}

namespace {

void CheckGrad(const OpSchema& op, const TensorMeta& grad, const TensorMeta& self, const Shape& want) {
  TD_CHECK(grad.sizes == want, kRuntime, "[", op.name, "] expected grad_output of size ",
           ShapeStr(want), ", but got ", ShapeStr(grad.sizes));
  TD_CHECK(grad.dtype == self.dtype, kRuntime, "[", op.name, "] expected scalar type ",
           TorchTypeName(self.dtype), " but found ", TorchTypeName(grad.dtype));
}

void CheckIndices(const OpSchema& op, const TensorMeta& idx, const Shape& want) {
  TD_CHECK(idx.dtype == DType::kInt64 && idx.sizes == want, kRuntime, "[", op.name,
           "] expected int64 indices of size ", ShapeStr(want), ", but got ",
           DTypeName(idx.dtype), " of size ", ShapeStr(idx.sizes));
}

}  // namespace

// Gradients have self's sizes and dtype; grad_output must match the forward.
void max_pool2d_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  Pool2dGeometry g = ParsePool2d(op, args, "max_pool2d_with_indices", 1);
  CheckGrad(op, args.tensor(0), args.tensor(1), g.OutputSizes());
  CheckIndices(op, args.tensor(7), g.OutputSizes());
  outs.push_back(TensorMeta::Contiguous(args.tensor(1).dtype, dev, args.tensor(1).sizes));
}

void avg_pool2d_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  Pool2dGeometry g = ParsePool2d(op, args, "avg_pool2d", 1);
  CheckGrad(op, args.tensor(0), args.tensor(1), g.OutputSizes());
  outs.push_back(TensorMeta::Contiguous(args.tensor(1).dtype, dev, args.tensor(1).sizes));
}

// adaptive_avg_pool2d (values) and adaptive_max_pool2d (values, indices).
void adaptive_pool2d(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  Pool2dGeometry g = ParseAdaptivePool2d(op, args, op.name, 0);
  outs.push_back(TensorMeta::Contiguous(args.tensor(0).dtype, dev, g.OutputSizes()));
  if (op.name == "adaptive_max_pool2d") {
    outs.push_back(TensorMeta::Contiguous(DType::kInt64, dev, g.OutputSizes()));
  }
}

void adaptive_pool2d_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  const bool is_max = op.name == "adaptive_max_pool2d_backward";
  Pool2dGeometry g = ParseAdaptivePool2d(op, args, is_max ? "adaptive_max_pool2d" : "adaptive_avg_pool2d",
                                         1, 0);
  CheckGrad(op, args.tensor(0), args.tensor(1), g.OutputSizes());
  if (is_max) CheckIndices(op, args.tensor(2), g.OutputSizes());
  outs.push_back(TensorMeta::Contiguous(args.tensor(1).dtype, dev, args.tensor(1).sizes));
}

}  // namespace rules
}  // namespace tensord
