#include "aws/credentials.h"

#include <array>
#include <ctime>
#include <string_view>
#include <utility>

#include "aws/credential_process.h"
#include "aws/shared_config.h"
#include "base/env.h"

namespace secret_rotator::aws {
namespace {

// What `aws configure export-credentials` does for the profiles this
// function cannot resolve itself.
std::string ExportHint(const std::string& profile) {
  return "; export the credentials the AWS CLI gets for it instead: eval \"$(aws configure "
         "export-credentials --profile " +
         profile + " --format env)\"";
}

// Settings with which the CLI gets credentials from a source this function
// does not implement; the CLI tries those before static keys and
// credential_process.
constexpr std::array<std::string_view, 5> kOtherSources = {
    "role_arn", "sso_session", "sso_start_url", "web_identity_token_file", "credential_source"};

// A file's profile section, with the file named for messages.
struct ProfileInFile {
  std::string path;
  std::optional<ProfileSettings> settings;
};

Result<ProfileInFile> ReadProfile(const std::string& path, SharedFileKind kind,
                                  const std::string& profile) {
  Result<std::optional<std::string>> text = ReadSharedFile(path);
  if (!text.ok()) return text.status();
  ProfileInFile found{path, std::nullopt};
  if (text->has_value()) {
    found.settings = FindProfile(**text, kind, profile);
    WipeString(**text);
  }
  return found;
}

// The static keys of `in`'s profile: nullopt when it has neither key, an
// error when it has only one.
Result<std::optional<Credentials>> StaticKeys(const ProfileInFile& in, const std::string& profile) {
  const ProfileSettings& settings = *in.settings;
  const auto key_id = settings.find("aws_access_key_id");
  const auto secret = settings.find("aws_secret_access_key");
  const bool has_key_id = key_id != settings.end() && !key_id->second.empty();
  const bool has_secret = secret != settings.end() && !secret->second.empty();
  if (!has_key_id && !has_secret) return std::optional<Credentials>();
  if (!has_key_id || !has_secret) {
    return ConfigurationError("profile '" + profile + "' in " + in.path +
                              " lacks aws_access_key_id or aws_secret_access_key");
  }
  Credentials credentials;
  credentials.access_key_id = std::string(key_id->second.reveal());
  credentials.secret_access_key = secret->second;
  if (const auto token = settings.find("aws_session_token"); token != settings.end()) {
    credentials.session_token = token->second;
  }
  return std::optional<Credentials>(std::move(credentials));
}

Result<Credentials> FromEnvironmentKeys(const std::string& access_key,
                                        const std::optional<std::string>& secret_key) {
  if (access_key.empty() || !secret_key || secret_key->empty()) {
    return ConfigurationError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
  }
  Credentials credentials;
  credentials.access_key_id = access_key;
  credentials.secret_access_key = Secret(*secret_key);
  if (auto token = GetEnv("AWS_SESSION_TOKEN")) credentials.session_token = Secret(*token);
  return credentials;
}

Result<Credentials> FromProfile() {
  const SharedFiles files = SharedFilesFromEnvironment();
  const std::string& profile = files.profile;
  Result<ProfileInFile> in_credentials =
      ReadProfile(files.credentials_path, SharedFileKind::kCredentials, profile);
  if (!in_credentials.ok()) return in_credentials.status();
  Result<ProfileInFile> in_config =
      ReadProfile(files.config_path, SharedFileKind::kConfig, profile);
  if (!in_config.ok()) return in_config.status();

  if (!in_credentials->settings && !in_config->settings) {
    const std::string looked_at =
        (files.credentials_path.empty() ? std::string("no credentials file (HOME is not set)")
                                        : files.credentials_path) +
        " and " +
        (files.config_path.empty() ? std::string("no config file (HOME is not set)")
                                   : files.config_path);
    if (files.profile_from_environment) {
      return ConfigurationError("AWS_PROFILE names profile '" + profile +
                                "', which is in neither " + looked_at);
    }
    return ConfigurationError(
        "no AWS credentials: AWS_ACCESS_KEY_ID is not set, and there is no profile 'default' "
        "(or AWS_PROFILE) in " +
        looked_at);
  }

  // The CLI reads the profile from both files, the credentials file winning.
  for (const ProfileInFile* in : {&*in_credentials, &*in_config}) {
    if (!in->settings) continue;
    for (std::string_view setting : kOtherSources) {
      if (in->settings->count(setting) != 0) {
        return ConfigurationError(
            "profile '" + profile + "' in " + in->path + " has " + std::string(setting) +
            ": role, SSO and web identity credentials are not supported" + ExportHint(profile));
      }
    }
  }
  if (in_credentials->settings) {
    Result<std::optional<Credentials>> keys = StaticKeys(*in_credentials, profile);
    if (!keys.ok()) return keys.status();
    if (keys->has_value()) return std::move(**keys);
  }
  for (const ProfileInFile* in : {&*in_credentials, &*in_config}) {
    if (!in->settings) continue;
    if (std::optional<std::string> command = SettingText(*in->settings, "credential_process")) {
      return RunCredentialProcess(*command,
                                  "credential_process of profile '" + profile + "' in " + in->path,
                                  kCredentialProcessTimeout);
    }
  }
  if (in_config->settings) {
    Result<std::optional<Credentials>> keys = StaticKeys(*in_config, profile);
    if (!keys.ok()) return keys.status();
    if (keys->has_value()) return std::move(**keys);
  }
  const ProfileInFile& named = in_credentials->settings ? *in_credentials : *in_config;
  return ConfigurationError("profile '" + profile + "' in " + named.path +
                            " has neither aws_access_key_id and aws_secret_access_key nor "
                            "credential_process" +
                            ExportHint(profile));
}

}  // namespace

std::string FormatUtcTime(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 32> text{};
  const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text.data(), length);
}

Result<Credentials> LoadCredentials() {
  const auto access_key = GetEnv("AWS_ACCESS_KEY_ID");
  const auto secret_key = GetEnv("AWS_SECRET_ACCESS_KEY");
  if ((access_key && !access_key->empty()) || (secret_key && !secret_key->empty())) {
    return FromEnvironmentKeys(access_key.value_or(""), secret_key);
  }
  const auto role = GetEnv("AWS_ROLE_ARN");
  const auto token_file = GetEnv("AWS_WEB_IDENTITY_TOKEN_FILE");
  if (role && !role->empty() && token_file && !token_file->empty()) {
    return ConfigurationError(
        "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are set: web identity credentials are not "
        "supported; set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN");
  }
  return FromProfile();
}

}  // namespace secret_rotator::aws
