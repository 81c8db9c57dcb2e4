// The real Secrets Manager client over real HTTP against the local endpoint,
// which verifies every SigV4 signature independently.
#include <gtest/gtest.h>

#include "aws/errors.h"
#include "aws/secrets_manager.h"
#include "base/json.h"
#include "tests/support/local_aws.h"

namespace secret_rotator::aws {
namespace {

using testing::LocalAws;

class SecretsManagerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    local_ = std::make_unique<LocalAws>(testing::LocalAwsOptions{TEST_BOOTSTRAP_PATH});
    client_ = Client(testing::kLocalSecretKey);
  }

  std::unique_ptr<SecretsManager> Client(const std::string& secret_key, RetryPolicy retry = {}) {
    AwsConfig config;
    config.region = testing::kLocalRegion;
    config.endpoint = ParseEndpoint(local_->secrets_manager_url()).value();
    config.credentials.access_key_id = testing::kLocalAccessKey;
    config.credentials.secret_access_key = Secret(secret_key);
    return NewSecretsManagerClient(http::NewClient().value(), std::move(config), retry);
  }

  int CountRequests(const std::string& operation) {
    int count = 0;
    for (const JsonValue& request : local_->Requests()) {
      count += request["operation"].get<std::string>() == operation ? 1 : 0;
    }
    return count;
  }

  static Deadline Soon() { return Deadline::After(std::chrono::seconds(10)); }

  std::unique_ptr<LocalAws> local_;
  std::unique_ptr<SecretsManager> client_;
};

TEST_F(SecretsManagerClientTest, EveryOperationWorksAgainstTheLocalEndpoint) {
  const std::string arn = local_->CreateSecret("client-test", R"({"k":"v"})");

  Result<SecretDescription> description = client_->DescribeSecret("client-test", Soon());
  ASSERT_TRUE(description.ok()) << description.status().message();
  EXPECT_EQ(description->arn, arn);
  EXPECT_EQ(description->name, "client-test");
  ASSERT_EQ(description->version_stages.size(), 1u);
  const std::string first = description->VersionWithStage(kAwsCurrent).value();

  Result<SecretValue> value = client_->GetSecretValue({arn, std::nullopt, std::nullopt}, Soon());
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_EQ(value->secret_string.reveal(), R"({"k":"v"})");
  EXPECT_EQ(value->version_id, first);

  const std::string token = "11111111-2222-3333-4444-555555555555";
  // Quotes, backslashes and non-ASCII survive the trip.
  const Secret pending(std::string(R"({"k":"\"quoted\" \\ ünïcode"})"));
  ASSERT_TRUE(
      client_->PutSecretValue({arn, token, pending, {kAwsPending}, std::nullopt}, Soon()).ok());
  Result<SecretValue> read_back =
      client_->GetSecretValue({arn, token, std::string(kAwsPending)}, Soon());
  ASSERT_TRUE(read_back.ok()) << read_back.status().message();
  EXPECT_TRUE(read_back->secret_string.Equals(pending));

  ASSERT_TRUE(client_->UpdateSecretVersionStage({arn, kAwsCurrent, token, first}, Soon()).ok());
  EXPECT_EQ(local_->VersionWithStage(arn, kAwsCurrent), token);
  EXPECT_EQ(local_->VersionWithStage(arn, kAwsPrevious), first);

  RandomPasswordRequest request;
  request.password_length = 40;
  request.exclude_characters = "abc";
  request.exclude_punctuation = true;
  Result<Secret> password = client_->GetRandomPassword(request, Soon());
  ASSERT_TRUE(password.ok()) << password.status().message();
  EXPECT_EQ(password->size(), 40u);
  EXPECT_EQ(std::string(password->reveal()).find_first_of("abc!@#$%^&*()"), std::string::npos);
}

