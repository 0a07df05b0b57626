// Metadata rules of matrix products.
#include "kernels/meta/rule_util.h"

namespace tensord::rules {

// numpy matmul: 1-D operands gain a dim that is removed again; batch dims
// broadcast. Operands must share a dtype, as in PyTorch.
void matmul(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& a = args.tensor(0);
  const TensorMeta& b = args.tensor(1);
  TD_CHECK(a.dim() > 0 && b.dim() > 0, kRuntime, "[", op.name,
           "] both arguments to matmul need to be at least 1D, but they are ", a.dim(),
           "D and ", b.dim(), "D");
  TD_CHECK(a.dtype == b.dtype, kRuntime, "[", op.name,
           "] expected both operands to have the same dtype, but got: ", DTypeName(a.dtype),
           " != ", DTypeName(b.dtype));
  Device dev = CommonDevice(op, args);
  Shape out;
  if (a.dim() == 1 && b.dim() == 1) {
    TD_CHECK(a.sizes[0] == b.sizes[0], kRuntime, "[", op.name,
             "] inconsistent tensor size, expected tensor [", a.sizes[0], "] and src [",
             b.sizes[0], "] to have the same number of elements, but got ", a.sizes[0],
             " and ", b.sizes[0], " elements respectively");
  } else {
    const int64_t n = a.dim() == 1 ? 1 : a.sizes[a.dim() - 2];
    const int64_t k = a.sizes.back();
    const int64_t kb = b.dim() == 1 ? b.sizes[0] : b.sizes[b.dim() - 2];
    const int64_t m = b.dim() == 1 ? 1 : b.sizes.back();
    TD_CHECK(k == kb, kRuntime, "[", op.name, "] mat1 and mat2 shapes cannot be multiplied (",
             n, "x", k, " and ", kb, "x", m, ")");
    Shape ba(a.sizes.begin(), a.sizes.end() - std::min<int64_t>(a.dim(), 2));
    Shape bb(b.sizes.begin(), b.sizes.end() - std::min<int64_t>(b.dim(), 2));
    out = BroadcastShapes(op.name, ba, bb);
    if (a.dim() > 1) out.push_back(n);
    if (b.dim() > 1) out.push_back(m);
  }
  outs.push_back(TensorMeta::Contiguous(a.dtype, dev, out));
}

}  // namespace tensord::rules
