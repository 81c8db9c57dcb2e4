#include <signal.h>

#include <array>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <utility>

#include "base/env.h"
#include "base/secret.h"
#include "http/http_client.h"
#include "http/transport.h"
#include "http/url.h"

namespace secret_rotator::http {
namespace {

constexpr std::size_t kMaxHeaderBytes = std::size_t{64} * 1024;
constexpr std::size_t kMaxBodyBytes = std::size_t{16} * 1024 * 1024;
constexpr std::size_t kReadChunk = std::size_t{16} * 1024;

Status ProtocolError(const std::string& peer, std::string_view what) {
  return Status(StatusCode::kUnavailable, "ConnectionError",
                "bad HTTP response from " + peer + ": " + std::string(what));
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool ContainsToken(std::string_view list, std::string_view token) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    if (EqualsIgnoreCase(Trim(list.substr(start, end - start)), token)) return true;
    start = end + 1;
  }
  return false;
}

// Reads one HTTP/1.x response from a transport, buffering what it reads.
class ResponseReader {
 public:
  ResponseReader(Transport& transport, std::string peer, Clock::time_point deadline)
      : transport_(transport), peer_(std::move(peer)), deadline_(deadline) {}
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;
  ~ResponseReader() { WipeString(buffer_); }

  // True iff no byte of a response has arrived yet (a reused connection that
  // the server had closed fails this way, and the request can be resent).
  bool nothing_received() const { return total_received_ == 0; }
  // True iff the connection may carry another request.
  bool reusable() const { return reusable_; }

  Result<Response> Read(bool head_request) {
    Response response;
    do {  // skip interim 1xx responses
      Result<std::string> header_block = ReadHeaderBlock();
      if (!header_block.ok()) return header_block.status();
      Status parsed = ParseHead(*header_block, response);
      if (!parsed.ok()) return parsed;
    } while (response.status >= 100 && response.status < 200);

    const std::string* encoding = response.FindHeader("Transfer-Encoding");
    const std::string* length = response.FindHeader("Content-Length");
    Status body = Status::Ok();
    if (head_request || response.status == 204 || response.status == 304) {
      // no body
    } else if (encoding != nullptr && ContainsToken(*encoding, "chunked")) {
      body = ReadChunked(response.body);
    } else if (length != nullptr) {
      std::size_t size = 0;
      const auto [end, error] =
          std::from_chars(length->data(), length->data() + length->size(), size);
      if (error != std::errc() || end != length->data() + length->size()) {
        return ProtocolError(peer_, "invalid Content-Length");
      }
      if (size > kMaxBodyBytes) return ProtocolError(peer_, "body too large");
      body = ReadExactly(size, response.body);
    } else {
      reusable_ = false;
      body = ReadUntilClose(response.body);
    }
    if (!body.ok()) return body;
    if (!buffer_.empty()) reusable_ = false;  // nothing should follow a response
    return response;
  }

 private:
  // Reads more bytes into the buffer; false at end of stream.
  Result<bool> Fill() {
    std::array<char, kReadChunk> chunk{};
    Result<std::size_t> read = transport_.ReadSome(chunk.data(), chunk.size(), deadline_);
    if (!read.ok()) return read.status();
    buffer_.append(chunk.data(), *read);
    total_received_ += *read;
    std::memset(chunk.data(), 0, *read);
    return *read > 0;
  }

  Result<std::string> ReadHeaderBlock() {
    while (true) {
      const std::size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string block = buffer_.substr(0, end + 2);
        buffer_.erase(0, end + 4);
        return block;
      }
      if (buffer_.size() > kMaxHeaderBytes) return ProtocolError(peer_, "headers too large");
      Result<bool> more = Fill();
      if (!more.ok()) return more.status();
      if (!*more) {
        return Status(StatusCode::kUnavailable, "ConnectionError",
                      peer_ + " closed the connection before a complete response");
      }
    }
  }

  Status ParseHead(const std::string& block, Response& response) {
    response.headers.clear();
    std::size_t line_end = block.find("\r\n");
    const std::string_view status_line(block.data(), line_end);
    // "HTTP/1.1 200 OK"
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
      return ProtocolError(peer_, "no HTTP/1.x status line");
    }
    int status = 0;
    const auto [end, error] =
        std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
    if (error != std::errc() || end != status_line.data() + 12 || status < 100) {
      return ProtocolError(peer_, "invalid status code");
    }
    response.status = status;
    const bool http10 = status_line[7] == '0';
    std::size_t start = line_end + 2;
    while (start < block.size()) {
      line_end = block.find("\r\n", start);
      const std::string_view line(block.data() + start, line_end - start);
      start = line_end + 2;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' ||
          line.front() == '\t') {
        return ProtocolError(peer_, "malformed header line");
      }
      response.headers.push_back(
          {std::string(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1)))});
    }
    const std::string* connection = response.FindHeader("Connection");
    if (connection != nullptr && ContainsToken(*connection, "close")) reusable_ = false;
    if (http10 && (connection == nullptr || !ContainsToken(*connection, "keep-alive"))) {
      reusable_ = false;
    }
    return Status::Ok();
  }

  Status ReadExactly(std::size_t size, std::string& out) {
    while (buffer_.size() < size) {
      Result<bool> more = Fill();
      if (!more.ok()) return more.status();
      if (!*more) {
        return Status(StatusCode::kUnavailable, "ConnectionError",
                      peer_ + " closed the connection in the middle of a response");
      }
    }
    out.append(buffer_, 0, size);
    std::memset(buffer_.data(), 0, size);
    buffer_.erase(0, size);
    return Status::Ok();
  }

  Result<std::string> ReadLine() {
    while (true) {
      const std::size_t end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      if (buffer_.size() > kMaxHeaderBytes) return ProtocolError(peer_, "line too long");
      Result<bool> more = Fill();
      if (!more.ok()) return more.status();
      if (!*more) return ProtocolError(peer_, "the connection closed inside a chunked body");
    }
  }

  Status ReadChunked(std::string& out) {
    while (true) {
      Result<std::string> size_line = ReadLine();
      if (!size_line.ok()) return size_line.status();
      const std::string_view digits =
          Trim(std::string_view(*size_line).substr(0, size_line->find(';')));
      std::size_t size = 0;
      const auto [end, error] =
          std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
      if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
        return ProtocolError(peer_, "invalid chunk size");
      }
      if (size == 0) break;
      if (out.size() + size > kMaxBodyBytes) return ProtocolError(peer_, "body too large");
      Status chunk = ReadExactly(size, out);
      if (!chunk.ok()) return chunk;
      Result<std::string> terminator = ReadLine();
      if (!terminator.ok()) return terminator.status();
      if (!terminator->empty()) return ProtocolError(peer_, "chunk without its CRLF");
    }
    while (true) {  // trailers, up to the empty line
      Result<std::string> trailer = ReadLine();
      if (!trailer.ok()) return trailer.status();
      if (trailer->empty()) return Status::Ok();
    }
  }

  Status ReadUntilClose(std::string& out) {
    while (true) {
      if (buffer_.size() > kMaxBodyBytes) return ProtocolError(peer_, "body too large");
      Result<bool> more = Fill();
      if (!more.ok()) return more.status();
      if (!*more) break;
    }
    out.append(buffer_);
    WipeString(buffer_);
    return Status::Ok();
  }

  Transport& transport_;
  std::string peer_;
  Clock::time_point deadline_;
  std::string buffer_;
  std::size_t total_received_ = 0;
  bool reusable_ = true;
};

