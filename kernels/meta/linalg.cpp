// Metadata rules of matrix products.
#include "kernels/meta/einsum.h"
#include "kernels/meta/rule_util.h"
#include "kernels/meta/torch_names.h"

namespace tensord {

void CheckExpandable(std::string_view op, const Shape& from, const Shape& to) {
  TD_CHECK(from.size() <= to.size(), kRuntime, "[", op, "] The number of sizes provided (",
           to.size(), ") must be greater or equal to the number of dimensions in the tensor (",
           from.size(), ")");
  const size_t off = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) {
    TD_CHECK(from[i] == 1 || from[i] == to[off + i], kRuntime, "[", op,
             "] The expanded size of the tensor (", to[off + i],
             ") must match the existing size (", from[i], ") at non-singleton dimension ",
             off + i, ".  Target sizes: ", ShapeStr(to), ".  Tensor sizes: ", ShapeStr(from));
  }
}

namespace rules {
namespace {

// CPU products of ATen reject bool and half; `kernel` is the name it reports.
void CheckProductDType(std::string_view op, DType d, const char* kernel) {
  TD_CHECK(d != DType::kBool && d != DType::kFloat16, kRuntime, "[", op, "] \"", kernel,
           "\" not implemented for '", TorchTypeName(d), "'");
}

void CheckSameDType(std::string_view op, DType a, DType b) {
  TD_CHECK(a == b, kRuntime, "[", op, "] expected scalar type ", TorchTypeName(a), " but found ",
           TorchTypeName(b));
}

// The result shape of mm/bmm/mv/dot (op.name) for operands a and b.
Shape ProductShape(const OpSchema& op, const TensorMeta& a, const TensorMeta& b) {
  const std::string& n = op.name;
  if (n == "mm" || n == "addmm") {
    TD_CHECK(a.dim() == 2, kRuntime, "[", n, "] ", n == "mm" ? "self" : "mat1", " must be a matrix");
    TD_CHECK(b.dim() == 2, kRuntime, "[", n, "] mat2 must be a matrix");
    CheckSameDType(n, a.dtype, b.dtype);
    TD_CHECK(a.sizes[1] == b.sizes[0], kRuntime, "[", n, "] mat1 and mat2 shapes cannot be multiplied (",
             a.sizes[0], "x", a.sizes[1], " and ", b.sizes[0], "x", b.sizes[1], ")");
    CheckProductDType(n, a.dtype, "addmm_impl_cpu_");
    return {a.sizes[0], b.sizes[1]};
  }
  if (n == "bmm" || n == "baddbmm") {
    TD_CHECK(a.dim() == 3, kRuntime, "[", n, "] batch1 must be a 3D tensor");
    TD_CHECK(b.dim() == 3, kRuntime, "[", n, "] batch2 must be a 3D tensor");
    CheckSameDType(n, a.dtype, b.dtype);
    TD_CHECK(b.sizes[0] == a.sizes[0] && b.sizes[1] == a.sizes[2], kRuntime, "[", n,
             "] Expected size for first two dimensions of batch2 tensor to be: [", a.sizes[0], ", ",
             a.sizes[2], "] but got: [", b.sizes[0], ", ", b.sizes[1], "].");
    CheckProductDType(n, a.dtype, "bmm");
    return {a.sizes[0], a.sizes[1], b.sizes[2]};
  }
  if (n == "mv" || n == "addmv") {
    TD_CHECK(a.dim() == 2 && b.dim() == 1, kRuntime, "[", n,
             "] vector + matrix @ vector expected, got 1, ", a.dim(), ", ", b.dim());
    CheckSameDType(n, a.dtype, b.dtype);
    TD_CHECK(a.sizes[1] == b.sizes[0], kRuntime, "[", n, "] size mismatch, got ", a.sizes[0], ", ",
             a.sizes[0], "x", a.sizes[1], ",", b.sizes[0]);
    CheckProductDType(n, a.dtype, "addmv_impl_cpu");
    return {a.sizes[0]};
  }
  TD_ASSERT(n == "dot", "no product shape for ", n);
  TD_CHECK(a.dim() == 1 && b.dim() == 1, kRuntime, "[dot] 1D tensors expected, but got ", a.dim(),
           "D and ", b.dim(), "D tensors");
  TD_CHECK(a.sizes[0] == b.sizes[0], kRuntime,
           "[dot] inconsistent tensor size, expected tensor [", a.sizes[0], "] and src [", b.sizes[0],
           "] to have the same number of elements, but got ", a.sizes[0], " and ", b.sizes[0],
           " elements respectively");
  TD_CHECK(a.dtype == b.dtype, kRuntime, "[dot] dot : expected both vectors to have same dtype, but found ",
           TorchTypeName(a.dtype), " and ", TorchTypeName(b.dtype));
  CheckProductDType(n, a.dtype, "dot");
  return {};
}

}  // namespace

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
    CheckProductDType(op.name, a.dtype, "dot");
  } else {
    const int64_t n = a.dim() == 1 ? 1 : a.sizes[a.dim() - 2];
    const int64_t k = a.sizes.back();
    const int64_t kb = b.dim() == 1 ? b.sizes[0] : b.sizes[b.dim() - 2];
    const int64_t m = b.dim() == 1 ? 1 : b.sizes.back();
    TD_CHECK(k == kb, kRuntime, "[", op.name, "] mat1 and mat2 shapes cannot be multiplied (",
             n, "x", k, " and ", kb, "x", m, ")");
    CheckProductDType(op.name, a.dtype, "addmm_impl_cpu_");
    Shape ba(a.sizes.begin(), a.sizes.end() - std::min<int64_t>(a.dim(), 2));
    Shape bb(b.sizes.begin(), b.sizes.end() - std::min<int64_t>(b.dim(), 2));
    out = BroadcastShapes(op.name, ba, bb);
    if (a.dim() > 1) out.push_back(n);
    if (b.dim() > 1) out.push_back(m);
  }
  outs.push_back(TensorMeta::Contiguous(a.dtype, dev, out));
}

