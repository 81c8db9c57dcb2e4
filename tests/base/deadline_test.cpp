#include "base/deadline.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace secret_rotator {
namespace {

using std::chrono::milliseconds;

std::int64_t NowEpochMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(Deadline, FromAnEpochInstant) {
  const Deadline soon = Deadline::AtEpochMilliseconds(NowEpochMs() + 5000);
  EXPECT_GT(soon.Remaining(), milliseconds(4000));
  EXPECT_LE(soon.Remaining(), milliseconds(5000));
  EXPECT_TRUE(Deadline::AtEpochMilliseconds(NowEpochMs() - 5000).Expired());
  EXPECT_TRUE(Deadline::AtEpochMilliseconds(0).Expired());
}

TEST(Deadline, ExtremeInstantsNeitherOverflowNorExpire) {
  const Deadline far = Deadline::AtEpochMilliseconds(std::numeric_limits<std::int64_t>::max());
  EXPECT_FALSE(far.Expired());
  EXPECT_GT(far.Remaining(), std::chrono::hours(24 * 365 * 50));
  EXPECT_TRUE(Deadline::AtEpochMilliseconds(std::numeric_limits<std::int64_t>::min()).Expired());
  EXPECT_FALSE(Deadline::After(milliseconds::max()).Expired());
  EXPECT_TRUE(Deadline::After(milliseconds::min()).Expired());
}

TEST(Deadline, EarlierByKeepsAReserve) {
  const Deadline deadline = Deadline::After(milliseconds(10000));
  const Deadline earlier = deadline.EarlierBy(milliseconds(1500));
  EXPECT_LE(earlier.Remaining(), milliseconds(8500));
  EXPECT_GT(earlier.Remaining(), milliseconds(7500));
  EXPECT_TRUE(deadline.EarlierBy(milliseconds(20000)).Expired());
  EXPECT_EQ(deadline.RemainingAtMost(milliseconds(100)), milliseconds(100));
}

}  // namespace
}  // namespace secret_rotator