bool HasLineBreak(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

// The request as it goes on the wire.
Result<std::string> Serialize(const Request& request, const Url& url) {
  std::string wire;
  wire.reserve(256 + request.body.size());
  wire += request.method + " " + url.target + " HTTP/1.1\r\n";
  bool has_host = false;
  for (const Header& header : request.headers) {
    if (HasLineBreak(header.name) || HasLineBreak(header.value) || header.name.empty() ||
        header.name.find(':') != std::string::npos) {
      return Status(StatusCode::kInvalidArgument, "InvalidHeader",
                    "header '" + header.name + "' has a line break or a colon in its name");
    }
    if (EqualsIgnoreCase(header.name, "Content-Length")) continue;  // always computed
    has_host = has_host || EqualsIgnoreCase(header.name, "Host");
    wire += header.name + ": " + header.value + "\r\n";
  }
  if (!has_host) wire += "Host: " + url.host_header + "\r\n";
  if (request.method != "GET" || !request.body.empty()) {
    wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  wire += "\r\n";
  wire += request.body;
  return wire;
}

class SocketClient final : public Client {
 public:
  explicit SocketClient(std::string ca_file) : tls_(std::move(ca_file)) {}

  Result<Response> Send(const Request& request) override {
    if (HasLineBreak(request.method) || request.method.find(' ') != std::string::npos) {
      return Status(StatusCode::kInvalidArgument, "InvalidRequest", "invalid HTTP method");
    }
    Result<Url> url = ParseUrl(request.url);
    if (!url.ok()) return url.status();
    Result<std::string> wire = Serialize(request, *url);
    if (!wire.ok()) return wire.status();

    const Clock::time_point now = Clock::now();
    const Clock::time_point deadline =
        request.timeout.count() > 0 ? now + request.timeout : Clock::time_point::max();
    const Clock::time_point connect_deadline =
        request.connect_timeout.count() > 0 ? std::min(deadline, now + request.connect_timeout)
                                            : deadline;
    const std::string origin = (url->https ? "https://" : "http://") + url->host_header;

    Result<Response> result = Status(StatusCode::kInternal, "InternalError", "not sent");
    // A kept-alive connection the server has since closed fails before any
    // byte of a response arrives; then the request goes again on a new one.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = connection_ != nullptr && connection_origin_ == origin;
      if (!reused) {
        connection_.reset();
        Result<std::unique_ptr<Transport>> connected = Connect(*url, connect_deadline, tls_);
        if (!connected.ok()) {
          result = connected.status();
          break;
        }
        connection_ = std::move(connected).value();
        connection_origin_ = origin;
      }
      Status sent = connection_->WriteAll(*wire, deadline);
      ResponseReader reader(*connection_, url->host_header, deadline);
      result = sent.ok() ? reader.Read(request.method == "HEAD") : Result<Response>(sent);
      if (result.ok() && reader.reusable()) break;
      connection_.reset();
      const bool retry = reused && !result.ok() && reader.nothing_received() &&
                         result.status().code() == StatusCode::kUnavailable;
      if (!retry) break;
    }
    WipeString(*wire);
    return result;
  }

 private:
  TlsContext tls_;
  std::unique_ptr<Transport> connection_;
  std::string connection_origin_;
};

}  // namespace

Request::~Request() { WipeString(body); }
Response::~Response() { WipeString(body); }

const std::string* Response::FindHeader(std::string_view name) const {
  for (const Header& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) return &header.value;
  }
  return nullptr;
}

Result<std::unique_ptr<Client>> NewClient(ClientOptions options) {
  // A peer that closes its end must not kill the process when TLS writes.
  static std::once_flag sigpipe_ignored;
  std::call_once(sigpipe_ignored, [] { ::signal(SIGPIPE, SIG_IGN); });
  return std::unique_ptr<Client>(std::make_unique<SocketClient>(std::move(options.ca_file)));
}

}  // namespace secret_rotator::http
