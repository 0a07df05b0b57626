// OpProfiler: nesting, record_function ranges, the JSON-lines report and its
// event cap (scheduler/autograd/profiler_ops.h).
#include "scheduler/autograd/profiler_ops.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace tensord::autograd {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(OpProfilerTest, NestedEventsNameTheirParentAndRangesCloseOnlyRanges) {
  OpProfiler p(false);
  p.Begin("block", nullptr, true);
  p.Begin("mm", nullptr, false);
  EXPECT_FALSE(p.EndRange()) << "the innermost open event is an op, not a range";
  p.End();
  EXPECT_TRUE(p.EndRange());
  EXPECT_FALSE(p.EndRange()) << "nothing is open";
  p.Begin("add", nullptr, false);
  p.End();
  auto lines = Lines(p.Report());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"id\": 0, \"name\": \"block\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"parent\": -1, \"range\": true"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"name\": \"mm\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"parent\": 0, \"range\": false"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("\"parent\": -1"), std::string::npos) << lines[2];
}

TEST(OpProfilerTest, OpenEventsAreLeftOutAndTheirChildrenLoseTheLink) {
  OpProfiler p(false);
  p.Begin("never closed", nullptr, true);
  p.Begin("op", nullptr, false);
  p.End();
  auto lines = Lines(p.Report());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"name\": \"op\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"parent\": -1"), std::string::npos);
}

TEST(OpProfilerTest, NamesAreEscapedAsJson) {
  OpProfiler p(false);
  p.Begin("a \"quoted\" \\ name\n\twith\x01 controls", nullptr, true);
  p.End();
  const std::string report = p.Report();
  EXPECT_NE(report.find(R"("a \"quoted\" \\ name\u000a\u0009with\u0001 controls")"),
            std::string::npos)
      << report;
  EXPECT_EQ(Lines(report).size(), 1u);
}

TEST(OpProfilerTest, LongNamesAreCut) {
  OpProfiler p(false);
  p.Begin(std::string(OpProfiler::kMaxNameBytes * 3, 'x'), nullptr, true);
  p.End();
  const std::string report = p.Report();
  EXPECT_NE(report.find(std::string(OpProfiler::kMaxNameBytes, 'x') + "\""), std::string::npos);
  EXPECT_EQ(report.find(std::string(OpProfiler::kMaxNameBytes + 1, 'x')), std::string::npos);
  // A cut never splits a UTF-8 sequence: "é" is 2 bytes, the limit is even.
  std::string accents = "a";
  for (size_t i = 0; i < OpProfiler::kMaxNameBytes; i += 2) accents += "\xc3\xa9";
  OpProfiler r(false);
  r.Begin(accents, nullptr, true);
  r.End();
  EXPECT_NE(r.Report().find("\"a" + accents.substr(1, OpProfiler::kMaxNameBytes - 2) + "\""),
            std::string::npos);
}

TEST(OpProfilerTest, ShapesAreRecordedOnlyWhenAsked) {
  TensorMeta a = TensorMeta::Contiguous(DType::kFloat32, Device{}, {2, 3});
  OpArgs args;
  args.metas.push_back(&a);
  Value t;
  t.kind = Value::Kind::kTensor;
  t.i = 0;
  args.values.push_back(t);
  args.values.push_back(Value::Int(4));
  for (bool record : {false, true}) {
    OpProfiler p(record);
    p.Begin("sum", &args, false);
    p.End();
    const std::string report = p.Report();
    EXPECT_EQ(report.find("\"shapes\": \"[[2, 3], []]\"") != std::string::npos, record) << report;
  }
}

TEST(OpProfilerTest, EventsPastTheCapAreCountedNotKept) {
  OpProfiler p(false);
  for (size_t i = 0; i < OpProfiler::kMaxEvents + 5; ++i) {
    p.Begin("op", nullptr, false);
    p.End();
  }
  p.Begin("range", nullptr, true);  // dropped, but still closes as a range
  EXPECT_TRUE(p.EndRange());
  auto lines = Lines(p.Report());
  ASSERT_EQ(lines.size(), OpProfiler::kMaxEvents + 1);
  EXPECT_EQ(lines.back(), "{\"dropped\": 6}");
}

}  // namespace
}  // namespace tensord::autograd
