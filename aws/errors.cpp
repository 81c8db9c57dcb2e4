#include "aws/errors.h"

#include <array>

#include "base/json.h"

namespace secret_rotator::aws {
namespace {

struct KnownError {
  std::string_view type;
  StatusCode code;
};

constexpr std::array<KnownError, 35> kKnownErrors = {{
    {kResourceNotFound, StatusCode::kNotFound},
    {kResourceExists, StatusCode::kAlreadyExists},
    {kInvalidParameter, StatusCode::kInvalidArgument},
    {kInvalidRequest, StatusCode::kFailedPrecondition},
    {"ValidationException", StatusCode::kInvalidArgument},
    {"SerializationException", StatusCode::kInvalidArgument},
    {"InvalidNextTokenException", StatusCode::kInvalidArgument},
    {"MalformedPolicyDocumentException", StatusCode::kInvalidArgument},
    {"PreconditionNotMetException", StatusCode::kFailedPrecondition},
    {"LimitExceededException", StatusCode::kFailedPrecondition},
    {"DecryptionFailure", StatusCode::kPermissionDenied},
    {"EncryptionFailure", StatusCode::kPermissionDenied},
    {"AccessDeniedException", StatusCode::kPermissionDenied},
    {"UnrecognizedClientException", StatusCode::kPermissionDenied},
    {"InvalidSignatureException", StatusCode::kPermissionDenied},
    {"IncompleteSignatureException", StatusCode::kPermissionDenied},
    {"MissingAuthenticationTokenException", StatusCode::kPermissionDenied},
    {"ExpiredTokenException", StatusCode::kPermissionDenied},
    {"ThrottlingException", StatusCode::kUnavailable},
    {"TooManyRequestsException", StatusCode::kUnavailable},
    {"RequestLimitExceeded", StatusCode::kUnavailable},
    {"InternalServiceError", StatusCode::kUnavailable},
    {"InternalFailure", StatusCode::kUnavailable},
    {"ServiceUnavailable", StatusCode::kUnavailable},
    // The Query protocol's (RDS) names.
    {"Throttling", StatusCode::kUnavailable},
    {"RequestThrottled", StatusCode::kUnavailable},
    {"AccessDenied", StatusCode::kPermissionDenied},
    {"InvalidClientTokenId", StatusCode::kPermissionDenied},
    {"SignatureDoesNotMatch", StatusCode::kPermissionDenied},
    {"ExpiredToken", StatusCode::kPermissionDenied},
    {"AuthFailure", StatusCode::kPermissionDenied},
    {"DBInstanceNotFound", StatusCode::kNotFound},
    {"DBClusterNotFoundFault", StatusCode::kNotFound},
    {"InvalidParameterValue", StatusCode::kInvalidArgument},
    {"InvalidParameterCombination", StatusCode::kInvalidArgument},
}};

// "com.amazonaws.secretsmanager#ResourceNotFoundException" and
// "ResourceNotFoundException:http://internal.amazon.com/..." both name
// ResourceNotFoundException.
std::string_view BareType(std::string_view type) {
  if (const auto hash = type.rfind('#'); hash != std::string_view::npos) {
    type.remove_prefix(hash + 1);
  }
  if (const auto colon = type.find(':'); colon != std::string_view::npos) {
    type = type.substr(0, colon);
  }
  return type;
}

}  // namespace

Status StatusFromErrorResponse(long http_status, const std::string* error_type_header,
                               std::string_view body) {
  std::string type;
  std::string message;
  Result<JsonValue> parsed = ParseJson(body, "the error response", "InternalError");
  if (parsed.ok()) {
    if (const std::string* t = JsonStringMember(*parsed, "__type")) type = *t;
    for (const char* field : {"message", "Message"}) {
      if (const std::string* m = JsonStringMember(*parsed, field)) message = *m;
    }
  }
  if (type.empty() && error_type_header != nullptr) type = *error_type_header;
  type = std::string(BareType(type));
  if (type.empty()) type = http_status >= 500 ? "InternalServiceError" : "UnknownError";
  if (message.empty()) message = "HTTP " + std::to_string(http_status);

  return Status(CodeForErrorType(type, http_status), type, type + ": " + message);
}

StatusCode CodeForErrorType(std::string_view type, long http_status) {
  for (const KnownError& known : kKnownErrors) {
    if (known.type == type) return known.code;
  }
  return http_status >= 500 ? StatusCode::kUnavailable : StatusCode::kInvalidArgument;
}

bool IsRetryable(const Status& status) {
  // "Timeout" is one attempt's bound running out; the caller stops retrying
  // when the invocation's own time runs out.
  return status.code() == StatusCode::kUnavailable || status.Is("Timeout");
}

}  // namespace secret_rotator::aws
