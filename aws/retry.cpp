#include "aws/retry.h"

#include <algorithm>

namespace secret_rotator::aws {

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry, std::mt19937_64& rng) {
  const int exponent = std::clamp(retry - 1, 0, 20);
  const long long ceiling =
      std::min<long long>(policy.max_delay.count(), policy.base_delay.count() << exponent);
  std::uniform_int_distribution<long long> pick(0, std::max(0LL, ceiling));
  return std::chrono::milliseconds(pick(rng));
}

std::chrono::milliseconds AttemptTimeout(const RetryPolicy& policy, int attempt,
                                         std::chrono::milliseconds remaining) {
  std::chrono::milliseconds bound = remaining;
  if (attempt < policy.max_attempts) bound = std::max(remaining / 2, policy.min_attempt_timeout);
  return std::min({bound, policy.attempt_timeout, remaining});
}

}  // namespace secret_rotator::aws
