#include "http/http_client.h"

#include <curl/curl.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <utility>

#include "base/ca_bundle.h"
#include "base/env.h"
#include "base/secret.h"
#include "http/curl_handles.h"

namespace secret_rotator::http {

void CurlEasyDeleter::operator()(CURL* handle) const { curl_easy_cleanup(handle); }
void CurlSlistDeleter::operator()(curl_slist* list) const { curl_slist_free_all(list); }
void CurlUrlDeleter::operator()(CURLU* url) const { curl_url_cleanup(url); }

namespace {

// Secrets Manager's responses are at most a few hundred KiB; a peer that
// sends more is broken or hostile.
constexpr std::size_t kMaxBodyBytes = std::size_t{16} * 1024 * 1024;
constexpr std::size_t kMaxHeaderBytes = std::size_t{64} * 1024;

Status InvalidUrl(const std::string& url, std::string_view why) {
  return Status(StatusCode::kInvalidArgument, "InvalidUrl",
                "URL '" + url + "' " + std::string(why));
}

bool HasLineBreak(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

// A copy of part `part` of `url`, or "" when it has none.
std::string UrlPart(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || text == nullptr) return "";
  std::string copy(text);
  curl_free(text);
  return copy;
}

// Checks `url` (http or https, no user info, no fragment) and returns how
// errors name it: scheme://host[:port]/path, without the query.
Result<std::string> CheckUrl(const std::string& url) {
  const CurlUrl parsed(curl_url());
  if (!parsed) return Status(StatusCode::kInternal, "HttpError", "out of memory");
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return InvalidUrl(url, "is not a valid URL");
  }
  const std::string scheme = UrlPart(parsed.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") {
    return InvalidUrl(url, "must start with http:// or https://");
  }
  if (!UrlPart(parsed.get(), CURLUPART_USER).empty() ||
      !UrlPart(parsed.get(), CURLUPART_PASSWORD).empty()) {
    return InvalidUrl(url, "must not hold user info");
  }
  if (!UrlPart(parsed.get(), CURLUPART_FRAGMENT).empty()) {
    return InvalidUrl(url, "must not have a fragment");
  }
  std::string port = UrlPart(parsed.get(), CURLUPART_PORT);
  return scheme + "://" + UrlPart(parsed.get(), CURLUPART_HOST) + (port.empty() ? "" : ":" + port) +
         UrlPart(parsed.get(), CURLUPART_PATH);
}

// Appends to `out` without leaving a copy of its earlier bytes in freed
// memory when it has to grow.
void AppendWiping(std::string& out, std::string_view data) {
  const std::size_t needed = out.size() + data.size();
  if (needed > out.capacity()) {
    std::string grown;
    grown.reserve(std::max(needed, out.capacity() * 2));
    grown.append(out);
    WipeString(out);
    out.swap(grown);
  }
  out.append(data);
}

// What the callbacks of one transfer fill in.
struct Transfer {
  CURL* easy = nullptr;
  Response* response = nullptr;
  std::size_t header_bytes = 0;
  bool too_large = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  std::string& body = transfer->response->body;
  if (bytes > kMaxBodyBytes - body.size()) {
    transfer->too_large = true;
    return 0;  // ends the transfer with CURLE_WRITE_ERROR
  }
  if (body.empty()) {
    curl_off_t length = -1;
    if (curl_easy_getinfo(transfer->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) ==
            CURLE_OK &&
        length > 0) {
      body.reserve(std::min(static_cast<std::size_t>(length), kMaxBodyBytes));
    }
  }
  AppendWiping(body, std::string_view(data, bytes));
  return bytes;
}

// Only counts: libcurl parses the headers, and Send() reads them back through
// its headers API.
std::size_t OnHeader(char*, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->header_bytes += size * count;
  if (transfer->header_bytes > kMaxHeaderBytes) {
    transfer->too_large = true;
    return 0;
  }
  return size * count;
}

Status TransferError(CURLcode code, const char* detail, const std::string& what,
                     const Transfer& transfer) {
  const std::string reason = *detail != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status(StatusCode::kDeadlineExceeded, "Timeout", what + " timed out: " + reason);
    case CURLE_PEER_FAILED_VERIFICATION:
      return Status(StatusCode::kFailedPrecondition, "TlsError",
                    what + ": the server's certificate did not verify: " + reason);
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
      return Status(StatusCode::kFailedPrecondition, "TlsError",
                    what + ": cannot load the CA bundle: " + reason);
    case CURLE_URL_MALFORMAT:
      return Status(StatusCode::kInvalidArgument, "InvalidUrl", what + ": " + reason);
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_WRITE_ERROR:
      if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
        return Status(StatusCode::kUnavailable, "ConnectionError",
                      what + ": the response is larger than " +
                          std::to_string(kMaxBodyBytes / (std::size_t{1024} * 1024)) +
                          " MiB of body or " + std::to_string(kMaxHeaderBytes / 1024) +
                          " KiB of headers");
      }
      break;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
      return Status(StatusCode::kInternal, "HttpError", what + ": " + reason);
    default:
      break;
  }
  return Status(StatusCode::kUnavailable, "ConnectionError", what + ": " + reason);
}

