#include "base/ca_bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>

#include "base/env.h"

namespace secret_rotator {
namespace {

bool IsReadableFile(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), R_OK) == 0;
}

}  // namespace

std::optional<std::string> SystemCaBundle() {
  if (auto configured = GetEnv("SSL_CERT_FILE"); configured && !configured->empty()) {
    return configured;
  }
  constexpr std::array<const char*, 4> kKnownBundles = {
      "/etc/pki/tls/certs/ca-bundle.crt",    // Amazon Linux, Fedora, RHEL
      "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu
      "/etc/ssl/cert.pem",                   // Alpine
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"};
  for (const char* path : kKnownBundles) {
    if (IsReadableFile(path)) return std::string(path);
  }
  return std::nullopt;
}

}  // namespace secret_rotator
