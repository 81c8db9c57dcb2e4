#include "aws/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace secret_rotator::aws {
namespace {

class AwsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) ::unsetenv(name);
    ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    // No file of the machine's user takes part.
    ::setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
  }
  void TearDown() override {
    for (const char* name : kVariables) ::unsetenv(name);
  }
  static constexpr const char* kVariables[] = {"AWS_REGION",
                                               "AWS_DEFAULT_REGION",
                                               "SECRETS_MANAGER_ENDPOINT",
                                               "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                                               "AWS_ENDPOINT_URL",
                                               "RDS_ENDPOINT",
                                               "AWS_ENDPOINT_URL_RDS",
                                               "AWS_ACCESS_KEY_ID",
                                               "AWS_SECRET_ACCESS_KEY",
                                               "AWS_SESSION_TOKEN",
                                               "AWS_PROFILE",
                                               "AWS_SHARED_CREDENTIALS_FILE",
                                               "AWS_CONFIG_FILE"};
};

TEST_F(AwsConfigTest, RegionIsRequired) {
  Result<AwsConfig> config = AwsConfigFromEnvironment();
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().type(), "ConfigurationError");
  EXPECT_NE(config.status().message().find("AWS_REGION"), std::string::npos);
}

TEST_F(AwsConfigTest, RegionComesFromTheConfigFileWhenTheEnvironmentHasNone) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("config_" + std::to_string(::getpid()))).string();
  std::ofstream(path) << "[default]\nregion = eu-north-1\n"
                         "[profile ops]\nregion=ap-southeast-2\n"
                         "[profile bad]\nregion = not a region\n"
                         "[profile none]\noutput = json\n";
  ::setenv("AWS_CONFIG_FILE", path.c_str(), 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->region, "eu-north-1");
  ::setenv("AWS_PROFILE", "ops", 1);
  Result<AwsConfig> config = AwsConfigFromEnvironment();
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->region, "ap-southeast-2");
  EXPECT_EQ(config->endpoint.url, "https://secretsmanager.ap-southeast-2.amazonaws.com");
  // The environment wins over the file.
  ::setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->region, "us-west-1");
  ::setenv("AWS_REGION", "us-west-2", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->region, "us-west-2");
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");

  ::setenv("AWS_PROFILE", "bad", 1);
  Result<AwsConfig> bad = AwsConfigFromEnvironment();
  EXPECT_EQ(bad.status().type(), "ConfigurationError");
  EXPECT_NE(bad.status().message().find("of profile 'bad' in " + path), std::string::npos)
      << bad.status().message();
  for (const char* profile : {"none", "missing"}) {
    ::setenv("AWS_PROFILE", profile, 1);
    Result<AwsConfig> none = AwsConfigFromEnvironment();
    EXPECT_EQ(none.status().type(), "ConfigurationError") << profile;
    EXPECT_NE(none.status().message().find("no AWS region"), std::string::npos) << profile;
  }
  std::filesystem::remove(path);
}

TEST_F(AwsConfigTest, RegionFallsBackToDefaultRegionAndEndpointFollowsIt) {
  ::setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
  Result<AwsConfig> config = AwsConfigFromEnvironment();
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->region, "eu-west-1");
  EXPECT_EQ(config->endpoint.url, "https://secretsmanager.eu-west-1.amazonaws.com");
  EXPECT_EQ(config->endpoint.host, "secretsmanager.eu-west-1.amazonaws.com");
  EXPECT_TRUE(config->endpoint.https);
  ::setenv("AWS_REGION", "cn-north-1", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->endpoint.url,
            "https://secretsmanager.cn-north-1.amazonaws.com.cn");
}

TEST_F(AwsConfigTest, EndpointOverridesTakeTheDocumentedOrder) {
  ::setenv("AWS_REGION", "us-east-1", 1);
  ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:3/", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->endpoint.url, "http://127.0.0.1:3");
  ::setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:2", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->endpoint.url, "http://127.0.0.1:2");
  ::setenv("SECRETS_MANAGER_ENDPOINT", "https://vpce-1.secretsmanager.us-east-1.vpce.amazonaws.com",
           1);
  Result<AwsConfig> config = AwsConfigFromEnvironment();
  EXPECT_EQ(config->endpoint.host, "vpce-1.secretsmanager.us-east-1.vpce.amazonaws.com");
  EXPECT_EQ(config->endpoint.base_path, "/");
}

