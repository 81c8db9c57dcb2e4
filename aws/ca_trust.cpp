#include "aws/ca_trust.h"

#include <cctype>

namespace secret_rotator::aws {

// Defined in the file CMake generates from aws/amazon_root_cas.pem.
const char* AmazonRootCasPemText();

std::string_view AmazonRootCas() { return AmazonRootCasPemText(); }

bool IsAwsDomain(std::string_view host) {
  if (host.empty() || host.front() == '[') return false;  // an IPv6 address
  if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  while (host.ends_with('.')) host.remove_suffix(1);  // a fully qualified name
  constexpr std::string_view kDomain = ".amazonaws.com";
  if (host.size() <= kDomain.size()) return false;
  const std::string_view suffix = host.substr(host.size() - kDomain.size());
  for (std::size_t i = 0; i < kDomain.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(suffix[i])) != kDomain[i]) return false;
  }
  return true;
}

namespace {

http::ClientOptions HttpOptionsFor(const Endpoint& endpoint, const std::string& ca_bundle) {
  http::ClientOptions options;
  options.proxy_from_environment = true;
  if (!ca_bundle.empty()) {
    options.ca_file = ca_bundle;
  } else if (endpoint.https && IsAwsDomain(endpoint.host)) {
    options.ca_pem = std::string(AmazonRootCas());
  }
  return options;
}

}  // namespace

http::ClientOptions SecretsManagerHttpOptions(const AwsConfig& config) {
  return HttpOptionsFor(config.endpoint, config.ca_bundle);
}

http::ClientOptions RdsHttpOptions(const AwsConfig& config) {
  return HttpOptionsFor(config.rds_endpoint, config.ca_bundle);
}

}  // namespace secret_rotator::aws
