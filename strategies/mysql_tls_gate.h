// The TLS gate: what keeps a MySQL login from leaving the process in
// plaintext when TLS is required but the server's certificate is not
// checked against its host name (DB_TLS_MODE require and verify-ca).
//
// Why it exists: MariaDB Connector/C 3.3 (Debian 12's libmariadb) refuses a
// server that does not offer TLS only when MYSQL_OPT_SSL_VERIFY_SERVER_CERT
// (host-name verification) or a certificate fingerprint is set. With TLS
// merely enforced (MYSQL_OPT_SSL_ENFORCE), a server greeting without
// CLIENT_SSL makes it log in in plaintext: a man-in-the-middle that clears
// that flag, or drops TLS, reads the login and every statement after it.
// verify-full sets host-name verification and is safe; the other two modes go
// through this gate.
//
// The gate sits between the client library and the server: the library
// connects to a Unix socket that only this process can use, and the gate
// relays to the server over TCP. It lets the server's greeting through only
// when it offers TLS, and the client's first packet only when it is an
// SSLRequest, after which the library starts TLS on the same stream (the
// library does the TLS handshake and the certificate checks itself). Any
// other first packet, which is where the user name and the password proof
// would be, is dropped and the connection closed, so no credential byte and
// no SQL leaves the process unencrypted. After those two packets the gate
// only copies bytes.
//
// Internal to strategies/.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/deadline.h"
#include "base/status.h"

namespace secret_rotator::strategies::mysql {

// Returns true iff `payload` (a packet without its 4-byte header) is a
// protocol-10 server greeting whose capability flags include CLIENT_SSL.
bool GreetingOffersTls(std::string_view payload);

// Returns true iff `payload` is a server error packet (first byte 0xFF).
bool IsErrorPacket(std::string_view payload);

// Returns true iff `payload` is an SSLRequest: the 32-byte packet a client
// sends, in place of its login, to switch to TLS (capability flags with
// CLIENT_SSL and CLIENT_PROTOCOL_41, packet size, character set, filler).
bool IsSslRequest(std::string_view payload);

// One gated connection. Thread-safety: the gate runs its own thread; the
// public functions may be called from the owner's thread at any time.
class TlsGate {
 public:
  // Connects to host:port (every address it resolves to, in order, each
  // attempt bounded by `deadline`) and starts relaying for one client on a
  // new Unix socket, socket_path(). `target` names the connection in errors.
  // Errors: DatabaseConnectionError, Timeout, InternalError.
  static Result<std::unique_ptr<TlsGate>> Open(const std::string& host, int port, Deadline deadline,
                                               const std::string& target);

  // Stops the relay and closes both sides.
  ~TlsGate();
  TlsGate(const TlsGate&) = delete;
  TlsGate& operator=(const TlsGate&) = delete;

  // The Unix socket the client library must connect to.
  const std::string& socket_path() const;
  // Why the gate closed the connection before TLS ("" when it did not).
  std::string refusal() const;

 private:
  struct State;
  explicit TlsGate(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace secret_rotator::strategies::mysql
