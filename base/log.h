// Logging in the form Lambda expects: one line per record on stderr, plain
// text or (AWS_LAMBDA_LOG_FORMAT=JSON) one JSON object per line, filtered by
// AWS_LAMBDA_LOG_LEVEL. Callers must never pass a password or secret value in
// a message; the Secret type cannot be formatted, which helps.
//
// Thread-safety: configure once at start-up, before logging from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace secret_rotator {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kFatal };
enum class LogFormat { kText, kJson };

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
};

// Reads AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR, FATAL; default
// INFO) and AWS_LAMBDA_LOG_FORMAT (Text or JSON; default Text). An unknown
// value is a ConfigurationError.
Result<LogConfig> LogConfigFromEnvironment();

// What a record is about. Empty fields are left out.
struct LogContext {
  std::string request_id;
  std::string secret_id;
  std::string step;
};

// Receives each formatted line, without the trailing newline.
using LogSink = std::function<void(std::string_view line)>;

// Sets the process-wide configuration; a null sink writes to stderr.
void ConfigureLogging(LogConfig config, LogSink sink = nullptr);

// Writes one record if `level` passes the configured filter.
void Log(LogLevel level, const LogContext& context, std::string_view message);

// Writes `line` (one JSON object, no newline) as one whole record where Log()
// writes, whatever the level: for machine records such as CloudWatch
// Embedded Metric Format. One write per record, so that it never interleaves
// with a log line. The caller must never pass a secret value.
void WriteRecord(std::string_view line);

// The line Log() writes, at time `now`. Exposed for tests.
std::string FormatLogLine(LogFormat format, LogLevel level, const LogContext& context,
                          std::string_view message, std::chrono::system_clock::time_point now);

// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-11-25T12:51:21.042Z.
std::string Rfc3339Timestamp(std::chrono::system_clock::time_point when);

}  // namespace secret_rotator