// mm, bmm, mv, dot (by op name): the operands' dtypes must match.
void mm(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& a = args.tensor(0);
  Shape out = ProductShape(op, a, args.tensor(1));
  outs.push_back(TensorMeta::Contiguous(a.dtype, CommonDevice(op, args), out));
}

// addmm, addmv, baddbmm: self expands to the product's shape and shares its dtype.
void addmm(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& self = args.tensor(0);
  const TensorMeta& a = args.tensor(1);
  Shape out = ProductShape(op, a, args.tensor(2));
  TD_CHECK(self.dtype == a.dtype, kRuntime, "[", op.name, "] self and ",
           op.name == "addmv" ? "mat" : "mat2", " must have the same dtype");
  CheckExpandable(op.name, self.sizes, out);
  outs.push_back(TensorMeta::Contiguous(a.dtype, CommonDevice(op, args), out));
}

// outer/ger: [n] x [m] -> [n, m] in the promoted dtype.
void outer(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const TensorMeta& a = args.tensor(0);
  const TensorMeta& b = args.tensor(1);
  TD_CHECK(a.dim() == 1, kRuntime, "[", op.name, "] outer: Expected 1-D argument self, but got ",
           a.dim(), "-D");
  TD_CHECK(b.dim() == 1, kRuntime, "[", op.name, "] outer: Expected 1-D argument vec2, but got ",
           b.dim(), "-D");
  outs.push_back(TensorMeta::Contiguous(ResultTypeOfInputs(op, args), CommonDevice(op, args),
                                        {a.sizes[0], b.sizes[0]}));
}

// einsum(equation, tensors): one dtype for all operands; a sum over one
// operand's labels gives int64 for integral input, as torch.sum does.
void einsum(const OpSchema& op, const OpArgs& args, std::vector<TensorMeta>& outs) {
  const Value& list = args.values[1];
  TD_CHECK(!list.ints.empty(), kRuntime, "[einsum] einsum(): must provide at least one operand");
  std::vector<Shape> shapes;
  for (int64_t idx : list.ints) shapes.push_back(args.metas[idx]->sizes);
  const DType d = args.metas[list.ints[0]]->dtype;
  for (int64_t idx : list.ints) CheckSameDType(op.name, d, args.metas[idx]->dtype);
  EinsumSpec spec = ParseEinsum(args.values[0].s, shapes);
  DType out = d;
  if (spec.Contracts()) {
    if (shapes.size() == 1) {
      if (!IsFloating(d)) out = DType::kInt64;
    } else {
      CheckProductDType(op.name, d, "bmm");
    }
  }
  outs.push_back(TensorMeta::Contiguous(out, CommonDevice(op, args), spec.OutputSizes()));
}

}  // namespace rules
}  // namespace tensord
