#include "http/url.h"

#include <charconv>

namespace secret_rotator::http {
namespace {

Status Invalid(std::string_view url, std::string_view why) {
  return Status(StatusCode::kInvalidArgument, "InvalidUrl",
                "URL '" + std::string(url) + "' " + std::string(why));
}

}  // namespace

Result<Url> ParseUrl(std::string_view url) {
  Url parsed;
  std::string_view rest;
  if (url.starts_with("https://")) {
    parsed.https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return Invalid(url, "must start with http:// or https://");
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (target.find('#') != std::string_view::npos) return Invalid(url, "must not have a fragment");
  if (authority.find('@') != std::string_view::npos) return Invalid(url, "must not hold user info");
  if (authority.empty()) return Invalid(url, "has no host");

  std::string_view host = authority;
  std::string_view port_text;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid(url, "has an unclosed IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid(url, "has text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return Invalid(url, "has no host");
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return Invalid(url, "has a bad host");
  }
  parsed.port = parsed.https ? 443 : 80;
  if (!port_text.empty()) {
    int port = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      return Invalid(url, "has a bad port");
    }
    parsed.port = port;
  }
  parsed.host = std::string(host);
  parsed.host_header = std::string(authority);
  parsed.target = target.empty() ? "/" : std::string(target);
  if (parsed.target.front() == '?') parsed.target.insert(0, "/");
  for (char c : parsed.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      return Invalid(url, "has a space or control character in its path");
    }
  }
  return parsed;
}

}  // namespace secret_rotator::http
