#include "aws/config.h"

#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <utility>

#include "aws/shared_config.h"
#include "base/env.h"

namespace secret_rotator::aws {
namespace {

bool IsValidRegion(const std::string& region) {
  if (region.empty() || region.size() > 32) return false;
  for (char c : region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// The region of the profile AWS_PROFILE (else "default") in the config file,
// as the AWS CLI reads it when neither variable is set; "" when it has none.
Result<std::string> RegionFromConfigFile() {
  const SharedFiles files = SharedFilesFromEnvironment();
  Result<std::optional<std::string>> text = ReadSharedFile(files.config_path);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return std::string();
  const std::optional<ProfileSettings> profile =
      FindProfile(**text, SharedFileKind::kConfig, files.profile);
  WipeString(**text);
  if (!profile) return std::string();
  std::optional<std::string> region = SettingText(*profile, "region");
  if (!region || region->empty()) return std::string();
  if (!IsValidRegion(*region)) {
    return ConfigurationError("the region '" + *region + "' of profile '" + files.profile +
                              "' in " + files.config_path + " is not a region name");
  }
  return *region;
}

}  // namespace

Result<Endpoint> ParseEndpoint(const std::string& url) {
  Endpoint endpoint;
  std::string rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    endpoint.https = false;
    rest = url.substr(7);
  } else {
    return ConfigurationError("endpoint '" + url + "' must start with https:// or http://");
  }
  const auto slash = rest.find('/');
  endpoint.host = rest.substr(0, slash);
  endpoint.base_path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (endpoint.host.empty() || endpoint.host.find_first_of("@?# ") != std::string::npos) {
    return ConfigurationError("endpoint '" + url + "' has no valid host");
  }
  if (endpoint.base_path.find_first_of("?#") != std::string::npos) {
    return ConfigurationError("endpoint '" + url + "' must not have a query or fragment");
  }
  endpoint.url = url;
  while (endpoint.url.ends_with('/')) endpoint.url.pop_back();
  return endpoint;
}

std::string DefaultSecretsManagerEndpoint(const std::string& region) {
  const bool china = region.starts_with("cn-");
  return "https://secretsmanager." + region + (china ? ".amazonaws.com.cn" : ".amazonaws.com");
}

std::string DefaultRdsEndpoint(const std::string& region) {
  const bool china = region.starts_with("cn-");
  return "https://rds." + region + (china ? ".amazonaws.com.cn" : ".amazonaws.com");
}

namespace {

// The first of `variables` that is set and not empty, else `fallback`, parsed.
Result<Endpoint> EndpointFromEnvironment(std::initializer_list<const char*> variables,
                                         const std::string& fallback) {
  for (const char* name : variables) {
    if (auto configured = GetEnv(name); configured && !configured->empty()) {
      Result<Endpoint> endpoint = ParseEndpoint(*configured);
      if (!endpoint.ok()) return endpoint.status().WithContext(name);
      return endpoint;
    }
  }
  return ParseEndpoint(fallback);
}

}  // namespace

Result<AwsConfig> AwsConfigFromEnvironment() {
  AwsConfig config;
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto region = GetEnv(name); region && !region->empty()) {
      if (!IsValidRegion(*region)) {
        return ConfigurationError(std::string(name) + " '" + *region + "' is not a region name");
      }
      config.region = *region;
      break;
    }
  }
  if (config.region.empty()) {
    Result<std::string> region = RegionFromConfigFile();
    if (!region.ok()) return region.status();
    config.region = std::move(region).value();
  }
  if (config.region.empty()) {
    return ConfigurationError(
        "no AWS region: set AWS_REGION (Lambda sets it) or AWS_DEFAULT_REGION, or region in the "
        "profile's section of the AWS config file (AWS_CONFIG_FILE, else ~/.aws/config)");
  }

  Result<Endpoint> endpoint = EndpointFromEnvironment(
      {"SECRETS_MANAGER_ENDPOINT", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"},
      DefaultSecretsManagerEndpoint(config.region));
  if (!endpoint.ok()) return endpoint.status();
  config.endpoint = std::move(endpoint).value();
  Result<Endpoint> rds =
      EndpointFromEnvironment({"RDS_ENDPOINT", "AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL"},
                              DefaultRdsEndpoint(config.region));
  if (!rds.ok()) return rds.status();
  config.rds_endpoint = std::move(rds).value();

  if (auto bundle = GetEnv("AWS_CA_BUNDLE"); bundle && !bundle->empty()) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(*bundle, error) || ::access(bundle->c_str(), R_OK) != 0) {
      return ConfigurationError("AWS_CA_BUNDLE '" + *bundle + "' is not a readable file");
    }
    config.ca_bundle = *bundle;
  }

  Result<Credentials> credentials = LoadCredentials();
  if (!credentials.ok()) return credentials.status();
  config.credentials = std::move(credentials).value();
  return config;
}

}  // namespace secret_rotator::aws
