#include "aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <map>
#include <string_view>
#include <utility>

#include "base/secret.h"

namespace secret_rotator::aws {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
constexpr char kHexDigits[] = "0123456789abcdef";

using Digest = std::array<unsigned char, 32>;

std::string Hex(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kHexDigits[data[i] >> 4];
    out += kHexDigits[data[i] & 0xF];
  }
  return out;
}

Digest HmacSha256(std::string_view key, std::string_view data) {
  Digest out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return out;
}

std::string_view AsView(const Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// RFC 3986 percent-encoding of everything but the unreserved characters (and
// '/' when `keep_slash`), with uppercase hex as SigV4 requires.
std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kUpperHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kUpperHex[c >> 4];
      out += kUpperHex[c & 0xF];
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UriDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string CanonicalPath(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  if (!normalize) return UriEncode(path, /*keep_slash=*/true);
  // Remove "." and ".." segments and empty segments (repeated slashes).
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (std::string_view segment : segments) {
    out += '/';
    out += UriEncode(segment, /*keep_slash=*/false);
  }
  if (out.empty() || path.back() == '/') out += '/';
  return out;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> parameters;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t equals = pair.find('=');
      const std::string_view key = pair.substr(0, equals);
      const std::string_view value =
          equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
      parameters.emplace_back(UriEncode(UriDecode(key), false), UriEncode(UriDecode(value), false));
    }
    start = end + 1;
  }
  std::sort(parameters.begin(), parameters.end());
  std::string out;
  for (const auto& [key, value] : parameters) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

// Trims the value and folds each run of white space (including the line
// breaks of an obsolete multi-line header) into one space.
std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 17> text{};
  std::strftime(text.data(), text.size(), "%Y%m%dT%H%M%SZ", &utc);
  return text.data();
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return Hex(digest.data(), digest.size());
}

SignedRequest SignRequest(const RequestToSign& request, const Credentials& credentials,
                          const SigningOptions& options) {
  SignedRequest result;
  const std::string amz_date = AmzDate(options.time);
  const std::string date = amz_date.substr(0, 8);
  const std::string payload_hash = Sha256Hex(request.body);

  std::vector<http::Header> to_sign = request.headers;
  result.added_headers.push_back({"X-Amz-Date", amz_date});
  to_sign.push_back(result.added_headers.back());
  const bool has_token = !credentials.session_token.empty();
  if (has_token && !options.omit_session_token) {
    result.added_headers.push_back(
        {"X-Amz-Security-Token", std::string(credentials.session_token.reveal())});
    to_sign.push_back(result.added_headers.back());
  }
  if (options.sign_body) {
    result.added_headers.push_back({"x-amz-content-sha256", payload_hash});
    to_sign.push_back(result.added_headers.back());
  }

  // Lowercased names in sorted order; repeated headers keep their order.
  std::map<std::string, std::vector<std::string>> headers;
  for (const http::Header& header : to_sign) {
    headers[Lowercase(header.name)].push_back(CanonicalHeaderValue(header.value));
  }
  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, values] : headers) {
    canonical_headers += name;
    canonical_headers += ':';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) canonical_headers += ',';
      canonical_headers += values[i];
    }
    canonical_headers += '\n';
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }

  result.canonical_request = request.method + '\n' +
                             CanonicalPath(request.path, options.normalize_path) + '\n' +
                             CanonicalQuery(request.query) + '\n' + canonical_headers + '\n' +
                             signed_headers + '\n' + payload_hash;

  const std::string scope = date + '/' + options.region + '/' + options.service + "/aws4_request";
  result.string_to_sign = std::string(kAlgorithm) + '\n' + amz_date + '\n' + scope + '\n' +
                          Sha256Hex(result.canonical_request);

  std::string key_material = "AWS4" + std::string(credentials.secret_access_key.reveal());
  Digest key = HmacSha256(key_material, date);
  WipeString(key_material);
  for (const std::string& part : {options.region, options.service, std::string("aws4_request")}) {
    key = HmacSha256(AsView(key), part);
  }
  const Digest signature = HmacSha256(AsView(key), result.string_to_sign);
  OPENSSL_cleanse(key.data(), key.size());
  result.signature = Hex(signature.data(), signature.size());

  if (has_token && options.omit_session_token) {
    result.added_headers.push_back(
        {"X-Amz-Security-Token", std::string(credentials.session_token.reveal())});
  }
  result.added_headers.push_back(
      {"Authorization", std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + '/' +
                            scope + ", SignedHeaders=" + signed_headers +
                            ", Signature=" + result.signature});
  return result;
}

std::string PercentEncode(std::string_view text) { return UriEncode(text, /*keep_slash=*/false); }

}  // namespace secret_rotator::aws
