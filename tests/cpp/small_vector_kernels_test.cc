// SmallVector (kernels/core/small_vector.h): inline up to N, heap beyond.
#include <gtest/gtest.h>

#include "kernels/core/small_vector.h"

namespace tensord {
namespace {

using V = SmallVector<int64_t, 3>;

TEST(SmallVector, GrowsPastItsInlineCapacityKeepingValues) {
  V v = {1, 2};
  EXPECT_EQ(v.capacity(), 3u);
  for (int64_t i = 3; i <= 10; ++i) v.push_back(i);
  ASSERT_EQ(v.size(), 10u);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(v[i], i + 1);
  v.push_back(v[0]);  // aliasing an element while growing
  EXPECT_EQ(v.back(), 1);
}

TEST(SmallVector, InsertEraseAndConversions) {
  V v = {1, 4};
  v.insert(v.begin() + 1, {2, 3});
  EXPECT_EQ(std::vector<int64_t>(v), (std::vector<int64_t>{1, 2, 3, 4}));
  v.insert(v.end(), v.begin(), v.begin() + 2);  // a range of itself
  EXPECT_EQ(std::vector<int64_t>(v), (std::vector<int64_t>{1, 2, 3, 4, 1, 2}));
  v.erase(v.begin(), v.begin() + 4);
  EXPECT_EQ(v, (V{1, 2}));
  std::vector<int64_t> sv = {7, 8, 9, 10};
  V from = sv;
  EXPECT_TRUE(from == sv);
  V moved = std::move(from);
  EXPECT_EQ(moved.size(), 4u);
  EXPECT_TRUE(from.empty());
  V small = {5};
  V small_moved = std::move(small);
  EXPECT_EQ(small_moved, (V{5}));
  V filled(4, 9);
  filled.resize(2);
  EXPECT_EQ(filled, (V{9, 9}));
  filled.assign(5, 1);
  EXPECT_EQ(filled.size(), 5u);
}

}  // namespace
}  // namespace tensord
