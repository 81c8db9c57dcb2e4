// AWS Signature Version 4 for requests signed in the Authorization header.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "aws/credentials.h"
#include "http/http_client.h"

namespace secret_rotator::aws {

// The parts of an HTTP request that SigV4 covers.
struct RequestToSign {
  std::string method;
  // The path as it goes on the wire, without the query, e.g. "/".
  std::string path;
  // The query string without the leading '?', possibly empty.
  std::string query;
  // Every header to sign, in the order sent; must include Host.
  std::vector<http::Header> headers;
  std::string body;
};

struct SigningOptions {
  std::string region;
  std::string service;
  std::chrono::system_clock::time_point time;
  // Remove dot segments and repeated slashes from the path (every service but S3).
  bool normalize_path = true;
  // Add and sign x-amz-content-sha256.
  bool sign_body = false;
  // Sign without the session token and add X-Amz-Security-Token afterwards.
  bool omit_session_token = false;
};

struct SignedRequest {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // lowercase hex
  // Headers to add to the request, in order: X-Amz-Date, then any of
  // X-Amz-Security-Token and x-amz-content-sha256, then Authorization.
  std::vector<http::Header> added_headers;
};

// Signs `request`. Pure: the same inputs always give the same output.
SignedRequest SignRequest(const RequestToSign& request, const Credentials& credentials,
                          const SigningOptions& options);

// RFC 3986 percent-encoding of every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~), uppercase hex: a form or query value as SigV4 signs it.
std::string PercentEncode(std::string_view text);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace secret_rotator::aws
