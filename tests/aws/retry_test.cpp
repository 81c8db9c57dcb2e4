#include "aws/retry.h"

#include <gtest/gtest.h>

namespace secret_rotator::aws {
namespace {

TEST(BackoffDelay, IsFullJitterUnderAnExponentialCeilingCappedAtTheMaximum) {
  RetryPolicy policy;
  policy.base_delay = std::chrono::milliseconds(50);
  policy.max_delay = std::chrono::milliseconds(300);
  std::mt19937_64 rng(7);
  for (int retry = 1; retry <= 6; ++retry) {
    const long long ceiling = std::min(300LL, 50LL << (retry - 1));
    long long lowest = ceiling;
    long long highest = 0;
    for (int i = 0; i < 2000; ++i) {
      const long long delay = BackoffDelay(policy, retry, rng).count();
      ASSERT_GE(delay, 0);
      ASSERT_LE(delay, ceiling) << "retry " << retry;
      lowest = std::min(lowest, delay);
      highest = std::max(highest, delay);
    }
    // Full jitter spreads over the whole range, not just near the ceiling.
    EXPECT_LE(lowest, ceiling / 10) << "retry " << retry;
    EXPECT_GE(highest, ceiling * 9 / 10) << "retry " << retry;
  }
}

}  // namespace
}  // namespace secret_rotator::aws
