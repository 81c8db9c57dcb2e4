// The function's settings, read from the environment once at start-up.
#pragma once

#include "base/status.h"
#include "handler/rotation_handler.h"

namespace secret_rotator::app {

// Reads ROTATION_STRATEGY, PASSWORD_LENGTH, EXCLUDE_CHARACTERS,
// EXCLUDE_NUMBERS, EXCLUDE_PUNCTUATION, EXCLUDE_UPPERCASE, EXCLUDE_LOWERCASE,
// REQUIRE_EACH_INCLUDED_TYPE, DB_TLS_MODE, DB_TLS_CA_FILE and
// PASSWORD_ENCRYPTION. A value that cannot be understood is a
// ConfigurationError naming the variable, never a silent default.
Result<handler::RotationConfig> RotationConfigFromEnvironment();

}  // namespace secret_rotator::app
