// The real binary under the local Lambda service: the Runtime API loop end to
// end over real HTTP.
#include <gtest/gtest.h>

#include "base/json.h"
#include "tests/support/local_aws.h"

namespace secret_rotator::runtime {
namespace {

using testing::LocalAws;
using testing::LocalAwsOptions;

TEST(LambdaRuntime, ServesInvocationsAndReportsFunctionErrors) {
  LocalAws local(LocalAwsOptions{BOOTSTRAP_PATH});
  bool function_error = false;
  const std::string body = local.Invoke(R"({"SecretId": 7})", &function_error);
  EXPECT_TRUE(function_error);
  const JsonValue error = ParseJson(body, "error", "T").value();
  EXPECT_EQ(error["errorType"].get<std::string>(), "InvalidEvent");
  EXPECT_EQ(error["errorMessage"].get<std::string>(), "SecretId must be a string, not a number");

  // A second invocation is served by the same process.
  const std::string missing = local.Invoke(
      R"({"SecretId":"nope","ClientRequestToken":"11111111-2222-3333-4444-555555555555","Step":"createSecret"})",
      &function_error);
  EXPECT_TRUE(function_error);
  EXPECT_EQ(ParseJson(missing, "error", "T").value()["errorType"].get<std::string>(),
            "ResourceNotFoundException");
  const JsonValue stats = local.LambdaStats();
  EXPECT_EQ(stats["starts"].get<int>(), 1);
  EXPECT_EQ(stats["invocations"].size(), 2u);
}

TEST(LambdaRuntime, AConfigurationErrorIsReportedAsAnInitError) {
  LocalAwsOptions options{BOOTSTRAP_PATH};
  options.function_env["ROTATION_STRATEGY"] = "sometimes";
  LocalAws local(options);
  bool function_error = false;
  const std::string body = local.Invoke("{}", &function_error);
  EXPECT_TRUE(function_error);
  const JsonValue error = ParseJson(body, "error", "T").value();
  EXPECT_EQ(error["errorType"].get<std::string>(), "Runtime.ConfigurationError");
  EXPECT_EQ(error["errorMessage"].get<std::string>(),
            "ROTATION_STRATEGY must be single-user or alternating-users, not 'sometimes'");
  EXPECT_EQ(local.LambdaStats()["initErrors"].size(), 1u);
}

}  // namespace
}  // namespace secret_rotator::runtime
