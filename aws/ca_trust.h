// Which certificate authorities the Secrets Manager client trusts.
#pragma once

#include <string_view>

#include "aws/config.h"
#include "http/http_client.h"

namespace secret_rotator::aws {

// The HTTP client options for Secrets Manager at `config.endpoint`:
//  - config.ca_bundle (AWS_CA_BUNDLE) when set: that file replaces the trust
//    store, as it does for the AWS CLI and SDKs (a proxy that re-signs TLS,
//    a private endpoint);
//  - else, for an endpoint in AWS's own domain (host *.amazonaws.com), only
//    the root CAs AWS endpoints chain to (AmazonRootCas()): five certificates
//    instead of the whole system store, which the first invocation would
//    otherwise spend tens of milliseconds loading;
//  - else (a custom endpoint, the China regions' .amazonaws.com.cn) the
//    system store (SystemCaBundle(): SSL_CERT_FILE or the usual locations).
// The proxy environment variables are honoured.
http::ClientOptions SecretsManagerHttpOptions(const AwsConfig& config);
// The same for RDS at config.rds_endpoint.
http::ClientOptions RdsHttpOptions(const AwsConfig& config);

// Returns true iff `host` (a host name, optionally with ":port") is in AWS's
// own domain, amazonaws.com, whose endpoints chain to AmazonRootCas().
bool IsAwsDomain(std::string_view host);

// PEM text of Amazon Root CA 1-4 and Starfield Services Root Certificate
// Authority - G2 (aws/amazon_root_cas.pem, built into the program).
std::string_view AmazonRootCas();

}  // namespace secret_rotator::aws
