// OpRate: the total, and the per-second rate over the last whole seconds
// that Admin.ListSessions reports.
#include "server/op_rate.h"

#include <gtest/gtest.h>

namespace tensord {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(OpRate, CountsEveryOpInTheTotal) {
  const auto t0 = OpRate::Clock::now();
  OpRate rate(t0);
  for (int i = 0; i < 5; ++i) rate.Record(t0 + milliseconds(i));
  EXPECT_EQ(rate.total(), 5u);
}

TEST(OpRate, IsZeroBeforeOneWholeSecond) {
  const auto t0 = OpRate::Clock::now();
  OpRate rate(t0);
  rate.Record(t0);
  EXPECT_EQ(rate.PerSecond(t0 + milliseconds(900)), 0.0);
  EXPECT_EQ(rate.PerSecond(t0 + milliseconds(1000)), 1.0);
}

TEST(OpRate, AveragesOverTheSessionsAgeWhileYoungerThanTheWindow) {
  const auto t0 = OpRate::Clock::now();
  OpRate rate(t0);
  for (int i = 0; i < 30; ++i) rate.Record(t0 + milliseconds(100 * i));  // 10/s for 3 s
  EXPECT_DOUBLE_EQ(rate.PerSecond(t0 + seconds(3)), 10.0);
  // The current second's ops are not counted until it is whole.
  rate.Record(t0 + milliseconds(3500));
  EXPECT_DOUBLE_EQ(rate.PerSecond(t0 + milliseconds(3600)), 10.0);
}

TEST(OpRate, ForgetsOpsOlderThanTheWindow) {
  const auto t0 = OpRate::Clock::now();
  OpRate rate(t0);
  for (int i = 0; i < 100; ++i) rate.Record(t0 + milliseconds(10 * i));  // 100 in second 0
  EXPECT_DOUBLE_EQ(rate.PerSecond(t0 + seconds(OpRate::kWindowSeconds)),
                   100.0 / OpRate::kWindowSeconds);
  EXPECT_EQ(rate.PerSecond(t0 + seconds(OpRate::kWindowSeconds + 1)), 0.0);
  // A bucket reused many seconds later holds only the new second's ops.
  rate.Record(t0 + seconds(33));
  EXPECT_DOUBLE_EQ(rate.PerSecond(t0 + seconds(34)), 1.0 / OpRate::kWindowSeconds);
  EXPECT_EQ(rate.total(), 101u);
}

}  // namespace
}  // namespace tensord
