// The Lambda custom-runtime loop (Runtime API 2018-06-01) and the local
// one-event mode. The runtime takes a plain function and knows nothing of what
// the function does.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <string>

#include "base/deadline.h"
#include "base/status.h"
#include "http/http_client.h"

namespace secret_rotator::runtime {

// One event to handle.
struct Invocation {
  std::string request_id;
  std::string payload;  // the event, as JSON text
  Deadline deadline = Deadline::After(std::chrono::milliseconds(0));
  std::string function_arn;
  std::string trace_id;  // X-Ray trace header, may be empty
};

// What the function answers: a JSON payload, or an error with a type and a
// message for a person. Neither may contain a secret value.
class InvocationResponse {
 public:
  static InvocationResponse Success(std::string json_payload);
  static InvocationResponse Failure(std::string error_type, std::string error_message);

  bool ok() const { return ok_; }
  const std::string& payload() const { return payload_; }
  const std::string& error_type() const { return error_type_; }
  const std::string& error_message() const { return error_message_; }

  // The body reported to Lambda for a failure:
  // {"errorMessage":...,"errorType":...,"stackTrace":[]}.
  std::string ErrorBody() const;

 private:
  bool ok_ = true;
  std::string payload_;
  std::string error_type_;
  std::string error_message_;
};

using Handler = std::function<InvocationResponse(const Invocation&)>;

struct RuntimeOptions {
  // host:port from AWS_LAMBDA_RUNTIME_API.
  std::string api_address;
  // How many times in a row /next may fail before the loop gives up.
  int next_attempts = 5;
  // Pause between failed /next attempts.
  std::chrono::milliseconds next_retry_delay{200};
  // Time kept before Lambda's deadline to log and post the outcome: the
  // handler gets a deadline this much earlier (see ReportReserve).
  std::chrono::milliseconds report_reserve{1500};
};

// The part of an invocation's `remaining` time kept for reporting its
// outcome: `reserve`, but at most a quarter of what is left, so that a short
// invocation still gets most of its time.
std::chrono::milliseconds ReportReserve(std::chrono::milliseconds remaining,
                                        std::chrono::milliseconds reserve);

// The HTTP client options for the Runtime API: a local endpoint, which no
// proxy may stand in front of whatever the environment says.
http::ClientOptions RuntimeApiClientOptions();

// Long-polls /next (with no time bound) and hands each invocation to
// `handler`, posting its response or error, until the Runtime API fails
// `next_attempts` times in a row. The handler's deadline is
// Lambda-Runtime-Deadline-Ms less the report reserve; a deadline header out
// of int64's range or beyond Lambda's 15 minutes is taken as 15 minutes.
// Sets _X_AMZN_TRACE_ID for each invocation. Returns the process exit code
// (non-zero: the loop only ends on failure).
int RunRuntimeLoop(http::Client& client, const RuntimeOptions& options, const Handler& handler);

// Posts an initialization error to /runtime/init/error.
Status ReportInitError(http::Client& client, const std::string& api_address,
                       const std::string& error_type, const std::string& error_message);

// Runs one event without the Runtime API: calls `handler`, writes the JSON
// result (the payload, or the error body) and a newline to `out`. Returns 0
// on success, 1 on a function error.
int RunLocalInvocation(const Invocation& invocation, const Handler& handler, std::ostream& out);

}  // namespace secret_rotator::runtime
