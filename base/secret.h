// Secret: bytes that must never be printed, logged or put into an error.
//
// There is no operator<< and no implicit conversion; the bytes come out only
// through reveal(), at the one place a driver or the wire needs them. The
// storage is wiped on destruction and when moved from.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

namespace secret_rotator {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  explicit Secret(std::string_view value) : value_(value) {}
  Secret(const Secret& other) = default;
  Secret& operator=(const Secret& other);
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  // The secret bytes, valid while this object lives and is not modified.
  std::string_view reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  std::size_t size() const { return value_.size(); }

  // Returns true iff both hold the same bytes; takes the same time for any
  // two values of equal length.
  bool Equals(const Secret& other) const;

 private:
  void Wipe() noexcept;

  std::string value_;
};

// Printing a Secret does not compile.
std::ostream& operator<<(std::ostream& out, const Secret& secret) = delete;

// GoogleTest's printer hook, so a failing assertion prints no secret bytes.
void PrintTo(const Secret& secret, std::ostream* out);

// Overwrites every byte `text` holds (its whole capacity) and empties it.
void WipeString(std::string& text) noexcept;

}  // namespace secret_rotator
