// Secrets Manager errors: every AWS error becomes a Status whose type() is the
// service's own __type name, so callers branch on the names AWS documents.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace secret_rotator::aws {

inline constexpr std::string_view kResourceNotFound = "ResourceNotFoundException";
inline constexpr std::string_view kResourceExists = "ResourceExistsException";
inline constexpr std::string_view kInvalidParameter = "InvalidParameterException";
inline constexpr std::string_view kInvalidRequest = "InvalidRequestException";

// The Status for an AWS JSON-protocol error response. The type comes from the
// body's __type (or the x-amzn-ErrorType header), without any namespace
// prefix; the code follows the type and, for unknown types, the HTTP status.
Status StatusFromErrorResponse(long http_status, const std::string* error_type_header,
                               std::string_view body);

// The StatusCode of an AWS error named `type` (a bare name such as
// "ThrottlingException" or RDS's "Throttling"): that of a known type, else
// kUnavailable for an HTTP status of 500 or more, else kInvalidArgument.
StatusCode CodeForErrorType(std::string_view type, long http_status);

// Returns true iff retrying the same request may succeed: throttling, a 5xx
// answer, a dropped or refused connection, an attempt that timed out (a
// stalled response).
bool IsRetryable(const Status& status);

}  // namespace secret_rotator::aws
