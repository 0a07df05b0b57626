#include <gtest/gtest.h>

#include <cmath>

#include "kernels/core/dtype.h"
#include "kernels/core/value.h"
#include "kernels/meta/rule_util.h"

namespace tensord {
namespace {

TEST(DType, PromotionFollowsPyTorchsTable) {
  // Pairs checked against torch.promote_types.
  EXPECT_EQ(PromoteTypes(DType::kUInt8, DType::kInt8), DType::kInt16);
  EXPECT_EQ(PromoteTypes(DType::kBool, DType::kInt32), DType::kInt32);
  EXPECT_EQ(PromoteTypes(DType::kInt64, DType::kFloat16), DType::kFloat16);
  EXPECT_EQ(PromoteTypes(DType::kFloat16, DType::kBFloat16), DType::kFloat32);
  EXPECT_EQ(PromoteTypes(DType::kBFloat16, DType::kFloat32), DType::kFloat32);
  EXPECT_EQ(PromoteTypes(DType::kInt32, DType::kFloat64), DType::kFloat64);
  EXPECT_EQ(PromoteTypes(DType::kUInt8, DType::kInt16), DType::kInt16);
}

TEST(DType, ParseAcceptsAliases) {
  EXPECT_EQ(ParseDType("float"), DType::kFloat32);
  EXPECT_EQ(ParseDType("torch.long"), DType::kInt64);
  EXPECT_EQ(ParseDType("half"), DType::kFloat16);
  EXPECT_FALSE(ParseDType("complex64").has_value());
}

TEST(DType, HalfRoundTripsAndRoundsToNearestEven) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f}) {
    EXPECT_EQ(static_cast<float>(Half(f)), f) << f;
  }
  EXPECT_TRUE(std::isinf(static_cast<float>(Half(70000.0f))));
  EXPECT_TRUE(std::isnan(static_cast<float>(Half(NAN))));
  EXPECT_EQ(static_cast<float>(Half(1.0f + 1.0f / 2048)), 1.0f);  // tie: to even
  EXPECT_EQ(static_cast<float>(BFloat16(1.00390625f)), 1.0f);      // tie: to even
  EXPECT_EQ(static_cast<float>(BFloat16(3.0f)), 3.0f);
}

// torch.result_type: dimensioned tensors, then 0-d tensors, then numbers.
TEST(DType, ResultTypeRanksTensorsAboveNumbers) {
  TensorMeta i32 = TensorMeta::Contiguous(DType::kInt32, {}, {3});
  TensorMeta f64_0d = TensorMeta::Contiguous(DType::kFloat64, {}, {});
  TensorMeta u8 = TensorMeta::Contiguous(DType::kUInt8, {}, {3});
  TensorMeta b = TensorMeta::Contiguous(DType::kBool, {}, {3});
  auto rt = [](std::vector<Value> vals, std::vector<const TensorMeta*> metas) {
    OpArgs a{std::move(vals), std::move(metas)};
    std::vector<int> pos;
    for (size_t i = 0; i < a.values.size(); ++i) pos.push_back(static_cast<int>(i));
    return ResultType(a, pos);
  };
  EXPECT_EQ(rt({Value::Tensor(0), Value::Int(5)}, {&i32}), DType::kInt32);
  EXPECT_EQ(rt({Value::Tensor(0), Value::Float(2.5)}, {&i32}), DType::kFloat32);
  EXPECT_EQ(rt({Value::Tensor(0), Value::Tensor(1)}, {&i32, &f64_0d}), DType::kFloat64);
  EXPECT_EQ(rt({Value::Tensor(0), Value::Int(-1)}, {&u8}), DType::kUInt8);
  EXPECT_EQ(rt({Value::Tensor(0), Value::Int(1)}, {&b}), DType::kInt64);
  EXPECT_EQ(rt({Value::Tensor(0), Value::Bool(true)}, {&b}), DType::kBool);
}

}  // namespace
}  // namespace tensord
