// Reading configuration from the process environment.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace secret_rotator {

// The value of environment variable `name`, or nullopt when it is not set.
std::optional<std::string> GetEnv(const char* name);

// Parses a boolean setting the way AWS's rotation functions read theirs:
// true/1/y/yes mean true, false/0/n/no and "" mean false (any case). Anything
// else is an InvalidArgument error naming `setting_name`, rather than a silent
// false.
Result<bool> ParseBoolSetting(std::string_view setting_name, std::string_view value);

// Returns true iff `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace secret_rotator
