#include "util/log.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

namespace coffer::util {
namespace {

// A line is one JSON object with ts, level and msg first, then the fields.
TEST(LogTest, FormatLogLineWritesOneJsonObject) {
  std::string line = FormatLogLine(LogLevel::kInfo, "request done",
                                   {{"op", "GetParameter"},
                                    {"status", 200},
                                    {"ok", true},
                                    {"latency", 0.25},
                                    {"bytes", 12345678901LL}});
  EXPECT_TRUE(line.starts_with("{\"ts\":\"")) << line;
  EXPECT_NE(line.find("Z\",\"level\":\"info\",\"msg\":\"request done\""), std::string::npos)
      << line;
  EXPECT_TRUE(
      line.ends_with(",\"op\":\"GetParameter\",\"status\":200,\"ok\":true,"
                     "\"latency\":0.25,\"bytes\":12345678901}"))
      << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

// Quotes, backslashes and control characters in the message, keys and values are escaped.
TEST(LogTest, FormatLogLineEscapesStrings) {
  std::string line =
      FormatLogLine(LogLevel::kWarn, "a \"quoted\"\nline\\", {{"k\"ey", "v\r\t\x01\x7f"}});
  EXPECT_NE(line.find("\"msg\":\"a \\\"quoted\\\"\\nline\\\\\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"k\\\"ey\":\"v\\r\\t\\u0001\\u007f\""), std::string::npos) << line;
  for (char c : line) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << line;
}

// Non-finite numbers are written as null so the line stays valid JSON.
TEST(LogTest, FormatLogLineWritesNonFiniteNumbersAsNull) {
  std::string line = FormatLogLine(LogLevel::kError, "m",
                                   {{"nan", std::numeric_limits<double>::quiet_NaN()},
                                    {"inf", std::numeric_limits<double>::infinity()}});
  EXPECT_TRUE(line.ends_with(",\"nan\":null,\"inf\":null}")) << line;
}

// Level names parse, unknown names fall back to info.
TEST(LogTest, ParseLogLevelKnowsNamesAndDefaultsToInfo) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("off"), LogLevel::kOff);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("verbose"), LogLevel::kInfo);
}

// AppendJsonEscaped appends without quotes and keeps UTF-8 bytes.
TEST(LogTest, AppendJsonEscapedAppends) {
  std::string out = "x";
  AppendJsonEscaped(out, "caf\xc3\xa9 \"/\"");
  EXPECT_EQ(out, "xcaf\xc3\xa9 \\\"/\\\"");
}

// Info lines are written in batches, warn and error lines at once (with what
// precedes them), and FlushLogging writes everything buffered; order is kept.
TEST(LogTest, BatchedSinkKeepsOrderAndFlushesWarningsAtOnce) {
  char dir[] = "/tmp/coffer_log_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/log";
  auto read = [&] {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  InitLogging(LogLevel::kInfo, path);
  LogInfo("first");
  LogInfo("second");
  LogWarn("third");  // written now, after the two before it
  std::string text = read();
  size_t a = text.find("\"first\""), b = text.find("\"second\""), c = text.find("\"third\"");
  ASSERT_NE(c, std::string::npos) << text;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  LogInfo("fourth");
  FlushLogging();
  EXPECT_NE(read().find("\"fourth\""), std::string::npos);
  InitLogging(LogLevel::kOff);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace coffer::util
