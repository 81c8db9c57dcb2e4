// Deadline: the moment an invocation's time runs out, passed down by value so
// that every connect and request can be bounded by the time that is left.
#pragma once

#include <chrono>
#include <cstdint>

namespace secret_rotator {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // A deadline `timeout` from now.
  static Deadline After(std::chrono::milliseconds timeout) {
    return Deadline(Clock::now() + timeout);
  }
  // A deadline at the wall-clock instant `epoch_ms` (milliseconds since the
  // Unix epoch), as the Lambda Runtime API gives it.
  static Deadline AtEpochMilliseconds(std::int64_t epoch_ms);

  // Time left, never negative.
  std::chrono::milliseconds Remaining() const;
  // Time left, at most `cap`.
  std::chrono::milliseconds RemainingAtMost(std::chrono::milliseconds cap) const;
  bool Expired() const { return Remaining().count() == 0; }

 private:
  explicit Deadline(Clock::time_point at) : at_(at) {}

  Clock::time_point at_;
};

}  // namespace secret_rotator
