// Retry policy for AWS calls: exponential backoff with full jitter, bounded
// by a number of attempts and by the invocation's deadline.
#pragma once

#include <chrono>
#include <random>

namespace secret_rotator::aws {

struct RetryPolicy {
  int max_attempts = 4;  // the first try included
  std::chrono::milliseconds base_delay{50};
  std::chrono::milliseconds max_delay{2000};
  // Each attempt gets at most this long (see AttemptTimeout).
  std::chrono::milliseconds attempt_timeout{10000};
  // An attempt that is not the last gets at least this long, if there is time.
  std::chrono::milliseconds min_attempt_timeout{1000};
  std::chrono::milliseconds connect_timeout{3000};
};

// The bound on attempt number `attempt` (1 for the first) when `remaining`
// is left of the invocation. A response that stalls must not eat the whole
// invocation, so an attempt that is not the last gets half of what is left
// (at least min_attempt_timeout, at most attempt_timeout): a stalled
// response is then retried while time remains. The last attempt gets all
// that is left, up to attempt_timeout. Never more than `remaining`.
std::chrono::milliseconds AttemptTimeout(const RetryPolicy& policy, int attempt,
                                         std::chrono::milliseconds remaining);

// The pause before retry number `retry` (1 for the first retry): uniformly
// random in [0, min(max_delay, base_delay * 2^(retry-1))] ("full jitter").
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry, std::mt19937_64& rng);

}  // namespace secret_rotator::aws
