// einsum: operands become views over their labels (a repeated label is one
// dim whose stride is the sum: the diagonal), labels only one operand needs
// are summed out, and operands contract pairwise, left to right, as batched
// matrix products over (shared kept, left-only, summed, right-only) labels.
#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/kernel.h"
#include "kernels/meta/einsum.h"

namespace tensord {
namespace {

using Labels = std::vector<int>;

bool Has(const Labels& ls, int l) { return std::find(ls.begin(), ls.end(), l) != ls.end(); }

// A tensor whose dim d carries label labels[d]; labels are distinct.
struct Labeled {
  Tensor t;
  Labels labels;
};

Labeled FromOperand(const Tensor& t, const Labels& dim_labels) {
  Labels labels;
  Shape sizes, strides;
  for (size_t d = 0; d < dim_labels.size(); ++d) {
    auto it = std::find(labels.begin(), labels.end(), dim_labels[d]);
    if (it != labels.end()) {
      strides[it - labels.begin()] += t.strides()[d];
    } else {
      labels.push_back(dim_labels[d]);
      sizes.push_back(t.sizes()[d]);
      strides.push_back(t.strides()[d]);
    }
  }
  return {StridedView(t, sizes, strides), labels};
}

class Contractor {
 public:
  Contractor(const KernelContext& ctx, const EinsumSpec& spec) : ctx_(ctx), spec_(spec) {}

  // x as [B, R, C] over the label groups, each label at its broadcast size
  // (stride 0 where x lacks it or has size 1): a view when every group has at
  // most one label, else a contiguous copy.
  Tensor Group3(const Labeled& x, const Labels& g0, const Labels& g1, const Labels& g2) const {
    Shape sizes, strides, sizes3, strides3;
    bool view = true;
    for (const Labels* g : {&g0, &g1, &g2}) {
      int64_t total = 1, stride = 0;
      for (int l : *g) {
        const int64_t size = spec_.label_size[l];
        auto it = std::find(x.labels.begin(), x.labels.end(), l);
        const size_t d = it - x.labels.begin();
        const int64_t st = it != x.labels.end() && x.t.sizes()[d] == size ? x.t.strides()[d] : 0;
        sizes.push_back(size);
        strides.push_back(st);
        total *= size;
        stride = st;
      }
      view = view && g->size() <= 1;
      sizes3.push_back(total);
      strides3.push_back(stride);
    }
    if (view) return StridedView(x.t, sizes3, strides3);
    Tensor full = StridedView(x.t, sizes, strides);
    Tensor copy = ctx_.NewTensor(TensorMeta::Contiguous(x.t.dtype(), x.t.meta.device, sizes));
    CopyInto(copy, full);
    return StridedView(copy, sizes3, ContiguousStrides(sizes3));
  }

  // The sum of x over its labels outside `keep`.
  Labeled SumOut(const Labeled& x, const Labels& keep) const {
    Labels kept, summed;
    for (int l : x.labels) (Has(keep, l) ? kept : summed).push_back(l);
    if (summed.empty()) return x;
    Tensor x3 = Group3(x, {}, kept, summed);
    Tensor one = Tensor::ScalarInt(1, x.t.dtype());
    Tensor ones = StridedView(one, {1, x3.sizes()[2], 1}, {0, 0, 0});
    Shape sizes;
    for (int l : kept) sizes.push_back(SizeIn(x, l));
    Tensor out = ctx_.NewTensor(TensorMeta::Contiguous(x.t.dtype(), x.t.meta.device, sizes));
    BatchedGemm(ctx_, "einsum", x3, ones, StridedView(out, {1, x3.sizes()[1], 1}, {0, 1, 0}));
    return {out, kept};
  }

  // a and b contracted over their shared labels outside `keep`.
  Labeled Contract(const Labeled& a0, const Labeled& b0, const Labels& keep) const {
    Labels keep_a = keep, keep_b = keep;
    keep_a.insert(keep_a.end(), b0.labels.begin(), b0.labels.end());
    keep_b.insert(keep_b.end(), a0.labels.begin(), a0.labels.end());
    Labeled a = SumOut(a0, keep_a), b = SumOut(b0, keep_b);
    Labels batch, rows, sum, cols;
    for (int l : a.labels) {
      if (!Has(b.labels, l)) rows.push_back(l);
      else (Has(keep, l) ? batch : sum).push_back(l);
    }
    for (int l : b.labels) {
      if (!Has(a.labels, l)) cols.push_back(l);
    }
    Tensor a3 = Group3(a, batch, rows, sum);
    Tensor b3 = Group3(b, batch, sum, cols);
    Labels labels = batch;
    labels.insert(labels.end(), rows.begin(), rows.end());
    labels.insert(labels.end(), cols.begin(), cols.end());
    Shape sizes;
    for (int l : labels) sizes.push_back(spec_.label_size[l]);
    Tensor out = ctx_.NewTensor(TensorMeta::Contiguous(a.t.dtype(), a.t.meta.device, sizes));
    const Shape s3 = {a3.sizes()[0], a3.sizes()[1], b3.sizes()[2]};
    BatchedGemm(ctx_, "einsum", a3, b3, StridedView(out, s3, ContiguousStrides(s3)));
    return {out, labels};
  }

 private:
  static int64_t SizeIn(const Labeled& x, int l) {
    return x.t.sizes()[std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin()];
  }

  const KernelContext& ctx_;
  const EinsumSpec& spec_;
};

void EinsumKernel(KernelContext& ctx) {
  std::vector<const Tensor*> operands = ctx.tensor_list(1);
  std::vector<Shape> shapes;
  for (const Tensor* t : operands) shapes.push_back(t->sizes());
  const EinsumSpec spec = ParseEinsum(ctx.args.values[0].s, shapes);
  Tensor& out = ctx.output();
  Contractor c(ctx, spec);
  std::vector<Labeled> ops;
  for (size_t k = 0; k < operands.size(); ++k) {
    ops.push_back(FromOperand(CastTo(*operands[k], out.dtype(), ctx.tracker), spec.inputs[k]));
  }
  Labeled cur = ops[0];
  for (size_t k = 1; k < ops.size(); ++k) {
    Labels keep = spec.output;  // labels later operands still need
    for (size_t j = k + 1; j < ops.size(); ++j) {
      keep.insert(keep.end(), ops[j].labels.begin(), ops[j].labels.end());
    }
    cur = c.Contract(cur, ops[k], keep);
  }
  cur = c.SumOut(cur, spec.output);
  // cur's labels are now the output's, in another order.
  Shape sizes, strides;
  for (int l : spec.output) {
    const size_t d = std::find(cur.labels.begin(), cur.labels.end(), l) - cur.labels.begin();
    sizes.push_back(spec.label_size[l]);
    strides.push_back(cur.t.sizes()[d] == spec.label_size[l] ? cur.t.strides()[d] : 0);
  }
  CopyInto(out, StridedView(cur.t, sizes, strides));
}

}  // namespace

void RegisterLinalgKernels(KernelRegistry& r) {
  r.Register("einsum", Device::Kind::kCPU, &EinsumKernel);
}

}  // namespace tensord