TEST_F(SecretsManagerClientTest, AwsErrorsBecomeTypedStatuses) {
  Result<SecretDescription> missing = client_->DescribeSecret("no-such-secret", Soon());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().type(), kResourceNotFound);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  const std::string arn = local_->CreateSecret("errors-test", "{}");
  const std::string token = "11111111-2222-3333-4444-555555555555";
  ASSERT_TRUE(
      client_->PutSecretValue({arn, token, Secret(std::string("a")), {kAwsPending}, {}}, Soon())
          .ok());
  Status conflict =
      client_->PutSecretValue({arn, token, Secret(std::string("b")), {kAwsPending}, {}}, Soon());
  EXPECT_EQ(conflict.type(), kResourceExists);

  Status no_remove =
      client_->UpdateSecretVersionStage({arn, kAwsCurrent, token, std::nullopt}, Soon());
  EXPECT_EQ(no_remove.type(), kInvalidParameter);
}

TEST_F(SecretsManagerClientTest, AWrongSecretKeyIsRejectedByTheSignatureCheck) {
  local_->CreateSecret("signature-test", "{}");
  Result<SecretDescription> result =
      Client("not-the-secret-key")->DescribeSecret("signature-test", Soon());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "InvalidSignatureException");
  EXPECT_EQ(result.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(SecretsManagerClientTest, RetriesThrottling5xxAndDroppedConnectionsThenSucceeds) {
  local_->CreateSecret("retry-test", "{}");
  local_->ClearRequests();
  JsonValue faults;
  faults["operation"] = "DescribeSecret";
  faults["responses"][0]["status"] = 500;
  faults["responses"][0]["type"] = "InternalServiceError";
  faults["responses"][1]["status"] = 400;
  faults["responses"][1]["type"] = "ThrottlingException";
  faults["responses"][2]["close"] = true;
  local_->QueueFaults(faults);
  Result<SecretDescription> result = client_->DescribeSecret("retry-test", Soon());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->name, "retry-test");
  EXPECT_EQ(CountRequests("DescribeSecret"), 4) << "three failures, then success";
}

TEST_F(SecretsManagerClientTest, GivesUpAfterTheMaximumNumberOfAttempts) {
  local_->CreateSecret("give-up-test", "{}");
  local_->ClearRequests();
  JsonValue faults;
  faults["operation"] = "DescribeSecret";
  for (int i = 0; i < 6; ++i) {
    faults["responses"][i]["status"] = 503;
    faults["responses"][i]["type"] = "ServiceUnavailable";
  }
  local_->QueueFaults(faults);
  RetryPolicy policy;
  policy.max_attempts = 3;
  Result<SecretDescription> result =
      Client(testing::kLocalSecretKey, policy)->DescribeSecret("give-up-test", Soon());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "ServiceUnavailable");
  EXPECT_EQ(CountRequests("DescribeSecret"), 3);
}

TEST_F(SecretsManagerClientTest, DoesNotRetryErrorsThatWouldRepeat) {
  local_->ClearRequests();
  JsonValue faults;
  faults["operation"] = "DescribeSecret";
  faults["responses"][0]["status"] = 400;
  faults["responses"][0]["type"] = "AccessDeniedException";
  local_->QueueFaults(faults);
  Result<SecretDescription> result = client_->DescribeSecret("whatever", Soon());
  EXPECT_EQ(result.status().type(), "AccessDeniedException");
  EXPECT_EQ(CountRequests("DescribeSecret"), 1);
}

TEST_F(SecretsManagerClientTest, RetriesStopAtTheDeadline) {
  local_->ClearRequests();
  JsonValue faults;
  faults["operation"] = "DescribeSecret";
  for (int i = 0; i < 20; ++i) {
    faults["responses"][i]["status"] = 500;
    faults["responses"][i]["type"] = "InternalServiceError";
  }
  local_->QueueFaults(faults);
  RetryPolicy policy;
  policy.max_attempts = 20;
  policy.base_delay = std::chrono::milliseconds(400);
  policy.max_delay = std::chrono::milliseconds(400);
  const auto started = std::chrono::steady_clock::now();
  Result<SecretDescription> result =
      Client(testing::kLocalSecretKey, policy)
          ->DescribeSecret("x", Deadline::After(std::chrono::milliseconds(700)));
  ASSERT_FALSE(result.ok());
  EXPECT_LT(CountRequests("DescribeSecret"), 20);
  // Not a timing assertion on speed: only that the deadline, not the attempt
  // count, ended the retries (20 attempts would take several seconds).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

}  // namespace
}  // namespace secret_rotator::aws
