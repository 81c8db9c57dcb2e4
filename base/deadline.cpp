#include "base/deadline.h"

#include <algorithm>

namespace secret_rotator {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::system_clock;

Deadline Deadline::AtEpochMilliseconds(std::int64_t epoch_ms) {
  const auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return Deadline(Clock::now() + milliseconds(epoch_ms - now_ms));
}

milliseconds Deadline::Remaining() const {
  return std::max(milliseconds(0), duration_cast<milliseconds>(at_ - Clock::now()));
}

milliseconds Deadline::RemainingAtMost(milliseconds cap) const {
  return std::min(Remaining(), cap);
}

}  // namespace secret_rotator
