// The real RDS client over real HTTP against the local test bed, which
// verifies every SigV4 signature (service "rds") independently and answers
// in RDS's XML; and the tags DescribeSecret reads for RDS-managed secrets.
#include <gtest/gtest.h>

#include "aws/rds.h"
#include "aws/secrets_manager.h"
#include "base/json.h"
#include "tests/support/local_aws.h"

namespace secret_rotator::aws {
namespace {

using testing::LocalAws;

class RdsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    local_ = std::make_unique<LocalAws>(testing::LocalAwsOptions{TEST_BOOTSTRAP_PATH});
    local_->ConfigureRds(ParseJson(R"({
      "instances": [
        {"identifier": "db-1", "engine": "postgres", "address": "db-1.local.invalid",
         "port": 5432, "cluster": "shop"},
        {"identifier": "replica-1", "engine": "postgres", "address": "replica-1.local.invalid",
         "port": 5433, "replica_source": "db-1"}],
      "clusters": [
        {"identifier": "shop", "engine": "aurora-postgresql", "endpoint": "shop.local.invalid",
         "reader_endpoint": "shop-ro.local.invalid", "port": 5432, "members": ["db-1"]}]})",
                                   "test", "Test")
                             .value());
    client_ = Client(testing::kLocalSecretKey);
  }

  std::unique_ptr<Rds> Client(const std::string& secret_key) {
    AwsConfig config;
    config.region = testing::kLocalRegion;
    config.rds_endpoint = ParseEndpoint(local_->secrets_manager_url()).value();
    config.credentials.access_key_id = testing::kLocalAccessKey;
    config.credentials.secret_access_key = Secret(secret_key);
    return NewRdsClient(http::NewClient().value(), config);
  }

  static Deadline Soon() { return Deadline::After(std::chrono::seconds(10)); }

  std::unique_ptr<LocalAws> local_;
  std::unique_ptr<Rds> client_;
};

TEST_F(RdsClientTest, DescribesInstancesByIdentifierOrArn) {
  for (const std::string id : {"replica-1", "arn:aws:rds:us-east-1:123456789012:db:replica-1"}) {
    Result<std::vector<RdsInstance>> found = client_->DescribeDbInstances(id, Soon());
    ASSERT_TRUE(found.ok()) << found.status().message();
    ASSERT_EQ(found->size(), 1U);
    EXPECT_EQ(found->front().identifier, "replica-1");
    EXPECT_EQ(found->front().arn, "arn:aws:rds:us-east-1:123456789012:db:replica-1");
    EXPECT_EQ(found->front().address, "replica-1.local.invalid");
    EXPECT_EQ(found->front().port, 5433);
    EXPECT_EQ(found->front().replica_source, "db-1");
  }
}

TEST_F(RdsClientTest, DescribesClusters) {
  Result<std::vector<RdsCluster>> found = client_->DescribeDbClusters("shop", Soon());
  ASSERT_TRUE(found.ok()) << found.status().message();
  ASSERT_EQ(found->size(), 1U);
  EXPECT_EQ(found->front().engine, "aurora-postgresql");
  EXPECT_EQ(found->front().endpoint, "shop.local.invalid");
  EXPECT_EQ(found->front().reader_endpoint, "shop-ro.local.invalid");
  EXPECT_EQ(found->front().members, std::vector<std::string>{"db-1"});
}

TEST_F(RdsClientTest, MissingResourcesAreTheirNotFoundCodes) {
  Result<std::vector<RdsInstance>> instance = client_->DescribeDbInstances("nope", Soon());
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.status().type(), kDbInstanceNotFound);
  EXPECT_EQ(instance.status().code(), StatusCode::kNotFound);
  Result<std::vector<RdsCluster>> cluster = client_->DescribeDbClusters("nope", Soon());
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.status().type(), kDbClusterNotFound);
}

TEST_F(RdsClientTest, AWrongSecretKeyIsRejectedByTheSignatureCheck) {
  Result<std::vector<RdsInstance>> found =
      Client("not-the-secret-key")->DescribeDbInstances("db-1", Soon());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().type(), "InvalidSignatureException");
  EXPECT_EQ(found.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(RdsClientTest, RetriesThrottlingThenSucceeds) {
  local_->ClearRequests();
  JsonValue faults;
  faults["operation"] = "DescribeDBInstances";
  faults["responses"][0]["status"] = 400;
  faults["responses"][0]["type"] = "Throttling";
  faults["responses"][1]["status"] = 503;
  faults["responses"][1]["type"] = "InternalFailure";
  local_->QueueFaults(faults);
  Result<std::vector<RdsInstance>> found = client_->DescribeDbInstances("db-1", Soon());
  ASSERT_TRUE(found.ok()) << found.status().message();
  int attempts = 0;
  for (const JsonValue& request : local_->Requests()) {
    attempts += request["operation"] == "DescribeDBInstances" ? 1 : 0;
  }
  EXPECT_EQ(attempts, 3);
}

TEST_F(RdsClientTest, DescribeSecretReadsTheTags) {
  const JsonValue created = local_->AwsJson(
      {"secretsmanager", "create-secret", "--name", "rds-tagged", "--secret-string", "{}", "--tags",
       R"([{"Key":"aws:rds:primaryDBClusterArn","Value":"arn:x"},{"Key":"team","Value":"db"}])"});
  AwsConfig config;
  config.region = testing::kLocalRegion;
  config.endpoint = ParseEndpoint(local_->secrets_manager_url()).value();
  config.credentials.access_key_id = testing::kLocalAccessKey;
  config.credentials.secret_access_key = Secret(std::string(testing::kLocalSecretKey));
  std::unique_ptr<SecretsManager> secrets =
      NewSecretsManagerClient(http::NewClient().value(), std::move(config));
  Result<SecretDescription> description = secrets->DescribeSecret("rds-tagged", Soon());
  ASSERT_TRUE(description.ok()) << description.status().message();
  EXPECT_EQ(description->tags.size(), 2U);
  EXPECT_EQ(description->Tag("AWS:RDS:PRIMARYDBCLUSTERARN"), "arn:x");
  EXPECT_EQ(description->Tag("team"), "db");
  EXPECT_EQ(description->Tag("aws:rds:primaryDBInstanceArn"), std::nullopt);
}

}  // namespace
}  // namespace secret_rotator::aws
