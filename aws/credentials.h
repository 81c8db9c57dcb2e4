// AWS credentials: where they come from and the value that holds them.
#pragma once

#include <string>

#include "base/secret.h"
#include "base/status.h"

namespace secret_rotator::aws {

struct Credentials {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;  // empty when the credentials are long-term keys
};

// Loads credentials the way the AWS SDKs do for the sources that matter to a
// Lambda function and to local use:
//  1. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_SESSION_TOKEN
//     (what Lambda sets);
//  2. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
//     ~/.aws/credentials), profile AWS_PROFILE or "default".
// Returns a ConfigurationError saying what was looked at when none is found
// or a source is incomplete.
Result<Credentials> LoadCredentials();

// Reads profile `profile` from a shared credentials file's contents. Exposed
// for tests. `source` names the file in error messages.
Result<Credentials> ParseSharedCredentials(const std::string& contents, const std::string& profile,
                                           const std::string& source);

}  // namespace secret_rotator::aws
