#include "handler/step_metrics.h"

#include "base/json.h"

namespace secret_rotator::handler {

std::string EmfRecord(const StepMetric& metric, std::chrono::system_clock::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  JsonValue record = JsonValue::object();
  JsonValue directive = JsonValue::object();
  directive["Namespace"] = kMetricsNamespace;
  directive["Dimensions"] = JsonValue::array({JsonValue::array({"engine", "strategy", "step"})});
  directive["Metrics"] = JsonValue::array({
      JsonValue{{"Name", "Duration"}, {"Unit", "Milliseconds"}},
      JsonValue{{"Name", "Success"}, {"Unit", "Count"}},
  });
  record["_aws"] = JsonValue{
      {"Timestamp", duration_cast<milliseconds>(now.time_since_epoch()).count()},
      {"CloudWatchMetrics", JsonValue::array({std::move(directive)})},
  };
  record["engine"] = metric.engine;
  record["strategy"] = metric.strategy;
  record["step"] = metric.step;
  record["Duration"] = metric.duration.count();
  record["Success"] = metric.success ? 1 : 0;
  if (!metric.success) record["errorType"] = metric.error_type;
  if (!metric.request_id.empty()) record["requestId"] = metric.request_id;
  return WriteJson(record);
}

}  // namespace secret_rotator::handler
