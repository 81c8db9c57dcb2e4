// RAII owners of libcurl's handles, one alias per handle type. The handle
// types are declared here as curl/curl.h declares them, so that no header of
// the project includes a C library header; only .cpp files include curl.h.
#pragma once

#include <memory>

extern "C" {
typedef void CURL;  // NOLINT(modernize-use-using): as curl/curl.h declares it
struct curl_slist;
typedef struct Curl_URL CURLU;  // NOLINT(modernize-use-using): as curl/urlapi.h declares it
}

namespace secret_rotator::http {

struct CurlEasyDeleter {
  void operator()(CURL* handle) const;  // curl_easy_cleanup
};
// An easy handle: one connection cache, TLS session cache and DNS cache.
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const;  // curl_slist_free_all
};
// A list of strings, such as request headers.
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct CurlUrlDeleter {
  void operator()(CURLU* url) const;  // curl_url_cleanup
};
// A parsed URL (libcurl's URL API).
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

}  // namespace secret_rotator::http
