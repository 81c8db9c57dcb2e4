#include "runtime/runtime.h"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <thread>
#include <utility>

#include "base/json_text.h"
#include "base/log.h"

namespace secret_rotator::runtime {
namespace {

constexpr char kApiPrefix[] = "/2018-06-01/runtime";
// Responses larger than Lambda's synchronous payload limit are refused by the
// Runtime API; the function's payloads are tiny, so this never applies to us
// but a refusal is still reported as an error below.
constexpr std::chrono::milliseconds kPostTimeout{10000};
// Lambda runs an invocation for at most 15 minutes; a deadline further away
// (INT64_MAX, a value out of int64's range) is taken as 15 minutes.
constexpr std::chrono::milliseconds kLongestInvocation = std::chrono::minutes(15);

std::string Url(const std::string& api_address, const std::string& path) {
  return "http://" + api_address + kApiPrefix + path;
}

void SetTraceId(const std::string& trace_id) {
  if (trace_id.empty()) {
    ::unsetenv("_X_AMZN_TRACE_ID");
  } else {
    ::setenv("_X_AMZN_TRACE_ID", trace_id.c_str(), 1);
  }
}

// The invocation's deadline from Lambda-Runtime-Deadline-Ms (milliseconds
// since the epoch). A value too large for an int64, or beyond Lambda's
// 15-minute limit, is not an instant already past: it is capped at 15 minutes
// from now, with a warning.
Result<Deadline> ParseDeadline(const std::string& text) {
  std::int64_t epoch_ms = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), epoch_ms);
  if (text.empty() || end != text.data() + text.size() ||
      (error != std::errc() && error != std::errc::result_out_of_range)) {
    return Status(StatusCode::kInternal, "RuntimeApiError",
                  "/next answered an invalid Lambda-Runtime-Deadline-Ms '" + text + "'");
  }
  const Deadline longest = Deadline::After(kLongestInvocation);
  if (error == std::errc::result_out_of_range) {
    Log(LogLevel::kWarn, {},
        "Lambda-Runtime-Deadline-Ms '" + text + "' is out of range; allowing 15 minutes");
    return longest;
  }
  const Deadline deadline = Deadline::AtEpochMilliseconds(epoch_ms);
  if (deadline.Remaining() > kLongestInvocation) {
    Log(LogLevel::kWarn, {},
        "Lambda-Runtime-Deadline-Ms " + text +
            " is more than Lambda's 15 minutes away; allowing 15 minutes");
    return longest;
  }
  return deadline;
}

Result<Invocation> ParseNextResponse(const http::Response& response) {
  if (response.status != 200) {
    return Status(StatusCode::kUnavailable, "RuntimeApiError",
                  "/next answered HTTP " + std::to_string(response.status));
  }
  const std::string* request_id = response.FindHeader("Lambda-Runtime-Aws-Request-Id");
  const std::string* deadline_ms = response.FindHeader("Lambda-Runtime-Deadline-Ms");
  if (request_id == nullptr || request_id->empty() || deadline_ms == nullptr) {
    return Status(StatusCode::kInternal, "RuntimeApiError",
                  "/next answered without Lambda-Runtime-Aws-Request-Id or "
                  "Lambda-Runtime-Deadline-Ms");
  }
  Result<Deadline> deadline = ParseDeadline(*deadline_ms);
  if (!deadline.ok()) return deadline.status();
  Invocation invocation;
  invocation.request_id = *request_id;
  invocation.payload = response.body;
  invocation.deadline = *deadline;
  if (const auto* arn = response.FindHeader("Lambda-Runtime-Invoked-Function-Arn")) {
    invocation.function_arn = *arn;
  }
  if (const auto* trace = response.FindHeader("Lambda-Runtime-Trace-Id")) {
    invocation.trace_id = *trace;
  }
  return invocation;
}

Status Post(http::Client& client, std::string url, std::string body,
            std::vector<http::Header> extra_headers) {
  http::Request request;
  request.method = "POST";
  request.url = std::move(url);
  request.body = std::move(body);
  request.timeout = kPostTimeout;
  request.headers = std::move(extra_headers);
  request.headers.push_back({"Content-Type", "application/json"});
  Result<http::Response> response = client.Send(request);
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status > 299) {
    return Status(StatusCode::kUnavailable, "RuntimeApiError",
                  "Runtime API answered HTTP " + std::to_string(response->status));
  }
  return Status::Ok();
}

