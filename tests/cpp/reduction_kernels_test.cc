// Reduction, scan and sort kernels on non-contiguous and 0-d inputs, run
// directly (the Python suite compares every op with PyTorch).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "kernels/meta/infer.h"
#include "kernel_test_base.h"

namespace tensord {
namespace {

class ReductionKernelsTest : public testing::KernelTestBase {};

// Transposed [[1, 4], [2, 5], [3, 6]] from row-major [[1, 2, 3], [4, 5, 6]].
TEST_F(ReductionKernelsTest, SumOverATransposedInputReducesItsRows) {
  Tensor t = Transposed<float>({1, 2, 3, 4, 5, 6});
  auto out = RunAll("sum", {Value::Tensor(0), Value::Ints({1}), Value::Bool(false), Value::None()}, {t});
  EXPECT_EQ(Values<float>(out[0]), (std::vector<float>{5, 7, 9}));
}

TEST_F(ReductionKernelsTest, MaxDimGivesFirstIndexAndNanWins) {
  Tensor t = Transposed<float>({1, 7, NAN, 7, 2, 0});  // [[1, 7], [7, 2], [nan, 0]]
  auto out = RunAll("max_dim", {Value::Tensor(0), Value::Int(0), Value::Bool(false)}, {t});
  std::vector<float> v = Values<float>(out[0]);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], 7);
  EXPECT_EQ(Values<int64_t>(out[1]), (std::vector<int64_t>{2, 0}));
}

TEST_F(ReductionKernelsTest, StableSortAlongTheStridedDimPutsNanLast) {
  Tensor t = Transposed<float>({3, NAN, 1, 1, 2, 3});  // [[3, 1], [nan, 2], [1, 3]]
  auto out = RunAll("sort", {Value::Tensor(0), Value::Int(0), Value::Bool(false), Value::Bool(true)}, {t});
  std::vector<float> v = Values<float>(out[0]);
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[1], 1);
  EXPECT_EQ(v[2], 3);
  EXPECT_EQ(v[3], 2);
  EXPECT_TRUE(std::isnan(v[4]));
  EXPECT_EQ(v[5], 3);
  EXPECT_EQ(Values<int64_t>(out[1]), (std::vector<int64_t>{2, 0, 0, 1, 1, 2}));
}

TEST_F(ReductionKernelsTest, CumsumOfTransposedIntsAccumulatesInInt64) {
  Tensor t = Transposed<int32_t>({1, 2, 3, 4, 5, 6});  // [[1, 4], [2, 5], [3, 6]]
  auto out = RunAll("cumsum", {Value::Tensor(0), Value::Int(0), Value::None()}, {t});
  EXPECT_EQ(out[0].dtype(), DType::kInt64);
  EXPECT_EQ(Values<int64_t>(out[0]), (std::vector<int64_t>{1, 4, 3, 9, 6, 15}));
}

TEST_F(ReductionKernelsTest, UniqueSetsDataDependentSizes) {
  Tensor t = Transposed<int64_t>({3, 1, 3, 2, 1, 2});  // [[3, 2], [1, 1], [3, 2]]
  auto out = RunAll("unique_all", {Value::Tensor(0), Value::Bool(true), Value::Bool(true),
                                Value::Bool(true), Value::None()}, {t});
  EXPECT_EQ(Values<int64_t>(out[0]), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Values<int64_t>(out[1]), (std::vector<int64_t>{2, 1, 0, 0, 2, 1}));
  EXPECT_EQ(Values<int64_t>(out[2]), (std::vector<int64_t>{2, 2, 2}));
  auto rows = RunAll("unique_all", {Value::Tensor(0), Value::Bool(true), Value::Bool(true),
                                 Value::Bool(true), Value::Int(0)}, {t});
  EXPECT_EQ(rows[0].sizes(), (Shape{2, 2}));
  EXPECT_EQ(Values<int64_t>(rows[0]), (std::vector<int64_t>{1, 1, 3, 2}));
  EXPECT_EQ(Values<int64_t>(rows[1]), (std::vector<int64_t>{1, 0, 1}));
}

TEST_F(ReductionKernelsTest, ZeroDimInputsReduceAlongDimZero) {
  Tensor s = Make<float>({2.5f}, {});
  auto mx = RunAll("max_dim", {Value::Tensor(0), Value::Int(-1), Value::Bool(true)}, {s});
  EXPECT_EQ(mx[0].sizes(), Shape{});
  EXPECT_EQ(Values<float>(mx[0]), (std::vector<float>{2.5f}));
  EXPECT_EQ(Values<int64_t>(mx[1]), (std::vector<int64_t>{0}));
  auto sm = RunAll("softmax", {Value::Tensor(0), Value::Int(0), Value::None()}, {s});
  EXPECT_EQ(Values<float>(sm[0]), (std::vector<float>{1.0f}));
}

TEST_F(ReductionKernelsTest, ArgmaxOfAnEmptyTensorIsAnIndexErrorAtInference) {
  Tensor e = Make<float>({}, {0, 3});
  const OpSchema* op = FindOp("argmax");
  OpArgs args;
  args.values = {Value::Tensor(0), Value::None(), Value::Bool(false)};
  args.metas = {&e.meta};
  try {
    InferMeta(*op, args);
    FAIL() << "argmax of an empty tensor inferred a result";
  } catch (const OpError& err) {
    EXPECT_EQ(err.kind(), ErrorKind::kIndex);
    EXPECT_NE(std::string(err.what()).find("[argmax]"), std::string::npos);
  }
}

}  // namespace
}  // namespace tensord
