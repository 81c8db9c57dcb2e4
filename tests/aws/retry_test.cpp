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

TEST(AttemptTimeout, LeavesTimeForARetryUntilTheLastAttempt) {
  using std::chrono::milliseconds;
  RetryPolicy policy;  // 4 attempts, at most 10 s each, at least 1 s unless less is left
  // A 14 s stall with 20 s left: the first attempt gives up at 10 s, leaving
  // time for a second.
  EXPECT_EQ(AttemptTimeout(policy, 1, milliseconds(20000)), milliseconds(10000));
  EXPECT_EQ(AttemptTimeout(policy, 1, milliseconds(8000)), milliseconds(4000));
  EXPECT_EQ(AttemptTimeout(policy, 2, milliseconds(1500)), milliseconds(1000));
  EXPECT_EQ(AttemptTimeout(policy, 2, milliseconds(600)), milliseconds(600));
  // The last attempt gets all that is left, up to the cap.
  EXPECT_EQ(AttemptTimeout(policy, 4, milliseconds(8000)), milliseconds(8000));
  EXPECT_EQ(AttemptTimeout(policy, 4, milliseconds(30000)), milliseconds(10000));
  EXPECT_EQ(AttemptTimeout(policy, 1, milliseconds(0)), milliseconds(0));
}

}  // namespace
}  // namespace secret_rotator::aws