Status PostResult(http::Client& client, const std::string& api_address,
                  const std::string& request_id, const InvocationResponse& result) {
  const std::string base = "/invocation/" + request_id;
  if (result.ok()) {
    Status posted = Post(client, Url(api_address, base + "/response"), result.payload(), {});
    if (posted.ok()) return posted;
    // A refused response (too large, say) must still end the invocation.
    const InvocationResponse refused = InvocationResponse::Failure(
        "Runtime.ResponseRejected", "the Runtime API refused the response: " + posted.message());
    return Post(client, Url(api_address, base + "/error"), refused.ErrorBody(),
                {{"Lambda-Runtime-Function-Error-Type", refused.error_type()}});
  }
  return Post(client, Url(api_address, base + "/error"), result.ErrorBody(),
              {{"Lambda-Runtime-Function-Error-Type", result.error_type()}});
}

}  // namespace

std::chrono::milliseconds ReportReserve(std::chrono::milliseconds remaining,
                                        std::chrono::milliseconds reserve) {
  return std::min(reserve, remaining / 4);
}

http::ClientOptions RuntimeApiClientOptions() {
  http::ClientOptions options;
  options.proxy_from_environment = false;
  return options;
}

InvocationResponse InvocationResponse::Success(std::string json_payload) {
  InvocationResponse response;
  response.payload_ = std::move(json_payload);
  return response;
}

InvocationResponse InvocationResponse::Failure(std::string error_type, std::string error_message) {
  InvocationResponse response;
  response.ok_ = false;
  response.error_type_ = std::move(error_type);
  response.error_message_ = std::move(error_message);
  return response;
}

std::string InvocationResponse::ErrorBody() const {
  std::string body = "{\"errorMessage\":";
  AppendJsonString(body, error_message_);
  body += ",\"errorType\":";
  AppendJsonString(body, error_type_);
  body += ",\"stackTrace\":[]}";
  return body;
}

int RunRuntimeLoop(http::Client& client, const RuntimeOptions& options, const Handler& handler) {
  http::Request next;
  next.url = Url(options.api_address, "/invocation/next");
  next.timeout = std::chrono::milliseconds(0);  // a long poll: wait as long as it takes

  int failures = 0;
  while (true) {
    Result<Invocation> invocation = [&]() -> Result<Invocation> {
      Result<http::Response> response = client.Send(next);
      if (!response.ok()) return response.status();
      return ParseNextResponse(*response);
    }();
    if (!invocation.ok()) {
      ++failures;
      Log(LogLevel::kError, {},
          "Runtime API /next failed (" + std::to_string(failures) + " of " +
              std::to_string(options.next_attempts) + "): " + invocation.status().message());
      if (failures >= options.next_attempts) return 1;
      std::this_thread::sleep_for(options.next_retry_delay);
      continue;
    }
    failures = 0;
    SetTraceId(invocation->trace_id);
    // The handler must finish before Lambda's deadline with time to spare
    // for reporting its outcome: a call that hangs then ends in a clear
    // error that is logged and posted, not in Lambda's Sandbox.Timedout.
    invocation->deadline = invocation->deadline.EarlierBy(
        ReportReserve(invocation->deadline.Remaining(), options.report_reserve));
    const InvocationResponse result = handler(*invocation);
    Status posted = PostResult(client, options.api_address, invocation->request_id, result);
    if (!posted.ok()) {
      Log(LogLevel::kError, {invocation->request_id, "", ""},
          "could not report the result to the Runtime API: " + posted.message());
    }
  }
}

Status ReportInitError(http::Client& client, const std::string& api_address,
                       const std::string& error_type, const std::string& error_message) {
  const InvocationResponse failure = InvocationResponse::Failure(error_type, error_message);
  return Post(client, Url(api_address, "/init/error"), failure.ErrorBody(),
              {{"Lambda-Runtime-Function-Error-Type", error_type}});
}

int RunLocalInvocation(const Invocation& invocation, const Handler& handler, std::ostream& out) {
  SetTraceId(invocation.trace_id);
  const InvocationResponse result = handler(invocation);
  out << (result.ok() ? result.payload() : result.ErrorBody()) << '\n';
  out.flush();
  return result.ok() ? 0 : 1;
}

}  // namespace secret_rotator::runtime
