// A checker for CloudWatch Embedded Metric Format records, after the
// specification's required members ("Specification: Embedded metric format",
// Amazon CloudWatch User Guide): the root is one JSON object; _aws is an
// object with Timestamp (a number, milliseconds since the epoch) and
// CloudWatchMetrics (an array of MetricDirective); each MetricDirective has
// Namespace (a string of 1-255 characters), Dimensions (an array of
// DimensionSet: arrays of at most 30 strings, each naming a root member whose
// value is a string) and Metrics (an array of at most 100 MetricDefinition:
// Name, a string naming a root member whose value is a number or an array of
// at most 100 numbers; Unit, if present, one of CloudWatch's units).
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "base/json.h"

namespace secret_rotator::testing {

// Returns the problems of `line` as an EMF record; empty when it is valid.
inline std::vector<std::string> EmfProblems(const std::string& line) {
  std::vector<std::string> problems;
  Result<JsonValue> parsed = ParseJson(line, "EMF record", "Test");
  if (!parsed.ok() || !parsed->is_object()) return {"not one JSON object: " + line};
  const JsonValue& root = *parsed;
  if (!root.contains("_aws") || !root["_aws"].is_object()) return {"_aws is not an object"};
  const JsonValue& aws = root["_aws"];
  if (!aws.contains("Timestamp") || !aws["Timestamp"].is_number_integer() ||
      aws["Timestamp"].get<long long>() < 1'000'000'000'000LL) {
    problems.push_back("_aws.Timestamp is not a time in milliseconds since the epoch");
  }
  if (!aws.contains("CloudWatchMetrics") || !aws["CloudWatchMetrics"].is_array() ||
      aws["CloudWatchMetrics"].empty()) {
    problems.push_back("_aws.CloudWatchMetrics is not a non-empty array");
    return problems;
  }
  static const std::set<std::string> kUnits = {"Seconds",
                                               "Microseconds",
                                               "Milliseconds",
                                               "Bytes",
                                               "Kilobytes",
                                               "Megabytes",
                                               "Gigabytes",
                                               "Terabytes",
                                               "Bits",
                                               "Kilobits",
                                               "Megabits",
                                               "Gigabits",
                                               "Terabits",
                                               "Percent",
                                               "Count",
                                               "Bytes/Second",
                                               "Kilobytes/Second",
                                               "Megabytes/Second",
                                               "Gigabytes/Second",
                                               "Terabytes/Second",
                                               "Bits/Second",
                                               "Kilobits/Second",
                                               "Megabits/Second",
                                               "Gigabits/Second",
                                               "Terabits/Second",
                                               "Count/Second",
                                               "None"};
  for (const JsonValue& directive : aws["CloudWatchMetrics"]) {
    if (!directive.is_object()) {
      problems.push_back("a MetricDirective is not an object");
      continue;
    }
    if (!directive.contains("Namespace") || !directive["Namespace"].is_string() ||
        directive["Namespace"].get<std::string>().empty() ||
        directive["Namespace"].get<std::string>().size() > 255) {
      problems.push_back("Namespace is not a string of 1-255 characters");
    }
    if (!directive.contains("Dimensions") || !directive["Dimensions"].is_array()) {
      problems.push_back("Dimensions is not an array");
    } else {
      for (const JsonValue& set : directive["Dimensions"]) {
        if (!set.is_array() || set.size() > 30) {
          problems.push_back("a DimensionSet is not an array of at most 30 names");
          continue;
        }
        for (const JsonValue& name : set) {
          if (!name.is_string()) {
            problems.push_back("a dimension name is not a string");
          } else if (!root.contains(name.get<std::string>()) ||
                     !root[name.get<std::string>()].is_string()) {
            problems.push_back("dimension " + name.get<std::string>() +
                               " is not a string member of the root");
          }
        }
      }
    }
    if (!directive.contains("Metrics") || !directive["Metrics"].is_array() ||
        directive["Metrics"].size() > 100) {
      problems.push_back("Metrics is not an array of at most 100 definitions");
      continue;
    }
    for (const JsonValue& metric : directive["Metrics"]) {
      if (!metric.is_object() || !metric.contains("Name") || !metric["Name"].is_string()) {
        problems.push_back("a MetricDefinition has no Name");
        continue;
      }
      const std::string name = metric["Name"].get<std::string>();
      if (metric.contains("Unit") &&
          (!metric["Unit"].is_string() || kUnits.count(metric["Unit"].get<std::string>()) == 0)) {
        problems.push_back("metric " + name + " has an unknown Unit");
      }
      if (!root.contains(name)) {
        problems.push_back("metric " + name + " is not a member of the root");
        continue;
      }
      const JsonValue& value = root[name];
      const bool numbers =
          value.is_array() && value.size() <= 100 &&
          std::all_of(value.begin(), value.end(), [](const JsonValue& v) { return v.is_number(); });
      if (!value.is_number() && !numbers) {
        problems.push_back("metric " + name + " is not a number");
      }
    }
  }
  return problems;
}

// The lines of `log` that are EMF records (JSON objects with an _aws member).
inline std::vector<JsonValue> EmfRecords(const std::string& log) {
  std::vector<JsonValue> records;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] != '{') continue;
    Result<JsonValue> parsed = ParseJson(line, "log line", "Test");
    if (parsed.ok() && parsed->is_object() && parsed->contains("_aws")) {
      records.push_back(*std::move(parsed));
    }
  }
  return records;
}

}  // namespace secret_rotator::testing
