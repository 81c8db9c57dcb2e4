#include "base/log.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <utility>

#include "base/env.h"
#include "base/json_text.h"

namespace secret_rotator {
namespace {

struct LevelName {
  LogLevel level;
  std::string_view name;
};
constexpr std::array<LevelName, 6> kLevelNames = {{{LogLevel::kTrace, "TRACE"},
                                                   {LogLevel::kDebug, "DEBUG"},
                                                   {LogLevel::kInfo, "INFO"},
                                                   {LogLevel::kWarn, "WARN"},
                                                   {LogLevel::kError, "ERROR"},
                                                   {LogLevel::kFatal, "FATAL"}}};

std::string_view NameOf(LogLevel level) {
  for (const auto& entry : kLevelNames) {
    if (entry.level == level) return entry.name;
  }
  return "INFO";
}

struct LogState {
  LogConfig config;
  LogSink sink;
};

LogState& State() {
  static LogState state;
  return state;
}

void WriteToStderr(std::string_view line) {
  // One write per record, so lines from one process never interleave.
  std::string buffer(line);
  buffer += '\n';
  std::size_t written = 0;
  while (written < buffer.size()) {
    const ssize_t n = ::write(STDERR_FILENO, buffer.data() + written, buffer.size() - written);
    if (n <= 0) return;
    written += static_cast<std::size_t>(n);
  }
}

}  // namespace

Result<LogConfig> LogConfigFromEnvironment() {
  LogConfig config;
  if (auto level = GetEnv("AWS_LAMBDA_LOG_LEVEL"); level && !level->empty()) {
    bool known = false;
    for (const auto& entry : kLevelNames) {
      if (EqualsIgnoreCase(*level, entry.name)) {
        config.level = entry.level;
        known = true;
      }
    }
    if (!known) {
      return Status(StatusCode::kInvalidArgument, "ConfigurationError",
                    "AWS_LAMBDA_LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, "
                    "not '" +
                        *level + "'");
    }
  }
  if (auto format = GetEnv("AWS_LAMBDA_LOG_FORMAT"); format && !format->empty()) {
    if (EqualsIgnoreCase(*format, "JSON")) {
      config.format = LogFormat::kJson;
    } else if (EqualsIgnoreCase(*format, "Text")) {
      config.format = LogFormat::kText;
    } else {
      return Status(StatusCode::kInvalidArgument, "ConfigurationError",
                    "AWS_LAMBDA_LOG_FORMAT must be Text or JSON, not '" + *format + "'");
    }
  }
  return config;
}

void ConfigureLogging(LogConfig config, LogSink sink) {
  State() = LogState{config, std::move(sink)};
}

void Log(LogLevel level, const LogContext& context, std::string_view message) {
  if (level < State().config.level) return;
  const LogState& state = State();
  const std::string line =
      FormatLogLine(state.config.format, level, context, message, std::chrono::system_clock::now());
  if (state.sink) {
    state.sink(line);
  } else {
    WriteToStderr(line);
  }
}

void WriteRecord(std::string_view line) {
  const LogState& state = State();
  if (state.sink) {
    state.sink(line);
  } else {
    WriteToStderr(line);
  }
}

std::string Rfc3339Timestamp(std::chrono::system_clock::time_point when) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto since_epoch = duration_cast<milliseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(since_epoch / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(since_epoch % 1000));
  return text.data();
}

std::string FormatLogLine(LogFormat format, LogLevel level, const LogContext& context,
                          std::string_view message, std::chrono::system_clock::time_point now) {
  std::string line;
  const std::string timestamp = Rfc3339Timestamp(now);
  if (format == LogFormat::kJson) {
    auto field = [&line](std::string_view name, std::string_view value) {
      line += ',';
      AppendJsonString(line, name);
      line += ':';
      AppendJsonString(line, value);
    };
    line += "{\"timestamp\":";
    AppendJsonString(line, timestamp);
    field("level", NameOf(level));
    field("message", message);
    if (!context.request_id.empty()) field("requestId", context.request_id);
    if (!context.secret_id.empty()) field("secretId", context.secret_id);
    if (!context.step.empty()) field("step", context.step);
    line += '}';
    return line;
  }
  // Lambda's own text layout: [LEVEL]<TAB>timestamp<TAB>request id<TAB>message.
  line += '[';
  line += NameOf(level);
  line += "]\t";
  line += timestamp;
  line += '\t';
  line += context.request_id;
  line += '\t';
  if (!context.secret_id.empty()) line += "secretId=" + context.secret_id + " ";
  if (!context.step.empty()) line += "step=" + context.step + " ";
  // Keep one record on one line whatever the message holds.
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  return line;
}

}  // namespace secret_rotator
