// Products and random fills on non-contiguous and broadcast (stride-0)
// operands, run directly on the CPU kernels against a naive reference. (The
// Python tests cover dtypes and torch parity; views they can only make once
// the shape family's transpose/expand exist.)
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "kernels/meta/infer.h"
#include "kernel_test_base.h"

namespace tensord {
namespace {

class LinalgKernelsTest : public testing::KernelTestBase {
 protected:

  // A contiguous tensor of `dtype` with small integer values (exact in every dtype).
  Tensor Random(DType dtype, Shape sizes, int seed) {
    Tensor d = Tensor::Empty(TensorMeta::Contiguous(DType::kFloat64, {}, sizes));
    std::mt19937 rng(seed);
    for (int64_t i = 0; i < d.numel(); ++i) d.data<double>()[i] = static_cast<int>(rng() % 7) - 3;
    return CastTo(d, dtype);
  }

  static double At(const Tensor& t, const Shape& idx) {
    Tensor d = Tensor::Empty(TensorMeta::Contiguous(DType::kFloat64, {}, {}));
    int64_t off = 0;
    for (size_t i = 0; i < idx.size(); ++i) off += idx[i] * t.strides()[i];
    TensorMeta m = t.meta;
    m.sizes = {};
    m.strides = {};
    m.offset += off;
    CopyInto(d, t.View(m));
    return d.data<double>()[0];
  }

  // c[b] == a[b] @ x[b] for 3-D operands (any strides).
  void ExpectBatchedProduct(const Tensor& a, const Tensor& x, const Tensor& c) {
    ASSERT_EQ(c.sizes(), (Shape{a.sizes()[0], a.sizes()[1], x.sizes()[2]}));
    for (int64_t b = 0; b < c.sizes()[0]; ++b)
      for (int64_t i = 0; i < c.sizes()[1]; ++i)
        for (int64_t j = 0; j < c.sizes()[2]; ++j) {
          double want = 0;
          for (int64_t p = 0; p < a.sizes()[2]; ++p) want += At(a, {b, i, p}) * At(x, {b, p, j});
          EXPECT_EQ(At(c, {b, i, j}), want) << b << "," << i << "," << j;
        }
  }

};

class ProductDTypes : public LinalgKernelsTest, public ::testing::WithParamInterface<DType> {};

TEST_P(ProductDTypes, BmmOfTransposedAndBroadcastOperands) {
  const DType d = GetParam();
  Tensor a = Transposed(Random(d, {3, 5, 4}, 1));           // [3, 4, 5], non-contiguous
  Tensor x0 = Random(d, {1, 5, 6}, 2);
  Tensor x = Strided(x0, {3, 5, 6}, {0, 6, 1});              // batch broadcast, stride 0
  ExpectBatchedProduct(a, x, Run("bmm", {Value::Tensor(0), Value::Tensor(1)}, {a, x}));
  Tensor xt = Transposed(Random(d, {3, 6, 5}, 3));
  ExpectBatchedProduct(a, xt, Run("bmm", {Value::Tensor(0), Value::Tensor(1)}, {a, xt}));
}

TEST_P(ProductDTypes, MmAndEinsumOfTransposedOperands) {
  const DType d = GetParam();
  Tensor a = Transposed(Random(d, {7, 3}, 4));  // [3, 7]
  Tensor b = Transposed(Random(d, {2, 7}, 5));  // [7, 2]
  Tensor c = Run("mm", {Value::Tensor(0), Value::Tensor(1)}, {a, b});
  auto as3 = [](const Tensor& t) {
    return Strided(t, {1, t.sizes()[0], t.sizes()[1]}, {0, t.strides()[0], t.strides()[1]});
  };
  ExpectBatchedProduct(as3(a), as3(b), as3(c));
  Tensor e = Run("einsum", {Value::Str("ij,jk->ik"), Value::Tensors({0, 1})}, {a, b});
  ExpectBatchedProduct(as3(a), as3(b), as3(e));
  Tensor m = Run("matmul", {Value::Tensor(0), Value::Tensor(1)}, {a, b});
  ExpectBatchedProduct(as3(a), as3(b), as3(m));
}

TEST_P(ProductDTypes, AddmmExpandsSelfAndScales) {
  const DType d = GetParam();
  Tensor self = Random(d, {5}, 6);
  Tensor a = Transposed(Random(d, {4, 3}, 7));
  Tensor b = Random(d, {4, 5}, 8);
  Tensor c = Run("addmm", {Value::Tensor(0), Value::Tensor(1), Value::Tensor(2), Value::Int(2),
                           Value::Int(3)}, {self, a, b});
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      double want = 2 * At(self, {j});
      for (int64_t p = 0; p < 4; ++p) want += 3 * At(a, {i, p}) * At(b, {p, j});
      EXPECT_EQ(At(c, {i, j}), want);
    }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ProductDTypes,
                         ::testing::Values(DType::kFloat32, DType::kFloat64, DType::kInt64,
                                           DType::kInt32));

TEST_F(LinalgKernelsTest, EinsumTraceOfATransposedViewAndDiagonal) {
  Tensor a = Transposed(Random(DType::kFloat64, {4, 4}, 9));
  Tensor tr = Run("einsum", {Value::Str("ii"), Value::Tensors({0})}, {a});
  Tensor dg = Run("einsum", {Value::Str("ii->i"), Value::Tensors({0})}, {a});
  double want = 0;
  for (int64_t i = 0; i < 4; ++i) {
    want += At(a, {i, i});
    EXPECT_EQ(At(dg, {i}), At(a, {i, i}));
  }
  EXPECT_EQ(At(tr, {}), want);
}

TEST_F(LinalgKernelsTest, RandomFillsOfAStridedViewLeaveOtherElementsAndRepeatAfterSeeding) {
  Tensor base = Tensor::Empty(TensorMeta::Contiguous(DType::kFloat32, {}, {4, 6}));
  std::fill(base.data<float>(), base.data<float>() + 24, 7.0f);
  Tensor cols = Strided(base, {4, 3}, {6, 2});  // every other column
  generator_.Seed(5);
  Run("uniform_", {Value::Tensor(0), Value::Float(2), Value::Float(3)}, {cols});
  std::vector<float> first(base.data<float>(), base.data<float>() + 24);
  for (int i = 0; i < 24; ++i) {
    if (i % 2) {
      EXPECT_EQ(first[i], 7.0f);
    } else {
      EXPECT_GE(first[i], 2.0f);
      EXPECT_LT(first[i], 3.0f);
    }
  }
  generator_.Seed(5);
  Run("uniform_", {Value::Tensor(0), Value::Float(2), Value::Float(3)}, {cols});
  EXPECT_EQ(std::vector<float>(base.data<float>(), base.data<float>() + 24), first);
  Run("normal_", {Value::Tensor(0), Value::Float(0), Value::Float(1)}, {cols});
  EXPECT_NE(std::vector<float>(base.data<float>(), base.data<float>() + 24), first);
  EXPECT_EQ(base.data<float>()[1], 7.0f);
}

}  // namespace
}  // namespace tensord
