#include "base/secret.h"

#include <openssl/crypto.h>

#include <ostream>
#include <utility>

namespace secret_rotator {

void WipeString(std::string& text) noexcept {
  // Grow to the capacity first so the short-string buffer's stale bytes are
  // covered too; writing through data() is only defined up to size().
  text.resize(text.capacity());
  OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    Wipe();
    value_ = other.value_;
  }
  return *this;
}

Secret::Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe();
    value_ = std::move(other.value_);
    other.Wipe();
  }
  return *this;
}

Secret::~Secret() { Wipe(); }

void Secret::Wipe() noexcept { WipeString(value_); }

bool Secret::Equals(const Secret& other) const {
  if (value_.size() != other.value_.size()) return false;
  return CRYPTO_memcmp(value_.data(), other.value_.data(), value_.size()) == 0;
}

void PrintTo(const Secret& secret, std::ostream* out) {
  *out << "Secret(" << secret.size() << " bytes, redacted)";
}

}  // namespace secret_rotator
