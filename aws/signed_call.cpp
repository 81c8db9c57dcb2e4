#include "aws/signed_call.h"

#include <thread>
#include <utility>

#include "aws/errors.h"
#include "aws/sigv4.h"
#include "base/log.h"
#include "base/random.h"

namespace secret_rotator::aws {

SignedCaller::SignedCaller(std::unique_ptr<http::Client> http, ServiceAddress address,
                           Credentials credentials, RetryPolicy retry)
    : http_(std::move(http)),
      address_(std::move(address)),
      credentials_(std::move(credentials)),
      retry_(retry),
      rng_(RandomUint64()) {}

Status SignedCaller::Call(std::string_view operation, const std::vector<http::Header>& headers,
                          std::string body, const ResponseReader& read, Deadline deadline) {
  const Endpoint& endpoint = address_.endpoint;
  http::Request request;
  request.method = "POST";
  request.url = endpoint.url + (endpoint.base_path == "/" ? "/" : "");
  request.body = std::move(body);
  std::vector<http::Header> base_headers = {{"Host", endpoint.host}};
  base_headers.insert(base_headers.end(), headers.begin(), headers.end());

  Status last_error;
  int attempts = 0;
  while (attempts < retry_.max_attempts) {
    if (deadline.Expired()) break;
    ++attempts;
    request.timeout = AttemptTimeout(retry_, attempts, deadline.Remaining());
    request.connect_timeout = std::min(retry_.connect_timeout, request.timeout);
    request.headers = base_headers;
    // Sign each attempt anew: the signature covers the time.
    const SignedRequest signature = SignRequest(
        {request.method, endpoint.base_path, "", base_headers, request.body}, credentials_,
        {address_.region, address_.service, std::chrono::system_clock::now(), true, false, false});
    request.headers.insert(request.headers.end(), signature.added_headers.begin(),
                           signature.added_headers.end());

    Result<http::Response> response = http_->Send(request);
    last_error = response.ok() ? read(*response) : response.status();
    if (last_error.ok()) return last_error;
    if (!IsRetryable(last_error) || attempts == retry_.max_attempts) break;
    const std::chrono::milliseconds pause = BackoffDelay(retry_, attempts, rng_);
    if (deadline.Remaining() <= pause) {
      deadline = Deadline::After(std::chrono::milliseconds(0));  // no time for another try
      break;
    }
    Log(last_error.Is("Timeout") ? LogLevel::kWarn : LogLevel::kDebug, {},
        std::string(operation) + " failed, retrying in " + std::to_string(pause.count()) +
            " ms: " + last_error.message());
    std::this_thread::sleep_for(pause);
  }
  if (deadline.Expired() && (last_error.ok() || IsRetryable(last_error))) {
    // The invocation's time (less the runtime's reserve) ran out: say so,
    // and which call it was, so that the log and the error name it.
    return Status(StatusCode::kDeadlineExceeded, "Timeout",
                  std::string(operation) + ": the invocation's time ran out" +
                      (last_error.ok() ? " before the call"
                                       : " after " + std::to_string(attempts) +
                                             (attempts == 1 ? " attempt" : " attempts") +
                                             "; the last: " + last_error.message()));
  }
  return last_error.WithContext(operation);
}

}  // namespace secret_rotator::aws
