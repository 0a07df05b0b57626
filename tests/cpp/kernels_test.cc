// CPU kernels run directly (no daemon) against values computed by hand.
// The full per-op matrix against NumPy/PyTorch lives in tests/python.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "kernels/meta/infer.h"
#include "kernel_test_base.h"

namespace tensord {
namespace {

class KernelsTest : public testing::KernelTestBase {};

TEST_F(KernelsTest, EveryCpuOpInTheSchemaHasAKernel) {
  EXPECT_EQ(KernelRegistry::Get().Missing(Device::Kind::kCPU), std::vector<std::string>{});
}

TEST_F(KernelsTest, AddBroadcastsOverNonContiguousInputs) {
  Tensor a = Make<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  TensorMeta tm = a.meta;  // a transposed view: [3, 2]
  tm.sizes = {3, 2};
  tm.strides = {1, 3};
  Tensor at = a.View(tm);
  Tensor b = Make<float>({10, 20}, {2});
  Tensor c = Run("add", {Value::Tensor(0), Value::Tensor(1), Value::Int(2)}, {at, b});
  EXPECT_EQ(c.sizes(), (Shape{3, 2}));
  EXPECT_EQ(Values<float>(c), (std::vector<float>{21, 44, 22, 45, 23, 46}));
}

TEST_F(KernelsTest, IntPlusFloatScalarPromotesToFloat) {
  Tensor a = Make<int32_t>({1, 2}, {2});
  Tensor c = Run("mul", {Value::Tensor(0), Value::Float(0.5)}, {a});
  EXPECT_EQ(c.dtype(), DType::kFloat32);
  EXPECT_EQ(Values<float>(c), (std::vector<float>{0.5, 1.0}));
}

TEST_F(KernelsTest, DivRoundingModesMatchPython) {
  Tensor a = Make<int64_t>({7, -7, 7, -7}, {4});
  Tensor b = Make<int64_t>({2, 2, -2, -2}, {4});
  Tensor f = Run("div", {Value::Tensor(0), Value::Tensor(1), Value::Str("floor")}, {a, b});
  EXPECT_EQ(Values<int64_t>(f), (std::vector<int64_t>{3, -4, -4, 3}));
  Tensor t = Run("div", {Value::Tensor(0), Value::Tensor(1), Value::Str("trunc")}, {a, b});
  EXPECT_EQ(Values<int64_t>(t), (std::vector<int64_t>{3, -3, -3, 3}));
  Tensor d = Run("div", {Value::Tensor(0), Value::Tensor(1), Value::None()}, {a, b});
  EXPECT_EQ(d.dtype(), DType::kFloat32);
  EXPECT_EQ(Values<float>(d), (std::vector<float>{3.5, -3.5, -3.5, 3.5}));
}

TEST_F(KernelsTest, InPlaceAddWritesThroughAView) {
  Tensor base = Make<float>({0, 0, 0, 0}, {4});
  TensorMeta vm = base.meta;
  vm.sizes = {2};
  vm.strides = {2};
  Tensor every_other = base.View(vm);
  Run("add_", {Value::Tensor(0), Value::Int(5), Value::Int(1)}, {every_other});
  EXPECT_EQ(Values<float>(base), (std::vector<float>{5, 0, 5, 0}));
}

TEST_F(KernelsTest, InPlaceRejectsAResultItCannotHold) {
  Tensor a = Make<int64_t>({1}, {1});
  EXPECT_THROW(Run("add_", {Value::Tensor(0), Value::Float(1.5), Value::Int(1)}, {a}), OpError);
}

TEST_F(KernelsTest, SumAndMeanOverDims) {
  Tensor a = Make<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor s0 = Run("sum", {Value::Tensor(0), Value::Ints({0}), Value::Bool(false), Value::None()}, {a});
  EXPECT_EQ(Values<float>(s0), (std::vector<float>{5, 7, 9}));
  Tensor s1 = Run("sum", {Value::Tensor(0), Value::Ints({1}), Value::Bool(true), Value::None()}, {a});
  EXPECT_EQ(s1.sizes(), (Shape{2, 1}));
  EXPECT_EQ(Values<float>(s1), (std::vector<float>{6, 15}));
  Tensor m = Run("mean", {Value::Tensor(0), Value::None(), Value::Bool(false), Value::None()}, {a});
  EXPECT_EQ(m.dim(), 0);
  EXPECT_FLOAT_EQ(Values<float>(m)[0], 3.5f);
  Tensor i = Make<int32_t>({1, 2}, {2});
  Tensor si = Run("sum", {Value::Tensor(0), Value::None(), Value::Bool(false), Value::None()}, {i});
  EXPECT_EQ(si.dtype(), DType::kInt64);
  EXPECT_THROW(Run("mean", {Value::Tensor(0), Value::None(), Value::Bool(false), Value::None()}, {i}), OpError);
}

TEST_F(KernelsTest, MatmulMatchesANaiveProductForEveryRankCombination) {
  auto naive = [](const std::vector<double>& a, const std::vector<double>& b, int n, int k, int m) {
    std::vector<double> c(n * m, 0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < m; ++j)
        for (int p = 0; p < k; ++p) c[i * m + j] += a[i * k + p] * b[p * m + j];
    return c;
  };
  std::vector<float> av(12), bv(20);
  for (int i = 0; i < 12; ++i) av[i] = static_cast<float>(i) - 3;
  for (int i = 0; i < 20; ++i) bv[i] = static_cast<float>(i % 7) * 0.5f;
  Tensor a = Make<float>(av, {3, 4});
  Tensor b = Make<float>(bv, {4, 5});
  Tensor c = Run("matmul", {Value::Tensor(0), Value::Tensor(1)}, {a, b});
  auto want = naive({av.begin(), av.end()}, {bv.begin(), bv.end()}, 3, 4, 5);
  auto got = Values<float>(c);
  for (int i = 0; i < 15; ++i) EXPECT_NEAR(got[i], want[i], 1e-4);
  // 1-D @ 2-D and batched with broadcasting, in float64 (own loop).
  Tensor v = Make<float>({1, 1, 1}, {3});
  EXPECT_EQ(Run("matmul", {Value::Tensor(0), Value::Tensor(1)}, {v, a}).sizes(), (Shape{4}));
  Tensor a3 = Make<double>(std::vector<double>(2 * 3 * 4, 1.0), {2, 3, 4});
  Tensor b2 = Make<double>(std::vector<double>(4 * 2, 2.0), {4, 2});
  Tensor c3 = Run("matmul", {Value::Tensor(0), Value::Tensor(1)}, {a3, b2});
  EXPECT_EQ(c3.sizes(), (Shape{2, 3, 2}));
  for (double x : Values<double>(c3)) EXPECT_EQ(x, 8.0);
}

TEST_F(KernelsTest, ReshapeViewsWhenItCanAndCopiesWhenItMust) {
  Tensor a = Make<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor r = Run("reshape", {Value::Tensor(0), Value::Ints({3, 2})}, {a});
  EXPECT_EQ(r.storage, a.storage);
  TensorMeta tm = a.meta;
  tm.sizes = {3, 2};
  tm.strides = {1, 3};
  Tensor r2 = Run("reshape", {Value::Tensor(0), Value::Ints({6})}, {a.View(tm)});
  EXPECT_NE(r2.storage, a.storage);
  EXPECT_EQ(Values<float>(r2), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST_F(KernelsTest, CastsConvertLikePyTorch) {
  Tensor a = Make<float>({-1.7f, 0.0f, 2.5f, 300.0f}, {4});
  EXPECT_EQ(Values<int32_t>(Run("to_dtype", {Value::Tensor(0), Value::OfDType(DType::kInt32)}, {a})),
            (std::vector<int32_t>{-1, 0, 2, 300}));
  EXPECT_EQ(Values<bool>(Run("to_dtype", {Value::Tensor(0), Value::OfDType(DType::kBool)}, {a})),
            (std::vector<bool>{true, false, true, true}));
  auto h = Values<Half>(Run("to_dtype", {Value::Tensor(0), Value::OfDType(DType::kFloat16)}, {a}));
  EXPECT_FLOAT_EQ(static_cast<float>(h[2]), 2.5f);
}

TEST_F(KernelsTest, FactoriesFillAndArange) {
  Tensor f = Run("full", {Value::Ints({2, 2}), Value::Float(1.5), Value::None(), Value::None()}, {});
  EXPECT_EQ(f.dtype(), DType::kFloat32);
  EXPECT_EQ(Values<float>(f), (std::vector<float>(4, 1.5f)));
  Tensor r = Run("arange", {Value::Int(1), Value::Int(10), Value::Int(3), Value::None(), Value::None()}, {});
  EXPECT_EQ(r.dtype(), DType::kInt64);
  EXPECT_EQ(Values<int64_t>(r), (std::vector<int64_t>{1, 4, 7}));
  Tensor rf = Run("arange", {Value::Float(0), Value::Float(1), Value::Float(0.25), Value::None(), Value::None()}, {});
  EXPECT_EQ(Values<float>(rf), (std::vector<float>{0, 0.25, 0.5, 0.75}));
}

}  // namespace
}  // namespace tensord
