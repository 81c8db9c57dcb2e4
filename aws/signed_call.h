// One AWS operation over HTTP: signed with SigV4 and retried per a
// RetryPolicy within the invocation's deadline. The part every AWS client
// here (Secrets Manager, RDS) shares; each client brings its own protocol's
// request body and its own reading of the answer.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aws/config.h"
#include "aws/credentials.h"
#include "aws/retry.h"
#include "base/deadline.h"
#include "base/status.h"
#include "http/http_client.h"

namespace secret_rotator::aws {

// Where a service is and how it signs: its SigV4 name ("secretsmanager",
// "rds") and region.
struct ServiceAddress {
  std::string service;
  std::string region;
  Endpoint endpoint;
};

// Reads one complete HTTP response (any status). Returns OK to accept it,
// which ends the call, or the error it means; a retryable error
// (IsRetryable) is retried while attempts and time remain.
using ResponseReader = std::function<Status(http::Response& response)>;

// Thread-safety: one thread at a time.
class SignedCaller {
 public:
  SignedCaller(std::unique_ptr<http::Client> http, ServiceAddress address, Credentials credentials,
               RetryPolicy retry);

  // POSTs `body` (moved into the request, which wipes it) to the endpoint with `headers` (Host is
  // added first), each attempt signed anew and bounded per AttemptTimeout. `operation` names the
  // call in log lines and errors. When the deadline runs out on a retryable error, the error is
  // "Timeout" and says how many attempts were made and what the last one got.
  Status Call(std::string_view operation, const std::vector<http::Header>& headers,
              std::string body, const ResponseReader& read, Deadline deadline);

 private:
  std::unique_ptr<http::Client> http_;
  ServiceAddress address_;
  Credentials credentials_;
  RetryPolicy retry_;
  std::mt19937_64 rng_;
};

}  // namespace secret_rotator::aws
