#include "strategies/mysql_tls_gate.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "strategies/strategy.h"

namespace secret_rotator::strategies::mysql {
namespace {

constexpr std::uint32_t kClientProtocol41 = 0x0200;
constexpr std::uint32_t kClientSsl = 0x0800;
constexpr std::size_t kSslRequestSize = 32;
// The longest first packet the gate reads from either side; real greetings
// are about 100 bytes, and a login that does not fit is refused anyway.
constexpr std::size_t kMaxFirstPacket = 16 * 1024;
// Each address gets at most this long to accept the TCP connection.
constexpr std::chrono::milliseconds kMaxConnectTime{5000};

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

int PollTimeout(Deadline deadline) {
  const long long remaining = deadline.Remaining().count();
  return remaining > INT_MAX ? INT_MAX : static_cast<int>(remaining);
}

Status ConnectFailed(const std::string& target, const std::string& why) {
  return Status(StatusCode::kUnavailable, db_error::kConnection,
                target + ": cannot connect: " + why);
}

// One TCP connection to `address`, non-blocking, within `deadline`.
Result<Fd> ConnectOne(const addrinfo& address, Deadline deadline, const std::string& target) {
  Fd fd(::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                 address.ai_protocol));
  if (!fd.valid()) return ConnectFailed(target, std::strerror(errno));
  if (::connect(fd.get(), address.ai_addr, address.ai_addrlen) != 0 && errno != EINPROGRESS) {
    return ConnectFailed(target, std::strerror(errno));
  }
  pollfd entry{fd.get(), POLLOUT, 0};
  int ready = 0;
  do {
    ready = ::poll(&entry, 1, PollTimeout(deadline));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout,
                  target + ": the server did not accept the TCP connection in time");
  }
  int error = 0;
  socklen_t length = sizeof(error);
  if (ready < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
    return ConnectFailed(target, std::strerror(errno));
  }
  if (error != 0) return ConnectFailed(target, std::strerror(error));
  // Small packets go out at once: the protocol is request/answer.
  const int on = 1;
  (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  return fd;
}

// A TCP connection to host:port, trying each address in turn.
Result<Fd> ConnectTcp(const std::string& host, int port, Deadline deadline,
                      const std::string& target) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int resolved = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (resolved != 0) {
    return ConnectFailed(target, "cannot resolve host '" + host + "': " + gai_strerror(resolved));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  Status last = ConnectFailed(target, "host '" + host + "' has no address");
  for (const addrinfo* address = addresses.get(); address != nullptr; address = address->ai_next) {
    if (deadline.Expired()) break;
    const Deadline attempt = Deadline::After(deadline.RemainingAtMost(kMaxConnectTime));
    Result<Fd> connected = ConnectOne(*address, attempt, target);
    if (connected.ok()) return connected;
    last = connected.status();
  }
  if (deadline.Expired() && !last.Is(db_error::kTimeout)) {
    return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout,
                  target + ": the invocation's time ran out while connecting: " + last.message());
  }
  return last;
}

std::uint32_t LittleEndian(std::string_view bytes) {
  std::uint32_t value = 0;
  for (std::size_t i = bytes.size(); i > 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i - 1]);
  }
  return value;
}

}  // namespace

bool GreetingOffersTls(std::string_view payload) {
  // Protocol 10: version byte, server version (NUL-terminated), connection
  // id (4), auth data part 1 (8), filler (1), capability flags' low half (2).
  if (payload.empty() || payload[0] != 10) return false;
  const std::size_t nul = payload.find('\0', 1);
  if (nul == std::string_view::npos) return false;
  const std::size_t flags_at = nul + 1 + 4 + 8 + 1;
  if (flags_at + 2 > payload.size()) return false;
  return (LittleEndian(payload.substr(flags_at, 2)) & kClientSsl) != 0;
}

bool IsErrorPacket(std::string_view payload) {
  return !payload.empty() && static_cast<unsigned char>(payload[0]) == 0xFF;
}

bool IsSslRequest(std::string_view payload) {
  if (payload.size() != kSslRequestSize) return false;
  const std::uint32_t flags = LittleEndian(payload.substr(0, 4));
  return (flags & kClientSsl) != 0 && (flags & kClientProtocol41) != 0;
}

struct TlsGate::State {
  Fd server;
  Fd listener;
  Fd stop;  // an eventfd: readable once the owner wants the relay to end
  std::string dir;
  std::string path;
  Deadline deadline = Deadline::After(std::chrono::milliseconds(0));
  std::thread relay;
  mutable std::mutex mutex;
  std::string refusal;

  ~State() {
    if (stop.valid()) {
      const std::uint64_t one = 1;
      (void)!::write(stop.get(), &one, sizeof(one));
    }
    if (relay.joinable()) relay.join();
    RemoveSocketPath();
  }

  void RemoveSocketPath() {
    if (!path.empty()) ::unlink(path.c_str());
    if (!dir.empty()) ::rmdir(dir.c_str());
    path.clear();
    dir.clear();
  }

  void Refuse(std::string why) {
    std::lock_guard<std::mutex> lock(mutex);
    refusal = std::move(why);
  }

  // Waits until `fd` is ready for `events`; false when the owner asked the
  // relay to stop, the deadline passed (if `bounded`), or poll failed.
  bool Wait(int fd, short events, bool bounded) const {
    while (true) {
      std::array<pollfd, 2> entries{{{fd, events, 0}, {stop.get(), POLLIN, 0}}};
      const int ready =
          ::poll(entries.data(), entries.size(), bounded ? PollTimeout(deadline) : -1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0 || entries[1].revents != 0) return false;
      return true;  // POLLERR/POLLHUP too: the read or write reports them
    }
  }

