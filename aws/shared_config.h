// The AWS shared config and credentials files (~/.aws/config and
// ~/.aws/credentials), read the way the AWS CLI reads them. Only local use
// needs them: under Lambda, the environment holds the region and credentials.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret.h"
#include "base/status.h"

namespace secret_rotator::aws {

// The two files differ only in how a section names its profile: the config
// file says [profile NAME] (and [default] or [profile default]), the
// credentials file says [NAME].
enum class SharedFileKind { kConfig, kCredentials };

// One profile's settings, key (lower case) -> value. Values may be secret
// (aws_secret_access_key), so every one is a Secret, wiped when it goes.
using ProfileSettings = std::map<std::string, Secret, std::less<>>;

// The settings of profile `profile` in `contents`, the text of a file of kind
// `kind`; nullopt iff no section names that profile. As Python's configparser
// (which the AWS CLI uses) reads an INI file: lines starting with # or ; are
// comments, a key and its value are split at the first '=' or ':', keys are
// case-insensitive, an indented line continues the previous value (on a line
// of its own), and a key that comes twice keeps its last value (configparser
// would refuse the file).
std::optional<ProfileSettings> FindProfile(std::string_view contents, SharedFileKind kind,
                                           std::string_view profile);

// The value of `key` in `settings` as text, or nullopt when absent.
// For settings that are not secret (region, credential_process, ...).
std::optional<std::string> SettingText(const ProfileSettings& settings, std::string_view key);

// Splits `command` into words as a POSIX shell does, without any expansion:
// white space separates words; '...' keeps everything literally; "..." keeps
// everything but \" and \\, which stand for " and \; outside quotes a
// backslash keeps the next character. Returns a ConfigurationError for an
// unterminated quote or a trailing backslash. (The AWS CLI splits
// credential_process with Python's shlex.split, which follows these rules.)
Result<std::vector<std::string>> SplitCommandLine(std::string_view command);

// Where the files are and which profile is meant, from the environment:
// AWS_CONFIG_FILE (else ~/.aws/config), AWS_SHARED_CREDENTIALS_FILE (else
// ~/.aws/credentials), AWS_PROFILE (else "default"). A path is "" when
// neither its variable nor HOME is set.
struct SharedFiles {
  std::string config_path;
  std::string credentials_path;
  std::string profile;
  bool profile_from_environment = false;  // AWS_PROFILE was set
};
SharedFiles SharedFilesFromEnvironment();

// Reads `path` whole. Returns nullopt when `path` is "" or no such file
// exists, the text when it is readable, else a ConfigurationError naming the
// file (unreadable, not a regular file, larger than 1 MiB). The caller wipes
// the text (it may hold keys).
Result<std::optional<std::string>> ReadSharedFile(const std::string& path);

// The ConfigurationError every configuration problem is reported as.
Status ConfigurationError(std::string message);

}  // namespace secret_rotator::aws
