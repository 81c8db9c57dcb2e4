#include "base/deadline.h"

#include <algorithm>

namespace secret_rotator {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::system_clock;

namespace {

// Far enough for any real bound, near enough that steady_clock's
// nanosecond count cannot overflow when it is added to now.
constexpr milliseconds kLongest = std::chrono::hours(24 * 365 * 100);

}  // namespace

Deadline Deadline::After(milliseconds timeout) {
  return Deadline(Clock::now() + std::clamp(timeout, -kLongest, kLongest));
}

Deadline Deadline::AtEpochMilliseconds(std::int64_t epoch_ms) {
  const std::int64_t now_ms =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  if (epoch_ms <= now_ms) return After(milliseconds(0));
  // Both are past the epoch here, so the difference cannot overflow.
  return After(milliseconds(std::min<std::int64_t>(epoch_ms - now_ms, kLongest.count())));
}

milliseconds Deadline::Remaining() const {
  return std::max(milliseconds(0), duration_cast<milliseconds>(at_ - Clock::now()));
}

milliseconds Deadline::RemainingAtMost(milliseconds cap) const {
  return std::min(Remaining(), cap);
}

Deadline Deadline::EarlierBy(milliseconds margin) const {
  return Deadline(at_ - std::clamp(margin, milliseconds(0), kLongest));
}

}  // namespace secret_rotator
