#include "base/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/json.h"

namespace secret_rotator {
namespace {

const auto kNoon =
    std::chrono::system_clock::from_time_t(1795953600) + std::chrono::milliseconds(42);

TEST(FormatLogLine, JsonHasTheFieldsLambdaExpects) {
  const std::string line =
      FormatLogLine(LogFormat::kJson, LogLevel::kInfo, {"req-1", "arn:secret", "createSecret"},
                    "done \"x\"", kNoon);
  Result<JsonValue> parsed = ParseJson(line, "log line", "Test");
  ASSERT_TRUE(parsed.ok()) << line;
  EXPECT_EQ((*parsed)["timestamp"].get<std::string>(), "2026-11-29T12:00:00.042Z");
  EXPECT_EQ((*parsed)["level"].get<std::string>(), "INFO");
  EXPECT_EQ((*parsed)["message"].get<std::string>(), "done \"x\"");
  EXPECT_EQ((*parsed)["requestId"].get<std::string>(), "req-1");
  EXPECT_EQ((*parsed)["secretId"].get<std::string>(), "arn:secret");
  EXPECT_EQ((*parsed)["step"].get<std::string>(), "createSecret");
}

TEST(FormatLogLine, JsonLeavesOutEmptyContext) {
  const std::string line = FormatLogLine(LogFormat::kJson, LogLevel::kError, {}, "m", kNoon);
  EXPECT_EQ(line, R"({"timestamp":"2026-11-29T12:00:00.042Z","level":"ERROR","message":"m"})");
}

TEST(FormatLogLine, TextIsOneLine) {
  const std::string line =
      FormatLogLine(LogFormat::kText, LogLevel::kWarn, {"req-1", "s", "setSecret"}, "a\nb", kNoon);
  EXPECT_EQ(line, "[WARN]\t2026-11-29T12:00:00.042Z\treq-1\tsecretId=s step=setSecret a b");
}

TEST(Log, FiltersByLevel) {
  std::vector<std::string> lines;
  ConfigureLogging({LogLevel::kWarn, LogFormat::kText},
                   [&](std::string_view line) { lines.emplace_back(line); });
  Log(LogLevel::kInfo, {}, "hidden");
  Log(LogLevel::kError, {}, "shown");
  ConfigureLogging({});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("shown"), std::string::npos);
}

TEST(LogConfigFromEnvironment, ReadsLambdaVariablesAndRefusesUnknownValues) {
  ::setenv("AWS_LAMBDA_LOG_LEVEL", "debug", 1);
  ::setenv("AWS_LAMBDA_LOG_FORMAT", "JSON", 1);
  Result<LogConfig> config = LogConfigFromEnvironment();
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->level, LogLevel::kDebug);
  EXPECT_EQ(config->format, LogFormat::kJson);
  ::setenv("AWS_LAMBDA_LOG_LEVEL", "LOUD", 1);
  EXPECT_EQ(LogConfigFromEnvironment().status().type(), "ConfigurationError");
  ::unsetenv("AWS_LAMBDA_LOG_LEVEL");
  ::setenv("AWS_LAMBDA_LOG_FORMAT", "xml", 1);
  EXPECT_EQ(LogConfigFromEnvironment().status().type(), "ConfigurationError");
  ::unsetenv("AWS_LAMBDA_LOG_FORMAT");
  config = LogConfigFromEnvironment();
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->level, LogLevel::kInfo);
  EXPECT_EQ(config->format, LogFormat::kText);
}

}  // namespace
}  // namespace secret_rotator
