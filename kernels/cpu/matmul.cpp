// Matrix products: matmul, mm, bmm, mv, dot, the addmm family and outer.
// Every product runs on BatchedGemm (oneDNN sgemm for float32).
#include <algorithm>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/loops.h"
#include "kernels/kernel.h"

namespace tensord {
namespace {

// `t` seen with `sizes`/`strides` (elements) broadcast to batch + [rows, cols]
// as a 3-D [B, rows, cols] tensor: a view when the batch dims collapse into
// one stride, else a contiguous copy.
Tensor AsBatched(const KernelContext& ctx, const Tensor& t, const Shape& sizes, const Shape& strides,
                 const Shape& batch) {
  const size_t nb = batch.size();
  Shape full = batch, fstr(nb + 2, 0);
  full.insert(full.end(), sizes.end() - 2, sizes.end());
  const size_t off = full.size() - sizes.size();
  for (size_t i = 0; i < sizes.size(); ++i) fstr[off + i] = sizes[i] == 1 ? 0 : strides[i];
  std::vector<size_t> kept;  // the batch dims of size > 1
  for (size_t i = 0; i < nb; ++i) {
    if (full[i] != 1) kept.push_back(i);
  }
  bool collapses = true;
  for (size_t j = 0; j + 1 < kept.size(); ++j) {
    if (fstr[kept[j]] != fstr[kept[j + 1]] * full[kept[j + 1]]) collapses = false;
  }
  const int64_t b = Numel(batch);
  if (collapses) {
    const int64_t bstride = kept.empty() ? 0 : fstr[kept.back()];
    return StridedView(t, {b, full[nb], full[nb + 1]}, {bstride, fstr[nb], fstr[nb + 1]});
  }
  Tensor view = StridedView(t, full, fstr);
  Tensor out = ctx.NewTensor(TensorMeta::Contiguous(t.dtype(), t.meta.device, full));
  CopyInto(out, view);
  return StridedView(out, {b, full[nb], full[nb + 1]},
                     {full[nb] * full[nb + 1], full[nb + 1], 1});
}

Tensor As3d(const Tensor& t, int64_t b, int64_t r, int64_t c) {
  return StridedView(t, {b, r, c}, ContiguousStrides({b, r, c}));
}

void MatmulKernel(KernelContext& ctx) {
  const Tensor& a = ctx.tensor(0);
  const Tensor& b = ctx.tensor(1);
  Tensor& out = ctx.output();
  const int64_t k = a.sizes().back();
  // 1-D operands: a row [1, k] and a column [k, 1].
  Shape as = a.sizes(), ast = a.strides(), bs = b.sizes(), bst = b.strides();
  if (a.dim() == 1) as = {1, k}, ast = {0, a.strides()[0]};
  if (b.dim() == 1) bs = {k, 1}, bst = {b.strides()[0], 0};
  const int64_t n = as[as.size() - 2], m = bs.back();
  Shape batch = BroadcastShapes("matmul", Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2));
  Tensor a3 = AsBatched(ctx, a, as, ast, batch);
  Tensor b3 = AsBatched(ctx, b, bs, bst, batch);
  BatchedGemm(ctx, "matmul", a3, b3, As3d(out, Numel(batch), n, m));
}

// Sizes/strides of a 2-D or 3-D operand as [B, r, c]; a 1-D vector as a column.
Tensor Batched(const Tensor& t) {
  const Shape& s = t.sizes();
  const Shape& st = t.strides();
  if (t.dim() == 3) return t;
  if (t.dim() == 2) return StridedView(t, {1, s[0], s[1]}, {0, st[0], st[1]});
  return StridedView(t, {1, s[0], 1}, {0, st[0], 1});
}

// mm/bmm/mv: out = a @ b.
void MmKernel(KernelContext& ctx) {
  const Tensor& a = ctx.tensor(0);
  Tensor& out = ctx.output();
  Tensor a3 = Batched(a), b3 = Batched(ctx.tensor(1));
  BatchedGemm(ctx, ctx.op.name, a3, b3, As3d(out, a3.sizes()[0], a3.sizes()[1], b3.sizes()[2]));
}

void DotKernel(KernelContext& ctx) {
  const Tensor& a = ctx.tensor(0);
  Tensor& out = ctx.output();
  const int64_t k = a.sizes()[0];
  Tensor row = StridedView(a, {1, 1, k}, {0, 0, a.strides()[0]});
  BatchedGemm(ctx, "dot", row, Batched(ctx.tensor(1)), As3d(out, 1, 1, 1));
}

// addmm/addmv/baddbmm: out = beta * self + alpha * (a @ b).
void AddmmKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor& out = ctx.output();
  const double beta = ctx.args.get_float(3), alpha = ctx.args.get_float(4);
  if (beta != 0) CopyInto(out, self);
  Tensor a3 = Batched(ctx.tensor(1)), b3 = Batched(ctx.tensor(2));
  BatchedGemm(ctx, ctx.op.name, a3, b3, As3d(out, a3.sizes()[0], a3.sizes()[1], b3.sizes()[2]),
              alpha, beta);
}

// outer: out[i, j] = a[i] * b[j] in the promoted dtype.
void OuterKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  Tensor a = CastTo(ctx.tensor(0), out.dtype(), ctx.tracker);
  Tensor b = CastTo(ctx.tensor(1), out.dtype(), ctx.tracker);
  Tensor col = StridedView(a, {a.sizes()[0], 1}, {a.strides()[0], 0});
  DispatchAll(out.dtype(), "outer", [&]<typename T>() {
    using M = opmath_t<T>;
    BinaryLoop<T, T>(out, col, b, [](T x, T y) {
      if constexpr (std::is_same_v<T, bool>) {
        return x && y;
      } else {
        return Convert<T>(static_cast<M>(M(x) * M(y)));
      }
    });
  });
}

}  // namespace

void RegisterMatmulKernels(KernelRegistry& r) {
  r.Register("matmul", Device::Kind::kCPU, &MatmulKernel);
  for (const char* op : {"mm", "bmm", "mv"}) r.Register(op, Device::Kind::kCPU, &MmKernel);
  r.Register("dot", Device::Kind::kCPU, &DotKernel);
  for (const char* op : {"addmm", "addmv", "baddbmm"}) {
    r.Register(op, Device::Kind::kCPU, &AddmmKernel);
  }
  r.Register("outer", Device::Kind::kCPU, &OuterKernel);
  r.Register("ger", Device::Kind::kCPU, &OuterKernel);
}

}  // namespace tensord
