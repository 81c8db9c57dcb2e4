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
  // Each attempt gets at most this long, and never more than the time left.
  std::chrono::milliseconds attempt_timeout{10000};
  std::chrono::milliseconds connect_timeout{3000};
};

// The pause before retry number `retry` (1 for the first retry): uniformly
// random in [0, min(max_delay, base_delay * 2^(retry-1))] ("full jitter").
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry, std::mt19937_64& rng);

}  // namespace secret_rotator::aws
