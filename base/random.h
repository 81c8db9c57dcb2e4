// Random numbers from the kernel (getrandom), for seeds and identifiers.
// Not std::random_device: libstdc++ 12 implements it with arc4random, a
// glibc 2.36 symbol, and the function must run on Amazon Linux 2023's glibc
// 2.34.
#pragma once

#include <cstdint>
#include <string>

namespace secret_rotator {

// 64 random bits from getrandom(2).
std::uint64_t RandomUint64();

// `length` random lowercase hex digits.
std::string RandomHex(std::size_t length);

}  // namespace secret_rotator
