#include "aws/ca_trust.h"

#include <gtest/gtest.h>

#include <string>

namespace secret_rotator::aws {
namespace {

AwsConfig ConfigFor(const std::string& url) {
  AwsConfig config;
  config.region = "us-east-1";
  config.endpoint = ParseEndpoint(url).value();
  return config;
}

TEST(CaTrust, AwsEndpointsTrustOnlyTheAmazonRoots) {
  const http::ClientOptions options =
      SecretsManagerHttpOptions(ConfigFor("https://secretsmanager.us-east-1.amazonaws.com"));
  EXPECT_EQ(options.ca_pem, AmazonRootCas());
  EXPECT_TRUE(options.ca_file.empty());
  EXPECT_TRUE(options.proxy_from_environment);
  // Five roots: Amazon Root CA 1-4 and Starfield Services Root CA - G2.
  std::size_t certificates = 0;
  for (std::size_t at = 0;
       (at = AmazonRootCas().find("-----BEGIN CERTIFICATE-----", at)) != std::string_view::npos;
       ++at) {
    ++certificates;
  }
  EXPECT_EQ(certificates, 5u);
  for (const char* name : {"Amazon_Root_CA_1", "Amazon_Root_CA_4", "Starfield_Services_Root"}) {
    EXPECT_NE(AmazonRootCas().find(name), std::string_view::npos) << name;
  }
}

TEST(CaTrust, CustomEndpointsUseTheSystemStoreAndAwsCaBundleReplacesEverything) {
  for (const char* url :
       {"https://127.0.0.1:8443", "https://secretsmanager.cn-north-1.amazonaws.com.cn",
        "https://vpce.example.com", "http://secretsmanager.us-east-1.amazonaws.com"}) {
    const http::ClientOptions options = SecretsManagerHttpOptions(ConfigFor(url));
    EXPECT_TRUE(options.ca_pem.empty()) << url;
    EXPECT_TRUE(options.ca_file.empty()) << url;
  }
  AwsConfig config = ConfigFor("https://secretsmanager.eu-west-1.amazonaws.com");
  config.ca_bundle = "/etc/corporate-proxy-ca.pem";
  const http::ClientOptions options = SecretsManagerHttpOptions(config);
  EXPECT_EQ(options.ca_file, "/etc/corporate-proxy-ca.pem");
  EXPECT_TRUE(options.ca_pem.empty());
}

TEST(CaTrust, IsAwsDomain) {
  EXPECT_TRUE(IsAwsDomain("secretsmanager.us-east-1.amazonaws.com"));
  EXPECT_TRUE(IsAwsDomain("secretsmanager-fips.us-gov-west-1.amazonaws.com:443"));
  EXPECT_TRUE(IsAwsDomain("VPCE-1.SECRETSMANAGER.US-EAST-1.VPCE.AMAZONAWS.COM."));
  EXPECT_FALSE(IsAwsDomain("amazonaws.com"));
  EXPECT_FALSE(IsAwsDomain("evilamazonaws.com"));
  EXPECT_FALSE(IsAwsDomain("secretsmanager.amazonaws.com.evil.example"));
  EXPECT_FALSE(IsAwsDomain("secretsmanager.cn-north-1.amazonaws.com.cn"));
  EXPECT_FALSE(IsAwsDomain("[::1]:443"));
  EXPECT_FALSE(IsAwsDomain(""));
}

}  // namespace
}  // namespace secret_rotator::aws
