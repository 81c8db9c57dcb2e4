// HTTP/1.1 through libcurl: one easy handle per client, kept for the life of
// the client, so its connection, TLS session and DNS caches serve every
// request (and every invocation) it sends.
//
// Certificate and host-name verification are always on for https; only http
// and https URLs are accepted, redirects are not followed, and libcurl's
// verbose output is never turned on (it would print request bodies).
// Request and response bodies are wiped when the objects holding them are
// destroyed, since they may carry secret values, and the response body is
// never left behind in freed memory as it grows. (libcurl's and OpenSSL's own
// buffers are not in reach of this wipe.)
//
// Thread-safety: a Client serves one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace secret_rotator::http {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  Request() = default;
  Request(const Request&) = default;
  Request& operator=(const Request&) = default;
  Request(Request&&) = default;
  Request& operator=(Request&&) = default;
  ~Request();

  std::string method = "GET";
  std::string url;
  std::vector<Header> headers;
  std::string body;
  // Bound on the whole exchange (CURLOPT_TIMEOUT_MS); zero means no bound (a
  // long poll).
  std::chrono::milliseconds timeout{0};
  // Bound on establishing the connection: name resolution, TCP, a proxy's
  // tunnel and the TLS handshake (CURLOPT_CONNECTTIMEOUT_MS); zero means
  // only `timeout` applies.
  std::chrono::milliseconds connect_timeout{0};
};

struct Response {
  Response() = default;
  Response(const Response&) = default;
  Response& operator=(const Response&) = default;
  Response(Response&&) = default;
  Response& operator=(Response&&) = default;
  ~Response();

  long status = 0;
  std::vector<Header> headers;
  std::string body;

  // The value of the first header named `name` (any case), or nullptr.
  const std::string* FindHeader(std::string_view name) const;
};

class Client {
 public:
  virtual ~Client() = default;

  // Sends `request` and returns the response, whatever its HTTP status. An
  // error means no complete response arrived: type "ConnectionError"
  // (kUnavailable) when the name did not resolve, the connection failed or
  // broke, or the response was malformed or larger than 16 MiB; "Timeout"
  // (kDeadlineExceeded) when a bound ran out; "TlsError"
  // (kFailedPrecondition) when the peer's certificate did not verify or the
  // trusted CAs could not be loaded; "InvalidUrl" or "InvalidHeader"
  // (kInvalidArgument) for a request that cannot be sent. The message names
  // the method and URL and says what happened; it never holds a body.
  virtual Result<Response> Send(const Request& request) = 0;
};

struct ClientOptions {
  // The CAs trusted for https, as a PEM file. Empty: `ca_pem` if set, else
  // the system store (SystemCaBundle(): SSL_CERT_FILE, else the usual Linux
  // bundle locations).
  std::string ca_file;
  // The CAs trusted for https, as PEM text; used when `ca_file` is empty.
  std::string ca_pem;
  // Use a proxy as the environment says, as curl does: https_proxy or
  // HTTPS_PROXY for https URLs, http_proxy (lower case only) for http URLs,
  // ALL_PROXY otherwise, except for hosts NO_PROXY lists. False: never a
  // proxy, whatever the environment says.
  bool proxy_from_environment = true;
};

// Creates a client. The process ignores SIGPIPE from then on (a peer closing
// mid-write is an error value, not a signal). Fails ("HttpError") only when
// libcurl cannot be initialised.
Result<std::unique_ptr<Client>> NewClient(ClientOptions options = {});

}  // namespace secret_rotator::http
