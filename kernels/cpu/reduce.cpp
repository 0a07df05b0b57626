// Reductions over dims. The input is viewed with the reduced dims last and
// made contiguous, so each output element reduces one contiguous row.
#include <algorithm>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/reduce_util.h"
#include "kernels/kernel.h"
#include "kernels/meta/rule_util.h"

namespace tensord {

ReduceRows MakeReduceRows(const KernelContext& ctx, const Tensor& self, DType dtype) {
  const int dim_p = ctx.op.param_index("dim");
  std::vector<int64_t> dims;
  if (dim_p >= 0) {
    dims = ReduceDims(ctx.op, ctx.args, dim_p, self.dim());
  } else {
    for (int64_t d = 0; d < self.dim(); ++d) dims.push_back(d);
  }
  // Permute: kept dims in order, then reduced dims.
  TensorMeta perm = self.meta;
  perm.sizes.clear();
  perm.strides.clear();
  int64_t row = 1;
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      perm.sizes.push_back(self.sizes()[d]);
      perm.strides.push_back(self.strides()[d]);
    }
  }
  for (int64_t d : dims) {
    perm.sizes.push_back(self.sizes()[d]);
    perm.strides.push_back(self.strides()[d]);
    row *= self.sizes()[d];
  }
  Tensor permuted = self.View(perm);
  ReduceRows r;
  r.row_size = row;
  r.rows = row == 0 ? Numel(Shape(perm.sizes.begin(), perm.sizes.end() - dims.size())) : self.numel() / row;
  TensorMeta cm = TensorMeta::Contiguous(dtype, self.meta.device, perm.sizes);
  r.data = ctx.NewTensor(cm);
  CopyInto(r.data, permuted);
  return r;
}

namespace {

void SumMeanKernel(KernelContext& ctx) {
  Tensor& out = ctx.output();
  const bool mean = ctx.op.variant == "mean";
  // Accumulate in double (floats) or int64 (integers), then convert.
  const DType acc = IsFloating(out.dtype()) ? DType::kFloat64 : DType::kInt64;
  ReduceRows r = MakeReduceRows(ctx, ctx.tensor(0), acc);
  DispatchAll(out.dtype(), ctx.op.name, [&]<typename T>() {
    T* o = out.data<T>();
    if (acc == DType::kFloat64) {
      const double* in = r.data.data<double>();
      ParallelFor(r.rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(r.row_size, 1)),
                  [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          double s = 0;
          for (int64_t j = 0; j < r.row_size; ++j) s += in[i * r.row_size + j];
          if (mean) s /= static_cast<double>(r.row_size);
          o[i] = Convert<T>(s);
        }
      });
    } else {
      const int64_t* in = r.data.data<int64_t>();
      for (int64_t i = 0; i < r.rows; ++i) {
        int64_t s = 0;
        for (int64_t j = 0; j < r.row_size; ++j) s += in[i * r.row_size + j];
        o[i] = Convert<T>(s);
      }
    }
  });
}

}  // namespace

void RegisterReduceKernels(KernelRegistry& r) {
  r.Register("sum", Device::Kind::kCPU, &SumMeanKernel);
  r.Register("mean", Device::Kind::kCPU, &SumMeanKernel);
}

}  // namespace tensord
