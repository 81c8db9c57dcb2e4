#include "http/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/ca_bundle.h"

namespace secret_rotator::http {
namespace {

struct SslCtxDeleter {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using Ssl = std::unique_ptr<SSL, SslDeleter>;

struct AddrInfoDeleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};
using AddrInfo = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// A file descriptor closed on destruction.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

Status ConnectionError(std::string message) {
  return Status(StatusCode::kUnavailable, "ConnectionError", std::move(message));
}

Status TimeoutError(std::string_view what) {
  return Status(StatusCode::kDeadlineExceeded, "Timeout", std::string(what) + " timed out");
}

// Milliseconds until `deadline` for poll(), or -1 for no deadline.
int PollTimeout(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return -1;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 24LL * 3600 * 1000));
}

// Waits until `fd` is ready for `events`; false when the deadline passed.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  pollfd entry{fd, events, 0};
  while (true) {
    const int ready = ::poll(&entry, 1, PollTimeout(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown TLS error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

class PlainTransport : public Transport {
 public:
  explicit PlainTransport(std::unique_ptr<Socket> socket, std::string peer)
      : socket_(std::move(socket)), peer_(std::move(peer)) {}

  Status WriteAll(std::string_view data, Clock::time_point deadline) override {
    while (!data.empty()) {
      const ssize_t sent = ::send(socket_->fd(), data.data(), data.size(), MSG_NOSIGNAL);
      if (sent > 0) {
        data.remove_prefix(static_cast<std::size_t>(sent));
      } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!WaitFor(socket_->fd(), POLLOUT, deadline)) return TimeoutError("sending to " + peer_);
      } else {
        return ConnectionError("sending to " + peer_ + ": " + std::strerror(errno));
      }
    }
    return Status::Ok();
  }

  Result<std::size_t> ReadSome(char* buffer, std::size_t size,
                               Clock::time_point deadline) override {
    while (true) {
      const ssize_t received = ::recv(socket_->fd(), buffer, size, 0);
      if (received >= 0) return static_cast<std::size_t>(received);
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        if (!WaitFor(socket_->fd(), POLLIN, deadline)) {
          return TimeoutError("waiting for " + peer_);
        }
        continue;
      }
      return ConnectionError("reading from " + peer_ + ": " + std::strerror(errno));
    }
  }

 protected:
  int fd() const { return socket_->fd(); }
  const std::string& peer() const { return peer_; }

 private:
  std::unique_ptr<Socket> socket_;
  std::string peer_;
};

class TlsTransport final : public PlainTransport {
 public:
  TlsTransport(std::unique_ptr<Socket> socket, std::string peer, Ssl ssl)
      : PlainTransport(std::move(socket), std::move(peer)), ssl_(std::move(ssl)) {}

  // Runs the handshake; a certificate that does not verify is a TlsError.
  Status Handshake(Clock::time_point deadline) {
    while (true) {
      ERR_clear_error();
      const int result = SSL_connect(ssl_.get());
      if (result == 1) return Status::Ok();
      const long verify = SSL_get_verify_result(ssl_.get());
      if (verify != X509_V_OK) {
        return Status(StatusCode::kFailedPrecondition, "TlsError",
                      "the certificate of " + peer() +
                          " did not verify: " + X509_verify_cert_error_string(verify));
      }
      Status waited = Wait(SSL_get_error(ssl_.get(), result), deadline, "TLS handshake with ");
      if (!waited.ok()) return waited;
    }
  }

  Status WriteAll(std::string_view data, Clock::time_point deadline) override {
    while (!data.empty()) {
      ERR_clear_error();
      std::size_t written = 0;
      const int result = SSL_write_ex(ssl_.get(), data.data(), data.size(), &written);
      if (result == 1) {
        data.remove_prefix(written);
        continue;
      }
      Status waited = Wait(SSL_get_error(ssl_.get(), result), deadline, "sending to ");
      if (!waited.ok()) return waited;
    }
    return Status::Ok();
  }

