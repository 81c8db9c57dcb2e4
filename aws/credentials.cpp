#include "aws/credentials.h"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>

#include "base/env.h"

namespace secret_rotator::aws {
namespace {

Status ConfigurationError(std::string message) {
  return Status(StatusCode::kFailedPrecondition, "ConfigurationError", std::move(message));
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace

Result<Credentials> ParseSharedCredentials(const std::string& contents, const std::string& profile,
                                           const std::string& source) {
  std::istringstream lines(contents);
  std::string line;
  bool in_profile = false;
  bool found_profile = false;
  Credentials credentials;
  while (std::getline(lines, line)) {
    const std::string_view text = Trim(line);
    if (text.empty() || text.front() == '#' || text.front() == ';') continue;
    if (text.front() == '[') {
      const auto close = text.find(']');
      in_profile = close != std::string_view::npos && Trim(text.substr(1, close - 1)) == profile;
      found_profile = found_profile || in_profile;
      continue;
    }
    if (!in_profile) continue;
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view key = Trim(text.substr(0, equals));
    const std::string_view value = Trim(text.substr(equals + 1));
    if (key == "aws_access_key_id") {
      credentials.access_key_id = std::string(value);
    } else if (key == "aws_secret_access_key") {
      credentials.secret_access_key = Secret(value);
    } else if (key == "aws_session_token") {
      credentials.session_token = Secret(value);
    }
  }
  WipeString(line);
  if (!found_profile) {
    return ConfigurationError("profile '" + profile + "' is not in " + source);
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return ConfigurationError("profile '" + profile + "' in " + source +
                              " lacks aws_access_key_id or aws_secret_access_key");
  }
  return credentials;
}

Result<Credentials> LoadCredentials() {
  const auto access_key = GetEnv("AWS_ACCESS_KEY_ID");
  const auto secret_key = GetEnv("AWS_SECRET_ACCESS_KEY");
  if ((access_key && !access_key->empty()) || (secret_key && !secret_key->empty())) {
    if (!access_key || access_key->empty() || !secret_key || secret_key->empty()) {
      return ConfigurationError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
    }
    Credentials credentials;
    credentials.access_key_id = *access_key;
    credentials.secret_access_key = Secret(*secret_key);
    if (auto token = GetEnv("AWS_SESSION_TOKEN")) credentials.session_token = Secret(*token);
    return credentials;
  }

  std::string path;
  if (auto configured = GetEnv("AWS_SHARED_CREDENTIALS_FILE"); configured && !configured->empty()) {
    path = *configured;
  } else if (auto home = GetEnv("HOME"); home && !home->empty()) {
    path = *home + "/.aws/credentials";
  } else {
    return ConfigurationError(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
        "AWS_SHARED_CREDENTIALS_FILE");
  }
  std::ifstream file(path);
  if (!file) {
    return ConfigurationError(
        "no AWS credentials: AWS_ACCESS_KEY_ID is not set and the shared credentials file " + path +
        " cannot be read");
  }
  std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  const auto profile = GetEnv("AWS_PROFILE");
  Result<Credentials> parsed =
      ParseSharedCredentials(text, profile && !profile->empty() ? *profile : "default", path);
  WipeString(text);
  return parsed;
}

}  // namespace secret_rotator::aws
