// Deadline: the moment an invocation's time runs out, passed down by value so
// that every connect and request can be bounded by the time that is left.
#pragma once

#include <chrono>
#include <cstdint>

namespace secret_rotator {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // A deadline `timeout` from now (a negative timeout: already expired).
  // Saturates: a timeout beyond ~100 years is taken as ~100 years.
  static Deadline After(std::chrono::milliseconds timeout);
  // A deadline at the wall-clock instant `epoch_ms` (milliseconds since the
  // Unix epoch), as the Lambda Runtime API gives it. Any int64 value is
  // safe: instants in the past give an expired deadline, and the time left
  // saturates as in After() (INT64_MAX does not overflow into the past).
  static Deadline AtEpochMilliseconds(std::int64_t epoch_ms);

  // Time left, never negative.
  std::chrono::milliseconds Remaining() const;
  // Time left, at most `cap`.
  std::chrono::milliseconds RemainingAtMost(std::chrono::milliseconds cap) const;
  bool Expired() const { return Remaining().count() == 0; }
  // A deadline `margin` earlier than this one (expired if that is past).
  Deadline EarlierBy(std::chrono::milliseconds margin) const;

 private:
  explicit Deadline(Clock::time_point at) : at_(at) {}

  Clock::time_point at_;
};

}  // namespace secret_rotator
