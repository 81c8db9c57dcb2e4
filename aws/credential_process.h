// credential_process: a profile setting that names a program which prints
// credentials, as the AWS CLI and SDKs run it (the "process credential
// provider"). Local use only: under Lambda the environment holds credentials.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "base/status.h"

namespace secret_rotator::aws {

// How long the program may take before it is killed.
inline constexpr std::chrono::seconds kCredentialProcessTimeout{60};
// The most output read from it; credentials are far shorter.
inline constexpr std::size_t kCredentialProcessMaxOutput = 64 * 1024;

// Runs `command` (split by SplitCommandLine, never by a shell; the program is
// looked up in PATH) with standard input from /dev/null, the environment and
// standard error of this process, and standard output read into memory,
// never logged or quoted. Kills it when it runs longer than `timeout` or
// prints more than kCredentialProcessMaxOutput bytes. Returns the credentials
// its output holds (ParseCredentialProcessOutput); any failure is a
// ConfigurationError that starts with `what` (e.g. "credential_process of
// profile 'ops'") and names the program, not its arguments.
Result<Credentials> RunCredentialProcess(std::string_view command, const std::string& what,
                                         std::chrono::milliseconds timeout);

// Parses the program's output, JSON version 1:
//   {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
//    "SessionToken": "..."?, "Expiration": "2024-05-01T12:00:00Z"?}
// Expiration is an RFC 3339 time (fractional seconds and a numeric offset
// allowed). Credentials that expired by `now` are refused. Errors are
// ConfigurationErrors that start with `what` and never quote the output.
Result<Credentials> ParseCredentialProcessOutput(std::string_view output, const std::string& what,
                                                 std::chrono::system_clock::time_point now);

// Parses an RFC 3339 date and time ("2024-05-01T12:00:00Z",
// "2024-05-01T14:00:00.5+02:00"); nullopt when `text` is not one. A time
// beyond the clock's range (1677 to 2262) becomes its min() or max().
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

}  // namespace secret_rotator::aws
