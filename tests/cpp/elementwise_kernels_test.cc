// Elementwise kernels over strided views (transposed, stepped) and in place
// through views, run directly; the Python suite compares every op with
// PyTorch but has no strided view ops of its own to build such inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "kernels/meta/infer.h"
#include "kernel_test_base.h"

namespace tensord {
namespace {

class ElementwiseKernelsTest : public testing::KernelTestBase {};

TEST_F(ElementwiseKernelsTest, UnaryFloatFunctionReadsATransposedIntTensor) {
  Tensor at = Transposed(Make<int64_t>({1, 4, 9, 16, 25, 36}, {2, 3}));
  Tensor r = Run("sqrt", {Value::Tensor(0)}, {at});
  EXPECT_EQ(r.dtype(), DType::kFloat32);
  EXPECT_EQ(Values<float>(r), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST_F(ElementwiseKernelsTest, PowAndComparisonBroadcastOverTransposedInputs) {
  Tensor at = Transposed(Make<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3}));
  Tensor e = Make<int32_t>({2, 0}, {2});
  EXPECT_EQ(Values<int32_t>(Run("pow", {Value::Tensor(0), Value::Tensor(1)}, {at, e})),
            (std::vector<int32_t>{1, 1, 4, 1, 9, 1}));
  Tensor lt = Run("lt", {Value::Tensor(0), Value::Float(3.5)}, {at});
  EXPECT_EQ(lt.dtype(), DType::kBool);
  EXPECT_EQ(Values<bool>(lt), (std::vector<bool>{true, false, true, false, true, false}));
}

TEST_F(ElementwiseKernelsTest, WhereAndClampTakeStridedOperands) {
  Tensor x = Transposed(Make<float>({-2, 0.5, 3, 4, -5, 6}, {2, 3}));  // [[-2,4],[0.5,-5],[3,6]]
  Tensor cond = Make<bool>({true, false}, {2});
  Tensor w = Run("where", {Value::Tensor(0), Value::Tensor(1), Value::Int(0)}, {cond, x});
  EXPECT_EQ(Values<float>(w), (std::vector<float>{-2, 0, 0.5, 0, 3, 0}));
  Tensor c = Run("clamp", {Value::Tensor(0), Value::Int(-1), Value::Int(1)}, {x});
  EXPECT_EQ(Values<float>(c), (std::vector<float>{-1, 1, 0.5, -1, 1, 1}));
}

TEST_F(ElementwiseKernelsTest, InPlaceOpsWriteOnlyTheViewedElements) {
  Tensor base = Make<float>({4, 7, 9, 7, 16, 7}, {6});
  Run("sqrt_", {Value::Tensor(0)}, {Stepped(base)});
  EXPECT_EQ(Values<float>(base), (std::vector<float>{2, 7, 3, 7, 4, 7}));
  Run("clamp_", {Value::Tensor(0), Value::None(), Value::Float(2.5)}, {Stepped(base)});
  EXPECT_EQ(Values<float>(base), (std::vector<float>{2, 7, 2.5, 7, 2.5, 7}));
  Tensor other = Make<float>({1, 2, 3}, {3});
  Run("pow_", {Value::Tensor(0), Value::Tensor(1)}, {Stepped(base), other});
  EXPECT_EQ(Values<float>(base), (std::vector<float>{2, 7, 6.25, 7, 15.625, 7}));
}

TEST_F(ElementwiseKernelsTest, InPlaceIntoAnotherDTypeConvertsTheResult) {
  Tensor f = Make<float>({1, 2, 3, 4}, {4});
  Run("lt_", {Value::Tensor(0), Value::Float(2.5)}, {Stepped(f)});
  EXPECT_EQ(Values<float>(f), (std::vector<float>{1, 2, 0, 4}));
  Tensor i = Make<int64_t>({1, 2}, {2});
  EXPECT_THROW(Run("sqrt_", {Value::Tensor(0)}, {i}), OpError);
}

TEST_F(ElementwiseKernelsTest, IntegerDivisionByZeroIsAnError) {
  Tensor a = Make<int64_t>({1, 2}, {2});
  EXPECT_THROW(Run("remainder", {Value::Tensor(0), Value::Int(0)}, {a}), OpError);
  EXPECT_THROW(Run("floor_divide", {Value::Tensor(0), Value::Int(0)}, {a}), OpError);
}

}  // namespace
}  // namespace tensord
