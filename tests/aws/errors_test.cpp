#include "aws/errors.h"

#include <gtest/gtest.h>

namespace secret_rotator::aws {
namespace {

TEST(StatusFromErrorResponse, TakesTheTypeFromTheBodyWithoutItsNamespace) {
  const Status status = StatusFromErrorResponse(
      400, nullptr,
      R"({"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"gone"})");
  EXPECT_EQ(status.type(), "ResourceNotFoundException");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "ResourceNotFoundException: gone");
}

TEST(StatusFromErrorResponse, FallsBackToTheHeaderAndToTheHttpStatus) {
  const std::string header = "ThrottlingException:http://internal.amazon.com/coral/";
  const Status throttled = StatusFromErrorResponse(400, &header, "not json");
  EXPECT_EQ(throttled.type(), "ThrottlingException");
  EXPECT_TRUE(IsRetryable(throttled));

  const Status unknown_5xx = StatusFromErrorResponse(503, nullptr, "");
  EXPECT_EQ(unknown_5xx.type(), "InternalServiceError");
  EXPECT_TRUE(IsRetryable(unknown_5xx));

  const Status unknown_4xx = StatusFromErrorResponse(418, nullptr, R"({"Message":"teapot"})");
  EXPECT_EQ(unknown_4xx.type(), "UnknownError");
  EXPECT_EQ(unknown_4xx.message(), "UnknownError: teapot");
  EXPECT_FALSE(IsRetryable(unknown_4xx));
}

TEST(StatusFromErrorResponse, MapsKnownTypesToCodes) {
  struct Case {
    const char* type;
    StatusCode code;
    bool retryable;
  };
  for (const Case& c : {Case{"ResourceExistsException", StatusCode::kAlreadyExists, false},
                        Case{"InvalidParameterException", StatusCode::kInvalidArgument, false},
                        Case{"InvalidRequestException", StatusCode::kFailedPrecondition, false},
                        Case{"AccessDeniedException", StatusCode::kPermissionDenied, false},
                        Case{"InvalidSignatureException", StatusCode::kPermissionDenied, false},
                        Case{"DecryptionFailure", StatusCode::kPermissionDenied, false},
                        Case{"TooManyRequestsException", StatusCode::kUnavailable, true},
                        Case{"InternalServiceError", StatusCode::kUnavailable, true}}) {
    const Status status =
        StatusFromErrorResponse(400, nullptr, std::string(R"({"__type":")") + c.type + "\"}");
    EXPECT_EQ(status.type(), c.type);
    EXPECT_EQ(status.code(), c.code) << c.type;
    EXPECT_EQ(IsRetryable(status), c.retryable) << c.type;
  }
}

}  // namespace
}  // namespace secret_rotator::aws
