// Where the machine keeps its trusted CA certificates.
#pragma once

#include <optional>
#include <string>

namespace secret_rotator {

// The system's PEM bundle of trusted CAs: SSL_CERT_FILE when it is set, else
// the first of the usual Linux locations that is a readable file. Amazon
// Linux 2023 and Debian keep it in different places, and the Lambda package
// carries Debian's libraries, whose built-in default does not exist on
// Amazon Linux; so every TLS client of the function asks here.
std::optional<std::string> SystemCaBundle();

}  // namespace secret_rotator
