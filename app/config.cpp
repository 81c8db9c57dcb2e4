#include "app/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <utility>

#include "base/env.h"

namespace secret_rotator::app {
namespace {

// Files the Lambda package may carry (packaging/package.sh).
constexpr char kPackagedCaBundle[] = "db-ca-bundle.pem";
constexpr char kPackagedMysqlPlugins[] = "lib/mariadb/plugin";

bool IsReadableFile(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), R_OK) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

Status ConfigurationError(std::string message) {
  return Status(StatusCode::kInvalidArgument, "ConfigurationError", std::move(message));
}

// Sets `*target` from boolean variable `name` when it is set.
Status ReadBool(const char* name, bool* target) {
  const auto value = GetEnv(name);
  if (!value) return Status::Ok();
  Result<bool> parsed = ParseBoolSetting(name, *value);
  if (!parsed.ok()) return parsed.status();
  *target = *parsed;
  return Status::Ok();
}

Result<strategies::TlsMode> ParseTlsMode(const std::string& value) {
  constexpr std::array<std::pair<std::string_view, strategies::TlsMode>, 4> kModes = {{
      {"verify-full", strategies::TlsMode::kVerifyFull},
      {"verify-ca", strategies::TlsMode::kVerifyCa},
      {"require", strategies::TlsMode::kRequire},
      {"disable", strategies::TlsMode::kDisable},
  }};
  for (const auto& [name, mode] : kModes) {
    if (value == name) return mode;
  }
  return ConfigurationError(
      "DB_TLS_MODE must be verify-full, verify-ca, require or disable, not '" + value + "'");
}

}  // namespace

std::string ExecutableDir() {
  std::array<char, 4096> path{};
  const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (length <= 0) return "";
  std::string executable(path.data(), static_cast<std::size_t>(length));
  const auto slash = executable.rfind('/');
  return slash == std::string::npos ? "" : executable.substr(0, slash);
}

Result<handler::RotationConfig> RotationConfigFromEnvironment(const std::string& package_dir) {
  handler::RotationConfig config;

  if (auto kind = GetEnv("ROTATION_STRATEGY"); kind && !kind->empty()) {
    Result<strategies::RotationKind> parsed =
        strategies::ParseRotationKind("ROTATION_STRATEGY", *kind);
    if (!parsed.ok()) return parsed.status();
    config.default_kind = *parsed;
  }

  handler::PasswordPolicy& password = config.password;
  if (auto length = GetEnv("PASSWORD_LENGTH"); length && !length->empty()) {
    int parsed = 0;
    const auto [end, error] =
        std::from_chars(length->data(), length->data() + length->size(), parsed);
    if (error != std::errc() || end != length->data() + length->size() || parsed < 1 ||
        parsed > 4096) {
      return ConfigurationError("PASSWORD_LENGTH must be a whole number from 1 to 4096, not '" +
                                *length + "'");
    }
    password.length = parsed;
  }
  if (auto exclude = GetEnv("EXCLUDE_CHARACTERS")) password.exclude_characters = *exclude;
  for (auto [name, target] :
       {std::pair{"EXCLUDE_NUMBERS", &password.exclude_numbers},
        std::pair{"EXCLUDE_PUNCTUATION", &password.exclude_punctuation},
        std::pair{"EXCLUDE_UPPERCASE", &password.exclude_uppercase},
        std::pair{"EXCLUDE_LOWERCASE", &password.exclude_lowercase},
        std::pair{"REQUIRE_EACH_INCLUDED_TYPE", &password.require_each_included_type}}) {
    if (Status s = ReadBool(name, target); !s.ok()) return s;
  }
  if (password.exclude_numbers && password.exclude_punctuation && password.exclude_uppercase &&
      password.exclude_lowercase) {
    return ConfigurationError(
        "EXCLUDE_NUMBERS, EXCLUDE_PUNCTUATION, EXCLUDE_UPPERCASE and EXCLUDE_LOWERCASE are all "
        "true: no character is left for a password");
  }

  strategies::StrategyConfig& strategy = config.strategy;
  if (auto mode = GetEnv("DB_TLS_MODE"); mode && !mode->empty()) {
    Result<strategies::TlsMode> parsed = ParseTlsMode(*mode);
    if (!parsed.ok()) return parsed.status();
    strategy.tls_mode = *parsed;
  }
  if (Status s = ReadBool("DB_TLS_ALLOW_SECRET_DOWNGRADE", &strategy.allow_secret_tls_downgrade);
      !s.ok()) {
    return s;
  }
  if (Status s = ReadBool("DB_ALLOW_CLEARTEXT_AUTH", &strategy.allow_cleartext_auth); !s.ok()) {
    return s;
  }
  if (auto ca_file = GetEnv("DB_TLS_CA_FILE"); ca_file && !ca_file->empty()) {
    if (!IsReadableFile(*ca_file)) {
      return ConfigurationError("DB_TLS_CA_FILE '" + *ca_file + "' is not a readable file");
    }
    strategy.tls_ca_file = *ca_file;
  } else if (!package_dir.empty() && IsReadableFile(package_dir + "/" + kPackagedCaBundle)) {
    strategy.tls_ca_file = package_dir + "/" + kPackagedCaBundle;
    strategy.tls_ca_source = strategies::kPackagedCaSource;
  }
  if (!package_dir.empty() && IsDirectory(package_dir + "/" + kPackagedMysqlPlugins)) {
    strategy.mysql_plugin_dir = package_dir + "/" + kPackagedMysqlPlugins;
  }
  if (auto encryption = GetEnv("PASSWORD_ENCRYPTION"); encryption && !encryption->empty()) {
    if (*encryption != "scram-sha-256" && *encryption != "md5") {
      return ConfigurationError("PASSWORD_ENCRYPTION must be scram-sha-256 or md5, not '" +
                                *encryption + "'");
    }
    strategy.password_encryption = *encryption;
  }
  return config;
}

}  // namespace secret_rotator::app
