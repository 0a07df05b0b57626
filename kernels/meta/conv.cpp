// Metadata rules of convolution and convolution_backward, and the shared
// parse of a convolution's geometry (ATen's check_shape_forward, in order).
#include <sstream>

#include "kernels/meta/conv_geometry.h"
#include "kernels/meta/rule_util.h"
#include "kernels/meta/torch_names.h"

namespace tensord {
namespace {

// c10's C++ type names, as the bias check prints them.
const char* CppTypeName(DType d) {
  switch (d) {
    case DType::kBool: return "bool";
    case DType::kUInt8: return "unsigned char";
    case DType::kInt8: return "signed char";
    case DType::kInt16: return "short int";
    case DType::kInt32: return "int";
    case DType::kInt64: return "long int";
    case DType::kFloat16: return "c10::Half";
    case DType::kBFloat16: return "c10::BFloat16";
    case DType::kFloat32: return "float";
    case DType::kFloat64: return "double";
  }
  return "?";
}

std::string IntsStr(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

// ATen's expand_param_if_needed: one value stands for every spatial dim.
std::vector<int64_t> Expand(const OpSchema& op, const OpArgs& args, int pos, const char* name,
                            int dims) {
  const std::vector<int64_t>& v = args.get_ints(pos);
  if (v.size() == 1) return std::vector<int64_t>(dims, v[0]);
  TD_CHECK(static_cast<int>(v.size()) == dims, kRuntime, "[", op.name, "] expected ", name,
           " to be a single integer value or a list of ", dims,
           " values to match the convolution dimensions, but got ", name, "=", IntsStr(v));
  return v;
}

std::string JoinX(const std::vector<int64_t>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? " x " : "") << v[i];
  return os.str();
}

}  // namespace

Shape ConvGeometry::OutputSizes() const {
  Shape s{n, transposed ? c : oc};
  for (int i = 3 - spatial; i < 3; ++i) s.push_back(transposed ? in[i] : out[i]);
  return s;
}

ConvGeometry ParseConvolution(const OpSchema& op, const OpArgs& args, int first,
                              const Shape* bias_sizes) {
  const std::string& name = op.name;
  const TensorMeta& input = args.tensor(first);
  const TensorMeta& weight = args.tensor(first + 1);
  const TensorMeta* bias = (bias_sizes == nullptr && !args.is_none(first + 2))
                               ? &args.tensor(first + 2) : nullptr;
  const bool transposed = args.get_bool(first + 6);
  const int64_t groups = args.get_int(first + 8);
  TD_CHECK(bias == nullptr || bias->dtype == input.dtype, kRuntime, "[", name, "] Input type (",
           CppTypeName(input.dtype), ") and bias type (", CppTypeName(bias->dtype),
           ") should be the same");
  const int64_t dims = weight.dim() - 2;
  TD_CHECK(dims > 0, kRuntime, "[", name, "] weight should have at least three dimensions");
  TD_CHECK(groups > 0, kRuntime, "[", name, "] non-positive groups is not supported");
  TD_CHECK(dims <= 3, kNotImplemented, "[", name, "] only 1-d, 2-d and 3-d convolutions exist, got a ",
           weight.dim(), "-d weight");
  const int d = static_cast<int>(dims);
  auto stride = Expand(op, args, first + 3, "stride", d);
  auto padding = Expand(op, args, first + 4, "padding", d);
  auto dilation = Expand(op, args, first + 5, "dilation", d);
  auto out_pad = Expand(op, args, first + 7, "output_padding", d);
  for (int64_t p : padding) TD_CHECK(p >= 0, kRuntime, "[", name, "] negative padding is not supported");
  for (int64_t p : out_pad) {
    TD_CHECK(p >= 0, kRuntime, "[", name, "] negative output_padding is not supported");
  }
  for (int64_t s : stride) TD_CHECK(s > 0, kRuntime, "[", name, "] non-positive stride is not supported");
  for (int64_t s : dilation) {
    TD_CHECK(s > 0, kRuntime, "[", name, "] non-positive dilation is not supported");
  }
  const Shape& ws = weight.sizes;
  TD_CHECK(weight.dim() == input.dim(), kRuntime, "[", name, "] Expected ", weight.dim(),
           "-dimensional input for ", weight.dim(), "-dimensional weight ", ShapeStr(ws),
           ", but got ", input.dim(), "-dimensional input of size ", ShapeStr(input.sizes),
           " instead");
  TD_CHECK(ws[0] >= groups, kRuntime, "[", name, "] Given groups=", groups,
           ", expected weight to be at least ", groups, " at dimension 0, but got weight of size ",
           ShapeStr(ws), " instead");
  TD_CHECK(ws[0] % groups == 0, kRuntime, "[", name, "] Given groups=", groups,
           ", expected weight to be divisible by ", groups, " at dimension 0, but got weight of size [",
           ShapeStr(ws), "] instead");
  const Shape bsz = bias_sizes ? *bias_sizes : bias ? bias->sizes : Shape{};
  const bool has_bias = bias_sizes != nullptr || bias != nullptr;
  ConvGeometry g;
  g.spatial = d;
  g.transposed = transposed;
  g.groups = groups;
  g.n = input.sizes[0];
  const int off = 3 - d;
  for (int i = 0; i < d; ++i) {
    g.k[off + i] = ws[2 + i];
    g.stride[off + i] = stride[i];
    g.pad[off + i] = padding[i];
    g.dil[off + i] = dilation[i];
    g.out_pad[off + i] = out_pad[i];
  }
  if (!transposed) {
    TD_CHECK(input.sizes[1] == ws[1] * groups, kRuntime, "[", name, "] Given groups=", groups,
             ", weight of size ", ShapeStr(ws), ", expected input", ShapeStr(input.sizes),
             " to have ", ws[1] * groups, " channels, but got ", input.sizes[1],
             " channels instead");
    TD_CHECK(!has_bias || (bsz.size() == 1 && bsz[0] == ws[0]), kRuntime, "[", name,
             "] Given weight of size ", ShapeStr(ws), ", expected bias to be 1-dimensional with ",
             ws[0], " elements, but got bias of size ", ShapeStr(bsz), " instead");
    std::vector<int64_t> padded, kernel;
    bool fits = true;
    for (int i = 0; i < d; ++i) {
      padded.push_back(input.sizes[2 + i] + 2 * padding[i]);
      kernel.push_back(dilation[i] * (ws[2 + i] - 1) + 1);
      fits = fits && padded.back() >= kernel.back();
    }
    TD_CHECK(fits, kRuntime, "[", name, "] Calculated padded input size per channel: (",
             JoinX(padded), "). Kernel size: (", JoinX(kernel),
             "). Kernel size can't be greater than actual input size");
    g.c = input.sizes[1];
    g.oc = ws[0];
    for (int i = 0; i < d; ++i) {
      g.in[off + i] = input.sizes[2 + i];
      g.out[off + i] = (padded[i] - kernel[i]) / stride[i] + 1;
    }
  } else {
    TD_CHECK(input.sizes[1] == ws[0], kRuntime, "[", name, "] Given transposed=1, weight of size ",
             ShapeStr(ws), ", expected input", ShapeStr(input.sizes), " to have ", ws[0],
             " channels, but got ", input.sizes[1], " channels instead");
    TD_CHECK(!has_bias || (bsz.size() == 1 && bsz[0] == ws[1] * groups), kRuntime, "[", name,
             "] Given transposed=1, weight of size ", ShapeStr(ws),
             ", expected bias to be 1-dimensional with ", ws[1] * groups,
             " elements, but got bias of size ", ShapeStr(bsz), " instead");
    bool small_pad = true;
    for (int i = 0; i < d; ++i) small_pad = small_pad && (out_pad[i] < stride[i] || out_pad[i] < dilation[i]);
    TD_CHECK(small_pad, kRuntime, "[", name,
             "] output padding must be smaller than either stride or dilation, but got output_padding=",
             IntsStr(out_pad), " stride=", IntsStr(stride), " dilation=", IntsStr(dilation));
    g.oc = ws[0];
    g.c = ws[1] * groups;
    std::vector<int64_t> in_sz, out_sz;
    bool positive = true;
    for (int i = 0; i < d; ++i) {
      const int64_t o = input.sizes[2 + i];
      const int64_t image = (o - 1) * stride[i] - 2 * padding[i] + dilation[i] * (ws[2 + i] - 1) +
                            out_pad[i] + 1;
      g.out[off + i] = o;
      g.in[off + i] = image;
      in_sz.push_back(o);
      out_sz.push_back(image);
      positive = positive && image > 0;
    }
    TD_CHECK(positive, kRuntime, "[", name, "] Given input size per channel: (", JoinX(in_sz),
             "). Calculated output size per channel: (", JoinX(out_sz), "). Output size is too small");
  }
  if (input.dtype != weight.dtype) {
    if (input.dtype == DType::kFloat32) {
      Fail(ErrorKind::kRuntime, "[", name, "] Input type (torch.", TorchTypeName(input.dtype),
           "Tensor) and weight type (torch.", TorchTypeName(weight.dtype),
           "Tensor) should be the same or input should be a MKLDNN tensor and weight is a dense tensor");
    }
    Fail(ErrorKind::kRuntime, "[", name, "] expected scalar type ", TorchTypeName(input.dtype),
         " but found ", TorchTypeName(weight.dtype));
  }
  if (input.dtype == DType::kFloat16 || input.dtype == DType::kBool) {
    const char* kernel = d == 3 ? (transposed ? "slow_conv_transpose3d_out_cpu" : "slow_conv3d_cpu")
                                : (transposed ? "slow_conv_transpose2d_out_cpu" : "slow_conv2d_cpu");
    Fail(ErrorKind::kRuntime, "[", name, "] \"", kernel, "\" not implemented for '",
         TorchTypeName(input.dtype), "'");
  }
  return g;
}

namespace rules {

// [N, OC, O...] (or [N, C, I...] when transposed) of the input's dtype.
void convolution(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  ConvGeometry g = ParseConvolution(op, args, 0);
  outs.push_back(TensorMeta::Contiguous(args.tensor(0).dtype, dev, g.OutputSizes()));
}

// (grad_input, grad_weight, grad_bias): input's, weight's and [channels]
// sizes, or [0] where output_mask says 0.
void convolution_backward(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  Device dev = CommonDevice(op, args);
  const Shape bias_sizes = args.is_none(3) ? Shape{} : Shape(args.get_ints(3).begin(), args.get_ints(3).end());
  ConvGeometry g = ParseConvolution(op, args, 1, args.is_none(3) ? nullptr : &bias_sizes);
  const TensorMeta& grad = args.tensor(0);
  const Shape want = g.OutputSizes();
  TD_CHECK(grad.sizes == want, kRuntime, "[", op.name, "] expected grad_output of size ",
           ShapeStr(want), ", but got ", ShapeStr(grad.sizes));
  TD_CHECK(grad.dtype == args.tensor(1).dtype, kRuntime, "[", op.name, "] expected scalar type ",
           TorchTypeName(args.tensor(1).dtype), " but found ", TorchTypeName(grad.dtype));
  const std::vector<int64_t>& mask = args.get_ints(10);
  TD_CHECK(mask.size() == 3, kRuntime, "[", op.name, "] output_mask must have 3 entries, got ",
           mask.size());
  const DType dt = args.tensor(1).dtype;
  const Shape empty{0};
  outs.push_back(TensorMeta::Contiguous(dt, dev, mask[0] ? args.tensor(1).sizes : empty));
  outs.push_back(TensorMeta::Contiguous(dt, dev, mask[1] ? args.tensor(2).sizes : empty));
  outs.push_back(TensorMeta::Contiguous(dt, dev, mask[2] ? Shape{want[1]} : empty));
}

}  // namespace rules
}  // namespace tensord
