// The daemon's log line formats: every JSON line parses whatever bytes a
// message holds, and fields of nested scopes do not repeat a key.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <sstream>

#include "server/log.h"

namespace tensord {
namespace {

class LogFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  std::ostringstream out_;
};

TEST_F(LogFormatTest, JsonLinesParseWhateverBytesTheMessageHolds) {
  ConfigureLogging(LogFormat::kJson, spdlog::level::info);
  {
    ScopedLogFields fields({{"session", "ab\"cd\\ef"}, {"ms", "12.5", /*number=*/true}});
    spdlog::warn("quote \" newline \n tab \t bell \x07 bad \xff\xfe utf8 \xc3\xa9 end");
  }
  spdlog::debug("below the level: not written");
  const std::string line = out_.str();
  ASSERT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["msg"],
            "quote \" newline \n tab \t bell \x07 bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9 end");
  EXPECT_EQ(j["session"], "ab\"cd\\ef");
  EXPECT_EQ(j["ms"], 12.5);
  EXPECT_EQ(j["ts"].get<std::string>().back(), 'Z');
}

TEST_F(LogFormatTest, InnerScopesOverrideAKeyAndFieldsEndWithTheirScope) {
  ConfigureLogging(LogFormat::kJson, spdlog::level::info);
  {
    ScopedLogFields outer(SessionLogFields("0123456789abcdef", "alice"));
    ScopedLogFields inner(std::vector<LogField>{{"tenant", "bob"}});
    spdlog::info("nested");
  }
  spdlog::info("after");
  std::istringstream lines(out_.str());
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(first.find("\"tenant\"", first.find("\"tenant\"") + 1), std::string::npos) << first;
  const auto j = nlohmann::json::parse(first);
  EXPECT_EQ(j["session"], "01234567");
  EXPECT_EQ(j["tenant"], "bob");
  EXPECT_FALSE(nlohmann::json::parse(second).contains("session")) << second;
}

TEST_F(LogFormatTest, TextLinesAppendFieldsAsKeyValuePairs) {
  ConfigureLogging(LogFormat::kText, spdlog::level::info);
  {
    ScopedLogFields fields({{"session", "01234567"}, {"location", "my file.py:3"}});
    spdlog::info("hello");
  }
  const std::string line = out_.str();
  EXPECT_NE(line.find(" info tensord: hello session=01234567 location=\"my file.py:3\"\n"),
            std::string::npos)
      << line;
}

TEST(LogFormat, OnlyTextAndJsonAreFormats) {
  LogFormat f;
  EXPECT_TRUE(ParseLogFormat("json", &f));
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &f));
  EXPECT_EQ(f, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("JSON", &f));
}

}  // namespace
}  // namespace tensord
