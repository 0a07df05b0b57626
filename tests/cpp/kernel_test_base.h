// A fixture for running CPU kernels directly (no daemon): build tensors and
// strided views of them, run an op the way the daemon does, read values back.
#ifndef TENSORD_TESTS_CPP_KERNEL_TEST_BASE_H_
#define TENSORD_TESTS_CPP_KERNEL_TEST_BASE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "kernels/meta/infer.h"
#include "scheduler/autograd/autograd_ops.h"

namespace tensord::testing {

class KernelTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterCpuKernels();
    autograd::RegisterAutogradKernels();
  }

  template <typename T>
  static Tensor Make(std::vector<T> values, Shape sizes) {
    Tensor t = Tensor::Empty(TensorMeta::Contiguous(DTypeOf<T>::value, {}, sizes));
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }

  static Tensor Strided(const Tensor& t, Shape sizes, Shape strides, int64_t offset = -1) {
    TensorMeta m = t.meta;
    m.sizes = std::move(sizes);
    m.strides = std::move(strides);
    if (offset >= 0) m.offset = offset;
    return t.View(m);
  }

  // The last two dims swapped: a non-contiguous view.
  static Tensor Transposed(const Tensor& t) {
    Shape s = t.sizes(), st = t.strides();
    std::swap(s[s.size() - 1], s[s.size() - 2]);
    std::swap(st[st.size() - 1], st[st.size() - 2]);
    return Strided(t, s, st);
  }

  // The [3, 2] transpose of a row-major [2, 3] tensor of `values`.
  template <typename T>
  static Tensor Transposed(std::vector<T> values) {
    return Transposed(Make<T>(std::move(values), {2, 3}));
  }

  // Every other element of a contiguous 1-d tensor.
  static Tensor Stepped(const Tensor& t) { return Strided(t, {t.sizes()[0] / 2}, {2}); }

  // Runs op with `values` (Tensor values index `tensors`) as the daemon
  // does; returns every result (the aliased input for in-place ops).
  std::vector<Tensor> RunAll(const std::string& name, std::vector<Value> values,
                             std::vector<Tensor> tensors) {
    const OpSchema* op = FindOp(name);
    EXPECT_NE(op, nullptr) << name;
    OpArgs args;
    args.values = std::move(values);
    for (auto& t : tensors) args.metas.push_back(&t.meta);
    KernelContext ctx(*op, args);
    for (auto& t : tensors) ctx.tensors.push_back(&t);
    ctx.generator = &generator_;
    ctx.out_metas = InferMeta(*op, args);
    if (op->returns == ReturnKind::kView || op->returns == ReturnKind::kViewList) {
      std::vector<Tensor> views;
      for (auto& m : ctx.out_metas) views.push_back(tensors[args.values[op->alias_param].i].View(m));
      return views;
    }
    KernelRegistry::Get().Find(*op, Device::Kind::kCPU)(ctx);
    if (op->returns == ReturnKind::kInPlace) return {tensors[args.values[op->alias_param].i]};
    for (size_t i = 0; i < ctx.out_metas.size(); ++i) {
      if (i >= ctx.outputs.size() || !ctx.outputs[i].defined()) ctx.output(i);
    }
    return ctx.outputs;
  }

  Tensor Run(const std::string& name, std::vector<Value> values, std::vector<Tensor> tensors) {
    return RunAll(name, std::move(values), std::move(tensors))[0];
  }

  template <typename T>
  static std::vector<T> Values(const Tensor& t) {
    Tensor c = Tensor::Empty(TensorMeta::Contiguous(t.dtype(), {}, t.sizes()));
    CopyInto(c, t);
    return std::vector<T>(c.data<T>(), c.data<T>() + c.numel());
  }

  Generator generator_;
};

}  // namespace tensord::testing

#endif  // TENSORD_TESTS_CPP_KERNEL_TEST_BASE_H_