  bool WriteAll(int fd, std::string_view data, bool bounded) const {
    while (!data.empty()) {
      const ssize_t written = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (written > 0) {
        data.remove_prefix(static_cast<std::size_t>(written));
      } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!Wait(fd, POLLOUT, bounded)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  bool ReadExact(int fd, char* buffer, std::size_t size) const {
    std::size_t have = 0;
    while (have < size) {
      const ssize_t got = ::recv(fd, buffer + have, size - have, 0);
      if (got > 0) {
        have += static_cast<std::size_t>(got);
      } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!Wait(fd, POLLIN, /*bounded=*/true)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  // Reads one whole packet (header and payload) from `fd`; false when it
  // does not arrive in time, is too long, or the peer closed.
  bool ReadPacket(int fd, std::string* packet) const {
    packet->assign(4, '\0');
    if (!ReadExact(fd, packet->data(), 4)) return false;
    const std::size_t length = LittleEndian(std::string_view(*packet).substr(0, 3));
    if (length > kMaxFirstPacket) return false;
    packet->resize(4 + length);
    return ReadExact(fd, packet->data() + 4, length);
  }

  // Accepts the client library's connection: only from this process.
  Fd AcceptOwnClient() const {
    while (Wait(listener.get(), POLLIN, /*bounded=*/true)) {
      Fd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!client.valid()) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return Fd();
      }
      ucred peer{};
      socklen_t length = sizeof(peer);
      if (::getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0 &&
          peer.pid == ::getpid()) {
        return client;
      }
    }
    return Fd();
  }

  // Copies bytes both ways until either side closes or the owner stops it.
  void Pump(int client, int server_fd) const {
    std::array<char, 16 * 1024> buffer{};
    while (true) {
      std::array<pollfd, 3> entries{
          {{client, POLLIN, 0}, {server_fd, POLLIN, 0}, {stop.get(), POLLIN, 0}}};
      const int ready = ::poll(entries.data(), entries.size(), -1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0 || entries[2].revents != 0) return;
      for (int side = 0; side < 2; ++side) {
        if (entries[side].revents == 0) continue;
        const int from = side == 0 ? client : server_fd;
        const int to = side == 0 ? server_fd : client;
        const ssize_t got = ::recv(from, buffer.data(), buffer.size(), 0);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
        if (got <= 0) return;
        if (!WriteAll(to, std::string_view(buffer.data(), static_cast<std::size_t>(got)),
                      /*bounded=*/false)) {
          return;
        }
      }
    }
  }

  void Run() {
    Fd client = AcceptOwnClient();
    listener.Reset();
    RemoveSocketPath();
    if (!client.valid()) return;

    std::string greeting;
    if (!ReadPacket(server.get(), &greeting)) return;  // the library reports the lost connection
    const std::string_view greeting_payload = std::string_view(greeting).substr(4);
    if (IsErrorPacket(greeting_payload)) {
      // The server refused the connection outright (too many connections,
      // host blocked): let the library report its message.
      (void)WriteAll(client.get(), greeting, /*bounded=*/true);
      return;
    }
    if (!GreetingOffersTls(greeting_payload)) {
      Refuse(
          "the server's greeting does not offer TLS (no CLIENT_SSL flag): TLS is off on the "
          "server, or something between this function and the server removed it");
      return;
    }
    if (!WriteAll(client.get(), greeting, /*bounded=*/true)) return;

    std::string first;
    if (!ReadPacket(client.get(), &first)) return;
    if (!IsSslRequest(std::string_view(first).substr(4))) {
      // Dropped unread: this is where the login would be.
      Refuse("the client library was about to log in without TLS; the login was not sent");
      return;
    }
    if (!WriteAll(server.get(), first, /*bounded=*/true)) return;
    Pump(client.get(), server.get());
  }
};

TlsGate::TlsGate(std::unique_ptr<State> state) : state_(std::move(state)) {}
TlsGate::~TlsGate() = default;

const std::string& TlsGate::socket_path() const { return state_->path; }

std::string TlsGate::refusal() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->refusal;
}

Result<std::unique_ptr<TlsGate>> TlsGate::Open(const std::string& host, int port, Deadline deadline,
                                               const std::string& target) {
  auto internal = [&](const std::string& what) {
    return Status(StatusCode::kInternal, db_error::kInternal,
                  target + ": cannot set up the TLS gate: " + what + ": " + std::strerror(errno));
  };
  Result<Fd> server = ConnectTcp(host, port, deadline, target);
  if (!server.ok()) return server.status();

  auto state = std::make_unique<State>();
  state->server = std::move(server).value();
  state->deadline = deadline;
  state->stop = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!state->stop.valid()) return internal("eventfd");

  // A folder only this user can enter, so only this user's processes can
  // reach the socket; the gate also checks that the peer is this process.
  std::string dir_template = "/tmp/secret-rotator-gate.XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr) return internal("mkdtemp");
  state->dir = dir_template;
  state->path = state->dir + "/mysql.sock";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (state->path.size() >= sizeof(address.sun_path)) return internal("socket path too long");
  std::memcpy(address.sun_path, state->path.c_str(), state->path.size() + 1);
  state->listener = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!state->listener.valid() ||
      ::bind(state->listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) !=
          0 ||
      ::listen(state->listener.get(), 1) != 0) {
    return internal("Unix socket");
  }
  State* running = state.get();
  try {
    state->relay = std::thread([running] { running->Run(); });
  } catch (const std::system_error&) {
    return internal("thread");
  }
  return std::unique_ptr<TlsGate>(new TlsGate(std::move(state)));
}

}  // namespace secret_rotator::strategies::mysql