class CurlClient final : public Client {
 public:
  CurlClient(CurlEasy easy, ClientOptions options)
      : easy_(std::move(easy)), options_(std::move(options)) {}

  Result<Response> Send(const Request& request) override {
    if (request.method.empty() || HasLineBreak(request.method) ||
        request.method.find(' ') != std::string::npos) {
      return Status(StatusCode::kInvalidArgument, "InvalidRequest", "invalid HTTP method");
    }
    Result<std::string> shown_url = CheckUrl(request.url);
    if (!shown_url.ok()) return shown_url.status();
    const std::string what = request.method + " " + *shown_url;

    // The headers as libcurl sends them; "Expect:" stops the 100-continue
    // round trip that libcurl would add before a large body.
    CurlSlist headers;
    auto add_header = [&headers](const std::string& line) {
      curl_slist* added = curl_slist_append(headers.get(), line.c_str());
      if (added == nullptr) return false;
      (void)headers.release();
      headers.reset(added);
      return true;
    };
    for (const Header& header : request.headers) {
      if (header.name.empty() || HasLineBreak(header.name) || HasLineBreak(header.value) ||
          header.name.find(':') != std::string::npos) {
        return Status(StatusCode::kInvalidArgument, "InvalidHeader",
                      "header '" + header.name + "' has a line break or a colon in its name");
      }
      if (EqualsIgnoreCase(header.name, "Content-Length")) continue;  // libcurl sets it
      // libcurl reads "Name:" as "remove Name"; "Name;" sends it with no value.
      if (!add_header(header.value.empty() ? header.name + ";"
                                           : header.name + ": " + header.value)) {
        return Status(StatusCode::kInternal, "HttpError", "out of memory");
      }
    }
    if (!add_header("Expect:")) return Status(StatusCode::kInternal, "HttpError", "out of memory");

    Response response;
    Transfer transfer{easy_.get(), &response, 0, false};
    error_buffer_.fill('\0');
    const bool https = shown_url->starts_with("https:");
    Status configured = Configure(request, https, headers.get(), transfer);
    if (!configured.ok()) return configured.WithContext(what);

    const CURLcode code = curl_easy_perform(easy_.get());
    ForgetRequest();
    if (code != CURLE_OK) return TransferError(code, error_buffer_.data(), what, transfer);
    curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &response.status);
    curl_header* previous = nullptr;
    while (curl_header* header = curl_easy_nextheader(easy_.get(), CURLH_HEADER, -1, previous)) {
      response.headers.push_back({header->name, header->value});
      previous = header;
    }
    return response;
  }

 private:
  // Drops the handle's pointers into this request's buffers (headers, body,
  // callback data), which die when Send() returns; the handle outlives them.
  void ForgetRequest() {
    CURL* easy = easy_.get();
    (void)curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
    (void)curl_easy_setopt(easy, CURLOPT_POSTFIELDS, nullptr);
    (void)curl_easy_setopt(easy, CURLOPT_WRITEDATA, nullptr);
    (void)curl_easy_setopt(easy, CURLOPT_HEADERDATA, nullptr);
  }

  // Sets every option of the next transfer anew (curl_easy_reset keeps the
  // connection, TLS session and DNS caches).
  Status Configure(const Request& request, bool https, curl_slist* headers, Transfer& transfer) {
    CURL* easy = easy_.get();
    curl_easy_reset(easy);
    bool ok = true;
    auto set = [&ok](CURLcode result) { ok = ok && result == CURLE_OK; };
    set(curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str()));
    set(curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https"));
    set(curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
    set(curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L));
    set(curl_easy_setopt(easy, CURLOPT_VERBOSE, 0L));  // never on: it would print bodies
    // No signals: the threaded resolver bounds name resolution instead. When
    // a resolution times out, its thread is left to finish on its own
    // (getaddrinfo cannot be cancelled) rather than waited for, which would
    // hold the call past its deadline for as long as the resolver takes.
    set(curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L));
    set(curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L));
    set(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer_.data()));
    set(curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count())));
    set(curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(request.connect_timeout.count())));
    set(curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers));
    // A Content-Length beyond the limit fails before any of the body is read.
    set(curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxBodyBytes)));
    set(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody));
    set(curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer));
    set(curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader));
    set(curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer));

    if (request.method == "GET") {
      set(curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L));
    } else if (request.method == "HEAD") {
      set(curl_easy_setopt(easy, CURLOPT_NOBODY, 1L));
    } else {
      // The body is sent from the request's own buffer, which it wipes.
      set(curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data()));
      set(curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(request.body.size())));
      if (request.method != "POST") {
        set(curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str()));
      }
    }

    if (!options_.proxy_from_environment) set(curl_easy_setopt(easy, CURLOPT_PROXY, ""));
    set(curl_easy_setopt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
    set(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L));
    set(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L));
    if (https) {
      Status trust = SetTrust(easy);
      if (!trust.ok()) return trust;
    }
    if (!ok) return Status(StatusCode::kInternal, "HttpError", "libcurl refused an option");
    return Status::Ok();
  }

  Status SetTrust(CURL* easy) {
    CURLcode result = CURLE_OK;
    if (!options_.ca_file.empty()) {
      result = curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    } else if (!options_.ca_pem.empty()) {
      curl_blob blob{options_.ca_pem.data(), options_.ca_pem.size(), CURL_BLOB_NOCOPY};
      result = curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
    } else {
      if (!system_bundle_) system_bundle_ = SystemCaBundle();
      if (!system_bundle_) {
        return Status(StatusCode::kFailedPrecondition, "TlsError",
                      "no CA bundle found: set SSL_CERT_FILE to a PEM file of trusted CAs");
      }
      result = curl_easy_setopt(easy, CURLOPT_CAINFO, system_bundle_->c_str());
    }
    if (result != CURLE_OK) {
      return Status(StatusCode::kFailedPrecondition, "TlsError",
                    std::string("cannot use the trusted CAs: ") + curl_easy_strerror(result));
    }
    return Status::Ok();
  }

  // libcurl writes its error text here, and may do so whenever it touches a
  // connection, so the buffer lives as long as the handle (declared first,
  // destroyed after it).
  std::array<char, CURL_ERROR_SIZE> error_buffer_{};
  CurlEasy easy_;
  ClientOptions options_;
  std::optional<std::string> system_bundle_;
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
  static std::once_flag initialized;
  static CURLcode global = CURLE_OK;
  std::call_once(initialized, [] {
    // A peer that closes its end must not kill the process when TLS writes.
    ::signal(SIGPIPE, SIG_IGN);
    global = curl_global_init(CURL_GLOBAL_DEFAULT);
  });
  if (global != CURLE_OK) {
    return Status(StatusCode::kInternal, "HttpError",
                  std::string("cannot initialise libcurl: ") + curl_easy_strerror(global));
  }
  CurlEasy easy(curl_easy_init());
  if (!easy) return Status(StatusCode::kInternal, "HttpError", "cannot create a libcurl handle");
  return std::unique_ptr<Client>(std::make_unique<CurlClient>(std::move(easy), std::move(options)));
}

}  // namespace secret_rotator::http
