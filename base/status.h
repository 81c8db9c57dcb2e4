// Status and Result: the error values that cross every layer boundary.
//
// A Status is either OK or carries a code (what kind of failure, for callers
// that branch on it), a type (a stable name reported to Lambda as errorType,
// e.g. "ResourceNotFoundException" or "InvalidEvent") and a message for a
// person. Messages never contain a password or a secret value.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace secret_rotator {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // the input is wrong; retrying the same input fails again
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // the thing to create exists with other content
  kFailedPrecondition,  // the world is not in the state the operation needs
  kPermissionDenied,    // credentials rejected or not allowed
  kUnavailable,         // transient: connection failure, throttling, 5xx
  kDeadlineExceeded,    // the invocation's time ran out
  kInternal,            // a bug or an unexpected answer
};

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;
  // REQUIRES: code != StatusCode::kOk.
  Status(StatusCode code, std::string type, std::string message)
      : code_(code), type_(std::move(type)), message_(std::move(message)) {
    assert(code_ != StatusCode::kOk);
  }

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // Empty for an OK status.
  const std::string& type() const { return type_; }
  const std::string& message() const { return message_; }

  // Returns true iff this is an error whose type is `type`.
  bool Is(std::string_view type) const { return !ok() && type_ == type; }

  // Returns this status with "`context`: " in front of the message; OK stays OK.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string type_;
  std::string message_;
};

// Result<T> holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // REQUIRES: !status.ok().
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok());
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace secret_rotator
