// The geometry of a convolution or a 2-d pooling, validated with PyTorch's
// messages. The metadata rules (kernels/meta/conv.cpp, pool.cpp) and the CPU
// kernels (kernels/cpu/conv.cpp, pool.cpp) read the same parse.
#ifndef TENSORD_KERNELS_META_CONV_GEOMETRY_H_
#define TENSORD_KERNELS_META_CONV_GEOMETRY_H_

#include <array>
#include <cstdint>

#include "kernels/schema/op_schema.h"

namespace tensord {

// A convolution in the frame of the plain (not transposed) convolution that
// relates the "image" (the larger side) and the "columns" side:
//   plain:      input = image [N, C, I...], output = cols [N, OC, O...]
//   transposed: input = cols  [N, OC, O...], output = image [N, C, I...]
// so the weight is always [OC, C / groups, K...]. Spatial dims are padded
// to 3 at the front (size 1, stride 1, no padding), so 1-d, 2-d and 3-d
// convolutions share one loop.
struct ConvGeometry {
  int spatial = 2;  // 1, 2 or 3
  bool transposed = false;
  int64_t n = 0, c = 0, oc = 0, groups = 1;
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1}, pad{0, 0, 0}, dil{1, 1, 1}, out_pad{0, 0, 0};

  int64_t image_numel() const { return n * c * in[0] * in[1] * in[2]; }
  int64_t cols_numel() const { return n * oc * out[0] * out[1] * out[2]; }
  // The op's output sizes: [N, OC, O...] (plain) or [N, C, I...] (transposed).
  Shape OutputSizes() const;
};

// Parses convolution's (input, weight, bias, stride, padding, dilation,
// transposed, output_padding, groups) starting at argument `first` (bias
// at first + 2 may be None; `bias_sizes`, when given, replaces it).
// Throws PyTorch's errors for bad shapes, dtypes and parameters.
ConvGeometry ParseConvolution(const OpSchema& op, const OpArgs& args, int first,
                              const Shape* bias_sizes = nullptr);

// 2-d pooling over [N, C, H, W] or [C, H, W] (n = 1, batched = false).
struct Pool2dGeometry {
  bool batched = true;
  int64_t n = 1, c = 0, ih = 0, iw = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  Shape OutputSizes() const;
};

// max_pool2d_with_indices / avg_pool2d (by op name, or `forward` for their
// backward ops) with the input at `self_pos` and the int lists after it.
Pool2dGeometry ParsePool2d(const OpSchema& op, const OpArgs& args, std::string_view forward,
                           int self_pos);
// adaptive_{avg,max}_pool2d: output_size at self_pos + 1, or the sizes of
// the grad_output at `grad_pos` for the backward ops.
Pool2dGeometry ParseAdaptivePool2d(const OpSchema& op, const OpArgs& args,
                                   std::string_view forward, int self_pos, int grad_pos = -1);

}  // namespace tensord

#endif  // TENSORD_KERNELS_META_CONV_GEOMETRY_H_
