// One TCP connection, in plain text or TLS, with every operation bounded by
// a deadline. Internal to http/; no OpenSSL type appears here.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/url.h"

namespace secret_rotator::http {

using Clock = std::chrono::steady_clock;

// The TLS settings shared by every connection of a client: the trusted CA
// bundle, loaded once, on the first https connection.
class TlsContext {
 public:
  // `ca_file`: the trusted CAs; empty means SSL_CERT_FILE, else the usual
  // Linux bundle locations.
  explicit TlsContext(std::string ca_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The OpenSSL SSL_CTX, created on first use. Opaque here.
  Result<void*> Get();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends all of `data` by `deadline`.
  virtual Status WriteAll(std::string_view data, Clock::time_point deadline) = 0;
  // Reads at least one byte into `buffer` by `deadline`; returns the count,
  // or 0 when the peer closed the connection.
  virtual Result<std::size_t> ReadSome(char* buffer, std::size_t size,
                                       Clock::time_point deadline) = 0;
};

// Connects to `url`'s host and port (every address it resolves to, in
// order) and, for https, completes a TLS handshake that verifies the peer's
// certificate chain and host name, all by `deadline`.
Result<std::unique_ptr<Transport>> Connect(const Url& url, Clock::time_point deadline,
                                           TlsContext& tls);

}  // namespace secret_rotator::http
