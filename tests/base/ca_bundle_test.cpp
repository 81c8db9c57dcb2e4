#include "base/ca_bundle.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace secret_rotator {
namespace {

TEST(SystemCaBundle, SslCertFileWinsElseAKnownLocation) {
  ::setenv("SSL_CERT_FILE", "/etc/hostname", 1);
  EXPECT_EQ(SystemCaBundle(), "/etc/hostname");
  ::unsetenv("SSL_CERT_FILE");
  const std::optional<std::string> found = SystemCaBundle();
  ASSERT_TRUE(found.has_value()) << "this machine has a CA bundle (ca-certificates)";
  EXPECT_TRUE(*found == "/etc/pki/tls/certs/ca-bundle.crt" ||
              *found == "/etc/ssl/certs/ca-certificates.crt")
      << *found;
}

}  // namespace
}  // namespace secret_rotator
