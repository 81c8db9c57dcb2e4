// Parsing of the http and https URLs the clients use.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace secret_rotator::http {

struct Url {
  bool https = false;
  std::string host;         // without IPv6 brackets
  int port = 0;             // explicit, or 80/443
  std::string host_header;  // as the URL writes it: host, plus ":port" when given
  std::string target;       // path and query, at least "/"
};

// Parses "http[s]://host[:port][/path][?query]". User info and fragments
// are refused. Errors have type "InvalidUrl".
Result<Url> ParseUrl(std::string_view url);

}  // namespace secret_rotator::http
