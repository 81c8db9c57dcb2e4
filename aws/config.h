// Where and as whom the AWS client talks: region, endpoint, credentials.
#pragma once

#include <string>

#include "aws/credentials.h"
#include "base/status.h"

namespace secret_rotator::aws {

// A parsed endpoint URL: scheme://host[:port][/base-path].
struct Endpoint {
  std::string url;        // without a trailing slash
  std::string host;       // the Host header: host, plus ":port" when one is given
  std::string base_path;  // "/" or the URL's path
  bool https = true;
};

// Parses an endpoint URL; only http and https are accepted.
Result<Endpoint> ParseEndpoint(const std::string& url);

struct AwsConfig {
  std::string region;
  Endpoint endpoint;      // Secrets Manager's
  Endpoint rds_endpoint;  // RDS's (RDS-managed master secrets, replicas)
  Credentials credentials;
  // AWS_CA_BUNDLE: a PEM file of the CAs to trust instead of the usual ones
  // (see aws/ca_trust.h); empty when unset.
  std::string ca_bundle;
};

// Region from AWS_REGION, else AWS_DEFAULT_REGION, else (as the AWS CLI)
// the setting "region" of profile AWS_PROFILE (else "default") in the config
// file (AWS_CONFIG_FILE, else ~/.aws/config). Secrets Manager endpoint
// from SECRETS_MANAGER_ENDPOINT (the name AWS's rotation functions use), else
// AWS_ENDPOINT_URL_SECRETS_MANAGER, else AWS_ENDPOINT_URL, else
// https://secretsmanager.<region>.amazonaws.com (.amazonaws.com.cn in the
// China regions). RDS endpoint from RDS_ENDPOINT, else AWS_ENDPOINT_URL_RDS,
// else AWS_ENDPOINT_URL, else https://rds.<region>.amazonaws.com(.cn). Credentials as
// LoadCredentials(). AWS_CA_BUNDLE, when set, must name a readable file. A ConfigurationError says
// which setting is missing or wrong.
Result<AwsConfig> AwsConfigFromEnvironment();

// The public Secrets Manager endpoint of `region`.
std::string DefaultSecretsManagerEndpoint(const std::string& region);
// The public RDS endpoint of `region`.
std::string DefaultRdsEndpoint(const std::string& region);

}  // namespace secret_rotator::aws
