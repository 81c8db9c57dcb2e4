// The database CA bundle every package ships (packaging/db-ca-bundle.sh):
// Amazon RDS's global bundle, byte for byte the committed file whose SHA-256
// is committed beside it, and the Amazon roots RDS Proxy's certificates chain
// to. Checked with OpenSSL: every certificate a CA, the current RDS root CAs
// of the regions present and valid, and the build tree's copy (what
// build/bootstrap trusts by default) the same as the package's.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace secret_rotator {
namespace {

const std::string kRdsCaDir = std::string(SOURCE_DIR) + "/packaging/rds-ca";

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> certificates;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(certificate, &X509_free);
  }
  return certificates;
}

std::string CommonName(X509* certificate) {
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, name, sizeof(name));
  return name;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0xf];
  }
  return hex;
}

TEST(RdsCaBundle, MatchesItsCommittedChecksum) {
  const std::string bundle = testing::ReadFile(kRdsCaDir + "/global-bundle.pem");
  const std::string recorded = testing::ReadFile(kRdsCaDir + "/global-bundle.pem.sha256");
  ASSERT_FALSE(bundle.empty());
  EXPECT_EQ(recorded, Sha256Hex(bundle) + "  global-bundle.pem\n");
  const testing::ProcessResult check =
      testing::RunProcess({std::string(SOURCE_DIR) + "/scripts/refresh-rds-ca.sh", "--check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST(RdsCaBundle, HoldsOnlyCasAndTheCurrentRootsOfTheRegions) {
  const std::vector<X509Ptr> certificates =
      ReadCertificates(testing::ReadFile(kRdsCaDir + "/global-bundle.pem"));
  ASSERT_GE(certificates.size(), 100U);
  std::map<std::string, X509*> by_name;
  for (const X509Ptr& certificate : certificates) {
    EXPECT_EQ(X509_check_ca(certificate.get()), 1) << CommonName(certificate.get());
    by_name[CommonName(certificate.get())] = certificate.get();
  }
  // rds-ca-rsa2048-g1 (the default CA of new databases), rds-ca-rsa4096-g1
  // and rds-ca-ecc384-g1: self-signed roots, valid past 2060.
  const time_t year_2060 = 2840140800;  // 2060-01-01
  for (const char* region :
       {"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
        "ap-southeast-1", "ap-southeast-2", "ca-central-1", "sa-east-1"}) {
    for (const char* kind : {"RSA2048 G1", "RSA4096 G1", "ECC384 G1"}) {
      const std::string name = std::string("Amazon RDS ") + region + " Root CA " + kind;
      const auto found = by_name.find(name);
      ASSERT_NE(found, by_name.end()) << name;
      EXPECT_EQ(X509_check_issued(found->second, found->second), X509_V_OK) << name;
      EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(found->second), const_cast<time_t*>(&year_2060)),
                1)
          << name;
    }
  }
}

TEST(RdsCaBundle, TheBuildTreeCopyIsTheRdsBundlePlusTheAmazonRootsForRdsProxy) {
  const std::string shipped = testing::ReadFile(std::string(BUILD_DIR) + "/db-ca-bundle.pem");
  const std::string rds = testing::ReadFile(kRdsCaDir + "/global-bundle.pem");
  ASSERT_FALSE(rds.empty());
  ASSERT_EQ(shipped.substr(0, rds.size()), rds) << "the RDS bundle first, unchanged";
  std::vector<std::string> rest;
  for (const X509Ptr& certificate : ReadCertificates(shipped.substr(rds.size()))) {
    rest.push_back(CommonName(certificate.get()));
  }
  EXPECT_EQ(rest, (std::vector<std::string>{"Amazon Root CA 1", "Amazon Root CA 2",
                                            "Amazon Root CA 3", "Amazon Root CA 4",
                                            "Starfield Services Root Certificate Authority - G2"}));
}

}  // namespace
}  // namespace secret_rotator