  Result<std::size_t> ReadSome(char* buffer, std::size_t size,
                               Clock::time_point deadline) override {
    while (true) {
      ERR_clear_error();
      std::size_t read = 0;
      const int result = SSL_read_ex(ssl_.get(), buffer, size, &read);
      if (result == 1) return read;
      const int error = SSL_get_error(ssl_.get(), result);
      if (error == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
      Status waited = Wait(error, deadline, "reading from ");
      if (!waited.ok()) return waited;
    }
  }

 private:
  // Waits for the socket as OpenSSL asks, or turns `error` into a Status.
  Status Wait(int error, Clock::time_point deadline, std::string_view doing) {
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (WaitFor(fd(), error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        return Status::Ok();
      }
      return TimeoutError(std::string(doing) + peer());
    }
    if (error == SSL_ERROR_SYSCALL && errno != 0) {
      return ConnectionError(std::string(doing) + peer() + ": " + std::strerror(errno));
    }
    return ConnectionError(std::string(doing) + peer() + ": " + OpenSslError());
  }

  Ssl ssl_;
};

// Connects a non-blocking socket to one address by `deadline`.
Result<std::unique_ptr<Socket>> ConnectTo(const addrinfo& address, Clock::time_point deadline,
                                          const std::string& peer) {
  auto socket = std::make_unique<Socket>(::socket(
      address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address.ai_protocol));
  if (socket->fd() < 0) return ConnectionError(std::string("socket: ") + std::strerror(errno));
  const int on = 1;
  ::setsockopt(socket->fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  ::setsockopt(socket->fd(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  if (::connect(socket->fd(), address.ai_addr, address.ai_addrlen) == 0) return socket;
  if (errno != EINPROGRESS) {
    return ConnectionError("connecting to " + peer + ": " + std::strerror(errno));
  }
  if (!WaitFor(socket->fd(), POLLOUT, deadline)) return TimeoutError("connecting to " + peer);
  int error = 0;
  socklen_t length = sizeof(error);
  ::getsockopt(socket->fd(), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return ConnectionError("connecting to " + peer + ": " + std::strerror(error));
  return socket;
}

bool IsIpLiteral(const std::string& host) {
  std::array<unsigned char, sizeof(in6_addr)> buffer{};
  return ::inet_pton(AF_INET, host.c_str(), buffer.data()) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer.data()) == 1;
}

}  // namespace

struct TlsContext::State {
  std::string ca_file;
  SslCtx context;
};

TlsContext::TlsContext(std::string ca_file) : state_(std::make_unique<State>()) {
  state_->ca_file = std::move(ca_file);
}
TlsContext::~TlsContext() = default;

Result<void*> TlsContext::Get() {
  if (state_->context) return static_cast<void*>(state_->context.get());
  SslCtx context(SSL_CTX_new(TLS_client_method()));
  if (!context) return ConnectionError("cannot create a TLS context: " + OpenSslError());
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  // Responses are framed by Content-Length or chunking, so a peer that
  // closes without close_notify cannot truncate one unnoticed.
  SSL_CTX_set_options(context.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  const std::optional<std::string> bundle =
      state_->ca_file.empty() ? SystemCaBundle() : std::optional<std::string>(state_->ca_file);
  if (!bundle) {
    return Status(StatusCode::kFailedPrecondition, "TlsError",
                  "no CA bundle found: set SSL_CERT_FILE to a PEM file of trusted CAs");
  }
  if (SSL_CTX_load_verify_locations(context.get(), bundle->c_str(), nullptr) != 1) {
    return Status(StatusCode::kFailedPrecondition, "TlsError",
                  "cannot load the CA bundle " + *bundle + ": " + OpenSslError());
  }
  state_->context = std::move(context);
  return static_cast<void*>(state_->context.get());
}

Result<std::unique_ptr<Transport>> Connect(const Url& url, Clock::time_point deadline,
                                           TlsContext& tls) {
  const std::string peer = url.host_header;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int resolved =
      ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
  if (resolved != 0) {
    return ConnectionError("resolving " + url.host + ": " + ::gai_strerror(resolved));
  }
  AddrInfo addresses(found);

  Status last_error = ConnectionError("no address for " + url.host);
  std::unique_ptr<Socket> socket;
  for (const addrinfo* address = addresses.get(); address != nullptr; address = address->ai_next) {
    Result<std::unique_ptr<Socket>> connected = ConnectTo(*address, deadline, peer);
    if (connected.ok()) {
      socket = std::move(connected).value();
      break;
    }
    last_error = connected.status();
    if (last_error.code() == StatusCode::kDeadlineExceeded) break;
  }
  if (!socket) return last_error;
  if (!url.https)
    return std::unique_ptr<Transport>(std::make_unique<PlainTransport>(std::move(socket), peer));

  Result<void*> context = tls.Get();
  if (!context.ok()) return context.status();
  Ssl ssl(SSL_new(static_cast<SSL_CTX*>(*context)));
  if (!ssl) return ConnectionError("cannot create a TLS session: " + OpenSslError());
  SSL_set_fd(ssl.get(), socket->fd());
  if (IsIpLiteral(url.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), url.host.c_str());
    SSL_set1_host(ssl.get(), url.host.c_str());
  }
  auto transport = std::make_unique<TlsTransport>(std::move(socket), peer, std::move(ssl));
  Status handshake = transport->Handshake(deadline);
  if (!handshake.ok()) return handshake;
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace secret_rotator::http
