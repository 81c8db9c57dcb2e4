// HTTP/1.1 client over POSIX sockets and OpenSSL, keeping one connection
// alive between requests.
//
// Not libcurl: Debian's libcurl loads some 30 shared libraries at start-up
// (about 5 ms), more than the function's whole cold-start budget, and the
// function needs only HTTP/1.1 with Content-Length or chunked bodies.
//
// Certificate and host-name verification are always on for https. Request and
// response bodies are wiped when the objects holding them are destroyed, since
// they may carry secret values.
//
// Thread-safety: an HttpClient serves one thread at a time.
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
  // Bound on the whole exchange; zero means no bound (a long poll).
  std::chrono::milliseconds timeout{0};
  // Bound on establishing the connection (TLS handshake included); zero
  // means only `timeout` applies.
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
  // (kUnavailable) when the connection failed or broke, "Timeout"
  // (kDeadlineExceeded) when a bound ran out, "TlsError"
  // (kFailedPrecondition) when the peer's certificate did not verify.
  virtual Result<Response> Send(const Request& request) = 0;
};

struct ClientOptions {
  // PEM bundle of the CAs trusted for https. Empty: SSL_CERT_FILE, else the
  // first of the usual Linux bundle locations that exists (Amazon Linux and
  // Debian differ). The bundle is read on the first https request.
  std::string ca_file;
};

// Creates a client. The process ignores SIGPIPE from then on (a peer closing
// mid-write is an error value, not a signal).
Result<std::unique_ptr<Client>> NewClient(ClientOptions options = {});

}  // namespace secret_rotator::http
