// The function's settings, read from the environment once at start-up.
#pragma once

#include "base/status.h"
#include "handler/rotation_handler.h"

namespace secret_rotator::app {

// Reads ROTATION_STRATEGY, PASSWORD_LENGTH, EXCLUDE_CHARACTERS,
// EXCLUDE_NUMBERS, EXCLUDE_PUNCTUATION, EXCLUDE_UPPERCASE, EXCLUDE_LOWERCASE,
// REQUIRE_EACH_INCLUDED_TYPE, DB_TLS_MODE, DB_TLS_ALLOW_SECRET_DOWNGRADE,
// DB_ALLOW_CLEARTEXT_AUTH, DB_TLS_CA_FILE and PASSWORD_ENCRYPTION. A value that cannot be
// understood is a ConfigurationError naming the variable, never a silent default.
//
// `package_dir` is the folder of the executable (the unpacked Lambda package,
// /var/task): when DB_TLS_CA_FILE is unset, <package_dir>/db-ca-bundle.pem is
// the database CA bundle if the package has one; <package_dir>/lib/mariadb/plugin
// is the MySQL client's plugin folder if the package has one.
Result<handler::RotationConfig> RotationConfigFromEnvironment(const std::string& package_dir);

// The folder that holds the running executable ("" if it cannot be told).
std::string ExecutableDir();

}  // namespace secret_rotator::app
