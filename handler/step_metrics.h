// CloudWatch Embedded Metric Format (EMF) records of the rotation steps: one
// record per step, written to the function's log output, from which
// CloudWatch Logs extracts the metrics. A record names the engine, the
// strategy and the step (the dimensions), the step's duration and success
// (the metrics) and, on failure, its error type (a property). It never holds
// a secret value.
#pragma once

#include <chrono>
#include <string>

namespace secret_rotator::handler {

inline constexpr char kMetricsNamespace[] = "secret-rotator";

// What one step did. An engine or strategy the step did not get as far as
// reading is "unknown".
struct StepMetric {
  std::string engine = "unknown";
  std::string strategy = "unknown";
  std::string step;
  std::chrono::milliseconds duration{0};
  bool success = false;
  std::string error_type;  // empty on success
  std::string request_id;  // a property, left out when empty
};

// The EMF record of `metric` (one JSON object on one line), stamped `now`:
// namespace secret-rotator, dimensions engine/strategy/step, metrics
// Duration (Milliseconds) and Success (Count: 1 or 0), and the properties
// errorType (on failure) and requestId.
std::string EmfRecord(const StepMetric& metric, std::chrono::system_clock::time_point now);

}  // namespace secret_rotator::handler