TEST_F(AwsConfigTest, RdsEndpointFromTheRegionOrTheOverrides) {
  ::setenv("AWS_REGION", "eu-west-1", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->rds_endpoint.url, "https://rds.eu-west-1.amazonaws.com");
  ::setenv("AWS_REGION", "cn-north-1", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->rds_endpoint.host, "rds.cn-north-1.amazonaws.com.cn");
  ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:3", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->rds_endpoint.url, "http://127.0.0.1:3");
  ::setenv("AWS_ENDPOINT_URL_RDS", "http://127.0.0.1:4", 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->rds_endpoint.url, "http://127.0.0.1:4");
  ::setenv("RDS_ENDPOINT", "https://vpce-2.rds.cn-north-1.vpce.amazonaws.com.cn/", 1);
  Result<AwsConfig> config = AwsConfigFromEnvironment();
  EXPECT_EQ(config->rds_endpoint.host, "vpce-2.rds.cn-north-1.vpce.amazonaws.com.cn");
  EXPECT_EQ(config->endpoint.url, "http://127.0.0.1:3") << "Secrets Manager keeps its own";
  ::setenv("RDS_ENDPOINT", "ftp://example.com", 1);
  const Status bad = AwsConfigFromEnvironment().status();
  EXPECT_EQ(bad.type(), "ConfigurationError");
  EXPECT_NE(bad.message().find("RDS_ENDPOINT"), std::string::npos) << bad.message();
}

TEST_F(AwsConfigTest, BadEndpointsAndRegionsAreConfigurationErrors) {
  ::setenv("AWS_REGION", "us-east-1", 1);
  ::setenv("SECRETS_MANAGER_ENDPOINT", "ftp://example.com", 1);
  EXPECT_EQ(AwsConfigFromEnvironment().status().type(), "ConfigurationError");
  ::setenv("SECRETS_MANAGER_ENDPOINT", "https://", 1);
  EXPECT_EQ(AwsConfigFromEnvironment().status().type(), "ConfigurationError");
  ::unsetenv("SECRETS_MANAGER_ENDPOINT");
  ::setenv("AWS_REGION", "us east 1", 1);
  EXPECT_EQ(AwsConfigFromEnvironment().status().type(), "ConfigurationError");
}

TEST_F(AwsConfigTest, CredentialsFromTheEnvironmentIncludeTheSessionToken) {
  ::setenv("AWS_REGION", "us-east-1", 1);
  ::setenv("AWS_SESSION_TOKEN", "token", 1);
  Result<AwsConfig> config = AwsConfigFromEnvironment();
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->credentials.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(config->credentials.secret_access_key.reveal(), "secret");
  EXPECT_EQ(config->credentials.session_token.reveal(), "token");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(AwsConfigFromEnvironment().status().type(), "ConfigurationError");
}

TEST_F(AwsConfigTest, CredentialsFromTheSharedFileFollowAwsProfile) {
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::setenv("AWS_REGION", "us-east-1", 1);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("credentials_" + std::to_string(::getpid())))
          .string();
  std::ofstream(path) << "# comment\n[default]\naws_access_key_id = AKDEFAULT\n"
                         "aws_secret_access_key = s1\n\n[ops]\naws_access_key_id=AKOPS\n"
                         "aws_secret_access_key=s2\naws_session_token = t2\n";
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", path.c_str(), 1);
  EXPECT_EQ(AwsConfigFromEnvironment()->credentials.access_key_id, "AKDEFAULT");
  ::setenv("AWS_PROFILE", "ops", 1);
  Result<AwsConfig> config = AwsConfigFromEnvironment();
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->credentials.access_key_id, "AKOPS");
  EXPECT_EQ(config->credentials.secret_access_key.reveal(), "s2");
  EXPECT_EQ(config->credentials.session_token.reveal(), "t2");
  ::setenv("AWS_PROFILE", "missing", 1);
  Result<AwsConfig> missing = AwsConfigFromEnvironment();
  EXPECT_EQ(missing.status().type(), "ConfigurationError");
  EXPECT_NE(missing.status().message().find("profile 'missing'"), std::string::npos);
  std::filesystem::remove(path);
  ::setenv("AWS_PROFILE", "ops", 1);
  EXPECT_EQ(AwsConfigFromEnvironment().status().type(), "ConfigurationError");
}

}  // namespace
}  // namespace secret_rotator::aws
