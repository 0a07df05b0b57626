#include <gtest/gtest.h>

#include "kernels/core/error.h"
#include "kernels/core/tensor.h"
#include "kernels/meta/shape_util.h"

namespace tensord {
namespace {

TEST(TensorMeta, BroadcastAlignsFromTheRight) {
  EXPECT_EQ(BroadcastShapes("t", {3, 1, 5}, {4, 1}), (Shape{3, 4, 5}));
  EXPECT_EQ(BroadcastShapes("t", {}, {2, 2}), (Shape{2, 2}));
  EXPECT_EQ(BroadcastShapes("t", {0, 1}, {1, 3}), (Shape{0, 3}));
  try {
    BroadcastShapes("add", {2, 3}, {4});
    FAIL();
  } catch (const OpError& e) {
    EXPECT_STREQ(e.what(), "[add] The size of tensor a (3) must match the size of tensor b (4) at "
                           "non-singleton dimension 1");
  }
}

TEST(TensorMeta, ContiguityAndStrides) {
  TensorMeta m = TensorMeta::Contiguous(DType::kFloat32, {}, {2, 3, 4});
  EXPECT_EQ(m.strides, (Shape{12, 4, 1}));
  EXPECT_TRUE(m.is_contiguous());
  m.strides = {12, 1, 3};  // a transpose of the last two dims
  m.sizes = {2, 4, 3};
  EXPECT_FALSE(m.is_contiguous());
}

TEST(TensorMeta, WrapDimChecksTheRange) {
  EXPECT_EQ(WrapDim(-1, 3), 2);
  EXPECT_EQ(WrapDim(0, 0), 0);
  EXPECT_THROW(WrapDim(3, 3), OpError);
  try {
    WrapDim(-4, 3);
  } catch (const OpError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIndex);
    EXPECT_STREQ(e.what(), "Dimension out of range (expected to be in range of [-3, 2], but got -4)");
  }
}

TEST(TensorMeta, ViewStridesExistOnlyForCompatibleLayouts) {
  EXPECT_EQ(*ViewStrides({2, 3, 4}, {12, 4, 1}, {6, 4}), (Shape{4, 1}));
  EXPECT_EQ(*ViewStrides({2, 3, 4}, {12, 4, 1}, {2, 12}), (Shape{12, 1}));
  // The transpose of a [3, 4] matrix cannot be flattened without a copy.
  EXPECT_FALSE(ViewStrides({4, 3}, {1, 4}, {12}).has_value());
  // But splitting its dims can.
  EXPECT_EQ(*ViewStrides({4, 3}, {1, 4}, {2, 2, 3}), (Shape{2, 1, 4}));
  EXPECT_EQ(InferSize("view", {-1, 4}, 12), (Shape{3, 4}));
  EXPECT_THROW(InferSize("view", {-1, 5}, 12), OpError);
  EXPECT_THROW(InferSize("view", {-1, -1}, 12), OpError);
}

TEST(TensorMeta, FitsInStorageRejectsViewsOutsideTheBytes) {
  TensorMeta m = TensorMeta::Contiguous(DType::kFloat32, {}, {2, 3});
  EXPECT_TRUE(FitsInStorage(m, 24));
  EXPECT_FALSE(FitsInStorage(m, 20));
  m.offset = 1;
  EXPECT_FALSE(FitsInStorage(m, 24));
  m.offset = 5;
  m.strides = {-3, -1};
  EXPECT_TRUE(FitsInStorage(m, 24));  // reads elements 0..5 backwards
  m.offset = 4;
  EXPECT_FALSE(FitsInStorage(m, 24));
  m.offset = -1;
  EXPECT_FALSE(FitsInStorage(m, 1 << 20));
}

TEST(TensorMeta, CheckedNbytesRefusesByteCountsThatWrap) {
  EXPECT_EQ(CheckedNbytes({2, 3}, DType::kFloat32), 24u);
  EXPECT_EQ(CheckedNbytes({}, DType::kInt64), 8u);
  EXPECT_EQ(CheckedNbytes({0, int64_t{1} << 62, int64_t{1} << 62}, DType::kInt64), 0u);
  EXPECT_FALSE(CheckedNbytes({2, -1}, DType::kUInt8).has_value());
  // 2^61 + 8 elements fit in 62 bits, but 8 bytes each wrap to 64 bytes.
  EXPECT_FALSE(CheckedNbytes({(int64_t{1} << 61) + 8}, DType::kInt64).has_value());
  EXPECT_EQ(CheckedNbytes({int64_t{1} << 62}, DType::kUInt8), uint64_t{1} << 62);
  EXPECT_FALSE(CheckedNbytes({int64_t{1} << 62}, DType::kInt16).has_value());
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::Empty(TensorMeta::Contiguous(DType::kInt32, {}, {4}));
  for (int i = 0; i < 4; ++i) t.data<int32_t>()[i] = i;
  TensorMeta vm = t.meta;
  vm.sizes = {2};
  vm.strides = {2};
  vm.offset = 1;
  Tensor v = t.View(vm);
  EXPECT_EQ(v.data<int32_t>()[0], 1);
  v.data<int32_t>()[0] = 42;
  EXPECT_EQ(t.data<int32_t>()[1], 42);
  EXPECT_EQ(t.storage.use_count(), 2);
}

TEST(Tensor, MemoryTrackerCountsLiveStorage) {
  auto tracker = std::make_shared<MemoryTracker>();
  {
    Tensor a = Tensor::Empty(TensorMeta::Contiguous(DType::kFloat64, {}, {100}), tracker);
    EXPECT_EQ(tracker->bytes.load(), 800);
  }
  EXPECT_EQ(tracker->bytes.load(), 0);
}

}  // namespace
}  // namespace tensord
