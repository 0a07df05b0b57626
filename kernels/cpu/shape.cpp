// Shape ops that may copy. Pure views (view, transpose, ...) need no kernel:
// the executor builds them from their rules.
#include <algorithm>

#include "kernels/cpu/index_util.h"
#include "kernels/kernel.h"
#include "kernels/meta/shape_util.h"

namespace tensord {
namespace {

// reshape: the rule gave view strides when a view exists; then alias the
// input storage, else copy into the contiguous result.
void ReshapeKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const TensorMeta& m = ctx.out_metas[0];
  if (ViewStrides(self.sizes(), self.strides(), m.sizes)) {
    ctx.outputs.assign(1, self.View(m));
    return;
  }
  Tensor& out = ctx.output();
  Tensor src = self;
  if (!src.is_contiguous()) {
    src = ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, self.sizes()));
    CopyInto(src, self);
  }
  TensorMeta flat = src.meta;
  flat.sizes = m.sizes;
  flat.strides = ContiguousStrides(m.sizes);
  CopyInto(out, src.View(flat));
}

// as_strided: only the daemon knows the storage's size, so the bound that
// keeps the view inside it is checked here (PyTorch's setStorage message).
void AsStridedKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const TensorMeta& m = ctx.out_metas[0];
  const size_t item = ItemSize(m.dtype);
  // For the message only (FitsInStorage does the checked arithmetic):
  // unsigned, so absurd sizes wrap instead of overflowing.
  uint64_t need = 0;
  if (m.numel() > 0) {
    need = static_cast<uint64_t>(m.offset) + 1;
    for (size_t i = 0; i < m.sizes.size(); ++i) {
      need += static_cast<uint64_t>(m.sizes[i] - 1) * static_cast<uint64_t>(m.strides[i]);
    }
  }
  TD_CHECK(FitsInStorage(m, self.storage->nbytes()), kRuntime, "[", ctx.op.name,
           "] setStorage: sizes ", ShapeStr(m.sizes), ", strides ", ShapeStr(m.strides),
           ", storage offset ", m.offset, ", and itemsize ", item,
           " requiring a storage size of ", need * item,
           " are out of bounds for storage of size ", self.storage->nbytes());
  ctx.outputs.assign(1, self.View(m));
}

// repeat: the output viewed as [r0, s0, r1, s1, ...] takes the input
// broadcast along every r dim.
void RepeatKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor& out = ctx.output();
  if (out.numel() == 0) return;
  const Shape& reps = ctx.args.get_ints(1);
  const size_t lead = reps.size() - self.sizes().size();
  TensorMeta dst = out.meta, src = self.meta;
  dst.sizes.clear();
  dst.strides.clear();
  src.sizes.clear();
  src.strides.clear();
  for (size_t i = 0; i < reps.size(); ++i) {
    const int64_t s = i < lead ? 1 : self.sizes()[i - lead];
    const int64_t st = i < lead ? 0 : self.strides()[i - lead];
    dst.sizes.insert(dst.sizes.end(), {reps[i], s});
    dst.strides.insert(dst.strides.end(), {s * out.strides()[i], out.strides()[i]});
    src.sizes.insert(src.sizes.end(), {reps[i], s});
    src.strides.insert(src.strides.end(), {0, st});
  }
  CopyInto(out.View(dst), self.View(src));
}

void RepeatInterleaveKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const bool flat = ctx.args.is_none(2);
  Tensor x = self;
  if (flat || self.dim() == 0) {
    x = Contiguous(ctx, self);
    TensorMeta m = x.meta;
    m.sizes = {self.numel()};
    m.strides = {1};
    x = x.View(m);
  }
  const int64_t dim = flat ? 0 : WrapDim(ctx.args.get_int(2), x.dim());
  const int64_t n = x.sizes()[dim];
  if (!ctx.args.values[1].is_tensor()) {
    Tensor& out = ctx.output();
    const int64_t r = ctx.args.values[1].to_int();
    if (out.numel() == 0) return;
    // out as [..., n, r, ...] takes x broadcast along the r dim.
    TensorMeta dst = out.meta, src = x.meta;
    dst.sizes = x.sizes();
    dst.sizes.insert(dst.sizes.begin() + dim + 1, r);
    dst.strides = ContiguousStrides(dst.sizes);
    src.sizes = dst.sizes;
    src.strides.insert(src.strides.begin() + dim + 1, 0);
    CopyInto(out.View(dst), x.View(src));
    return;
  }
  Tensor reps = Contiguous(ctx, AsInt64(ctx, ctx.tensor(1)));
  const int64_t* r = reps.data<int64_t>();
  const bool one = reps.numel() == 1;
  int64_t total = 0;
  for (int64_t i = 0; i < reps.numel(); ++i) {
    TD_CHECK(r[i] >= 0, kRuntime, "[", ctx.op.name, "] repeats can not be negative");
  }
  total = one ? r[0] * n : 0;
  for (int64_t i = 0; !one && i < n; ++i) total += r[i];
  if (!ctx.args.is_none(3)) {
    TD_CHECK(ctx.args.get_int(3) == total, kRuntime, "[", ctx.op.name, "] output_size ",
             ctx.args.get_int(3), " does not match the sum of repeats ", total);
  }
  Shape sizes = x.sizes();
  sizes[dim] = total;
  ctx.outputs.assign(1, ctx.NewTensor(TensorMeta::Contiguous(self.dtype(), self.meta.device, sizes)));
  const Tensor& out = ctx.outputs[0];
  int64_t pos = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = one ? r[0] : r[i];
    if (c == 0) continue;
    CopyInto(out.View(SliceMeta(out.meta, dim, pos, pos + c, 1)),
             x.View(SliceMeta(x.meta, dim, i, i + 1, 1)));
    pos += c;
  }
}

void FlipKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  TensorMeta m = self.meta;
  for (int64_t d : ctx.args.get_ints(1)) {
    const int64_t w = WrapDim(d, self.dim());
    if (self.dim() == 0 || m.sizes[w] == 0) continue;
    m.offset += (m.sizes[w] - 1) * m.strides[w];
    m.strides[w] = -m.strides[w];
  }
  CopyInto(ctx.output(), self.View(m));
}

// roll: per rolled dim, two block copies; k dims give 2^k blocks.
void RollKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor& out = ctx.output();
  if (out.numel() == 0) return;
  const auto& shifts = ctx.args.get_ints(1);
  const auto& dims_arg = ctx.args.get_ints(2);
  Tensor src = self, dst = out;
  std::vector<int64_t> dims;
  if (dims_arg.empty()) {
    src = Contiguous(ctx, self);
    TensorMeta f = src.meta;
    f.sizes = {self.numel()};
    f.strides = {1};
    src = src.View(f);
    TensorMeta g = out.meta;
    g.sizes = {self.numel()};
    g.strides = {1};
    dst = out.View(g);
    dims = {0};
  } else {
    for (int64_t d : dims_arg) dims.push_back(WrapDim(d, self.dim()));
  }
  std::vector<std::pair<TensorMeta, TensorMeta>> blocks = {{dst.meta, src.meta}};
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = dims[i];
    if (src.dim() == 0) continue;
    const int64_t n = src.sizes()[d];
    const int64_t s = ((shifts[i] % n) + n) % n;
    if (s == 0) continue;
    std::vector<std::pair<TensorMeta, TensorMeta>> next;
    for (const auto& [a, b] : blocks) {
      next.emplace_back(SliceMeta(a, d, s, n, 1), SliceMeta(b, d, 0, n - s, 1));
      next.emplace_back(SliceMeta(a, d, 0, s, 1), SliceMeta(b, d, n - s, n, 1));
    }
    blocks = std::move(next);
  }
  for (const auto& [a, b] : blocks) CopyInto(dst.View(a), src.View(b));
}

// tril/triu: copy, then zero the other triangle row by row.
void TrilKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  const bool in_place = ctx.op.returns == ReturnKind::kInPlace;
  Tensor t = in_place ? self : ctx.output();
  if (!in_place) CopyInto(t, self);
  const bool lower = ctx.op.variant == "tril";
  const int64_t k = ctx.args.get_int(1);
  const int64_t rows = t.sizes()[t.dim() - 2], cols = t.sizes()[t.dim() - 1];
  const Tensor zero = Tensor::ScalarInt(0, t.dtype());
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t b = lower ? std::clamp<int64_t>(i + k + 1, 0, cols) : 0;
    const int64_t e = lower ? cols : std::clamp<int64_t>(i + k, 0, cols);
    if (b >= e) continue;
    TensorMeta row = SelectMeta(t.meta, t.dim() - 2, i);
    CopyInto(t.View(SliceMeta(row, row.dim() - 1, b, e, 1)), zero);
  }
}

void DiagKernel(KernelContext& ctx) {
  const Tensor& self = ctx.tensor(0);
  Tensor& out = ctx.output();
  const int64_t k = ctx.args.get_int(1);
  auto diagonal = [k](const TensorMeta& m, int64_t len) {
    TensorMeta d = m;
    if (len > 0) d.offset += k >= 0 ? k * m.strides[1] : -k * m.strides[0];
    d.sizes = {len};
    d.strides = {m.strides[0] + m.strides[1]};
    return d;
  };
  if (self.dim() == 1) {
    CopyInto(out, Tensor::ScalarInt(0, out.dtype()));
    CopyInto(out.View(diagonal(out.meta, self.sizes()[0])), self);
  } else {
    CopyInto(out, self.View(diagonal(self.meta, out.sizes()[0])));
  }
}

}  // namespace

void RegisterShapeKernels(KernelRegistry& r) {
  r.Register("reshape", Device::Kind::kCPU, &ReshapeKernel);
  r.Register("flatten", Device::Kind::kCPU, &ReshapeKernel);
  r.Register("as_strided", Device::Kind::kCPU, &AsStridedKernel);
  r.Register("repeat", Device::Kind::kCPU, &RepeatKernel);
  r.Register("repeat_interleave", Device::Kind::kCPU, &RepeatInterleaveKernel);
  r.Register("flip", Device::Kind::kCPU, &FlipKernel);
  r.Register("roll", Device::Kind::kCPU, &RollKernel);
  for (const char* op : {"tril", "triu", "tril_", "triu_"}) {
    r.Register(op, Device::Kind::kCPU, &TrilKernel);
  }
  r.Register("diag", Device::Kind::kCPU, &DiagKernel);
}

}  // namespace tensord
