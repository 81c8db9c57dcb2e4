// AWS credentials: where they come from and the value that holds them.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "base/secret.h"
#include "base/status.h"

namespace secret_rotator::aws {

struct Credentials {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;  // empty when the credentials are long-term keys
  // When temporary credentials stop working, if their source says
  // (credential_process's Expiration); nullopt otherwise.
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// Loads credentials the way the AWS CLI does, for the sources that matter to
// a Lambda function and to local use:
//  1. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_SESSION_TOKEN
//     (what Lambda sets);
//  2. else the profile AWS_PROFILE (else "default") of the shared files
//     (aws/shared_config.h), in the CLI's order:
//     a. aws_access_key_id, aws_secret_access_key and optional
//        aws_session_token in the credentials file;
//     b. credential_process, from the credentials file, else from the config
//        file: the program is run (aws/credential_process.h);
//     c. aws_access_key_id, aws_secret_access_key and optional
//        aws_session_token in the config file.
// A profile that the CLI would turn into credentials another way (role_arn,
// SSO, web identity) is refused, naming the setting, rather than read for a
// source further down the CLI's order, which would be another identity.
// Returns a ConfigurationError saying what was looked at when no source is
// found, a source is incomplete or the credentials have expired.
Result<Credentials> LoadCredentials();

// `time` as "2024-05-01T12:00:00Z", for messages.
std::string FormatUtcTime(std::chrono::system_clock::time_point time);

}  // namespace secret_rotator::aws
