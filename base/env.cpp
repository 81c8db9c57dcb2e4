#include "base/env.h"

#include <algorithm>
#include <array>
#include <cstdlib>

namespace secret_rotator {

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

Result<bool> ParseBoolSetting(std::string_view setting_name, std::string_view value) {
  constexpr std::array<std::string_view, 4> kTrue = {"true", "1", "y", "yes"};
  constexpr std::array<std::string_view, 5> kFalse = {"false", "0", "n", "no", ""};
  auto matches = [&](std::string_view word) { return EqualsIgnoreCase(value, word); };
  if (std::any_of(kTrue.begin(), kTrue.end(), matches)) return true;
  if (std::any_of(kFalse.begin(), kFalse.end(), matches)) return false;
  return Status(StatusCode::kInvalidArgument, "ConfigurationError",
                std::string(setting_name) + " must be true/1/y/yes or false/0/n/no, not '" +
                    std::string(value) + "'");
}

}  // namespace secret_rotator
