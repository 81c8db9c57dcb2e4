#include "base/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace secret_rotator {

std::uint64_t RandomUint64() {
  std::uint64_t value = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  std::size_t filled = 0;
  while (filled < sizeof(value)) {
    const ssize_t got = ::getrandom(bytes + filled, sizeof(value) - filled, 0);
    if (got > 0) filled += static_cast<std::size_t>(got);
    // EINTR: try again; getrandom without flags does not fail otherwise once
    // the kernel's pool is initialized, which it is long before Lambda runs us.
  }
  return value;
}

std::string RandomHex(std::size_t length) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  while (text.size() < length) {
    std::uint64_t bits = RandomUint64();
    for (int i = 0; i < 16 && text.size() < length; ++i, bits >>= 4) text += kHex[bits & 0xF];
  }
  return text;
}

}  // namespace secret_rotator
