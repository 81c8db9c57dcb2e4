#include <curl/curl.h>
#include <sys/stat.h>

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "base/env.h"
#include "base/secret.h"
#include "http/http_client.h"

namespace secret_rotator::http {
namespace {

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct CurlListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlList = std::unique_ptr<curl_slist, CurlListDeleter>;

Status OutOfMemory() {
  return Status(StatusCode::kInternal, "OutOfMemory", "libcurl out of memory");
}

// Appends `line` to `list`; returns false when libcurl is out of memory.
bool AppendLine(CurlList& list, const std::string& line) {
  curl_slist* head = curl_slist_append(list.get(), line.c_str());
  if (head == nullptr) return false;
  (void)list.release();  // `head` is the same list, now one longer
  list.reset(head);
  return true;
}

bool FileExists(const char* path) {
  struct stat info {};
  return path != nullptr && ::stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

// The CA bundle to hand libcurl, or nullopt to keep libcurl's own default.
std::optional<std::string> ChooseCaBundle() {
  if (auto configured = GetEnv("SSL_CERT_FILE"); configured && !configured->empty()) {
    return configured;
  }
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info != nullptr && FileExists(info->cainfo)) return std::nullopt;
  constexpr std::array<const char*, 4> kKnownBundles = {
      "/etc/pki/tls/certs/ca-bundle.crt",    // Amazon Linux, Fedora
      "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu
      "/etc/ssl/cert.pem",                   // Alpine
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"};
  for (const char* path : kKnownBundles) {
    if (FileExists(path)) return std::string(path);
  }
  return std::nullopt;
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  body->append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::vector<Header>*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    headers->clear();  // a new status line: an interim 1xx response or a redirect
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  auto trim = [](std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                             text.back() == '\n')) {
      text.remove_suffix(1);
    }
    return text;
  };
  headers->push_back(
      {std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
  return size * count;
}

Status FromCurlCode(CURLcode code, const char* detail) {
  std::string message = curl_easy_strerror(code);
  if (detail != nullptr && detail[0] != '\0') message += std::string(": ") + detail;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status(StatusCode::kDeadlineExceeded, "Timeout", message);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return Status(StatusCode::kFailedPrecondition, "TlsError", message);
    default:
      return Status(StatusCode::kUnavailable, "ConnectionError", message);
  }
}

class CurlClient final : public Client {
 public:
  CurlClient(CurlHandle handle, std::optional<std::string> ca_bundle)
      : handle_(std::move(handle)), ca_bundle_(std::move(ca_bundle)) {}

  Result<Response> Send(const Request& request) override {
    CURL* curl = handle_.get();
    // Reset per-request options but keep the connection cache.
    curl_easy_reset(curl);

    CurlList headers;
    for (const Header& header : request.headers) {
      if (!AppendLine(headers, header.name + ": " + header.value)) return OutOfMemory();
    }
    // libcurl would otherwise add these to a POST on its own.
    if (!AppendLine(headers, "Expect:") || !AppendLine(headers, "Accept:")) return OutOfMemory();

    Response response;
    std::array<char, CURL_ERROR_SIZE> error_detail{};
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    if (ca_bundle_) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_bundle_->c_str());
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_detail.data());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(request.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
    if (request.method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }

    const CURLcode code = curl_easy_perform(curl);
    // The error buffer and header list live on this stack frame only.
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    if (code != CURLE_OK) return FromCurlCode(code, error_detail.data());
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }

 private:
  CurlHandle handle_;
  std::optional<std::string> ca_bundle_;
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

Result<std::unique_ptr<Client>> NewCurlClient() {
  static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global_init != CURLE_OK) return FromCurlCode(global_init, "curl_global_init");
  CurlHandle handle(curl_easy_init());
  if (!handle) return OutOfMemory();
  return std::unique_ptr<Client>(std::make_unique<CurlClient>(std::move(handle), ChooseCaBundle()));
}

}  // namespace secret_rotator::http
