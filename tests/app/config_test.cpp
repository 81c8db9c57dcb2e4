#include "app/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace secret_rotator::app {
namespace {

class RotationConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { Clear(); }
  void TearDown() override { Clear(); }
  static void Clear() {
    for (const char* name :
         {"ROTATION_STRATEGY", "PASSWORD_LENGTH", "EXCLUDE_CHARACTERS", "EXCLUDE_NUMBERS",
          "EXCLUDE_PUNCTUATION", "EXCLUDE_UPPERCASE", "EXCLUDE_LOWERCASE",
          "REQUIRE_EACH_INCLUDED_TYPE", "DB_TLS_MODE", "DB_TLS_CA_FILE", "PASSWORD_ENCRYPTION"}) {
      ::unsetenv(name);
    }
  }
  static std::string Error() { return RotationConfigFromEnvironment("").status().message(); }
};

TEST_F(RotationConfigTest, DefaultsMatchAwsFunctions) {
  Result<handler::RotationConfig> config = RotationConfigFromEnvironment("");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->default_kind, strategies::RotationKind::kSingleUser);
  EXPECT_EQ(config->password.length, 32);
  EXPECT_FALSE(config->password.exclude_characters.has_value());
  EXPECT_TRUE(config->password.require_each_included_type);
  EXPECT_FALSE(config->password.exclude_numbers);
  EXPECT_EQ(config->strategy.tls_mode, strategies::TlsMode::kVerifyFull);
  EXPECT_TRUE(config->strategy.tls_ca_file.empty());
}

TEST_F(RotationConfigTest, ReadsEverySetting) {
  ::setenv("ROTATION_STRATEGY", "alternating-users", 1);
  ::setenv("PASSWORD_LENGTH", "48", 1);
  ::setenv("EXCLUDE_CHARACTERS", "", 1);
  ::setenv("EXCLUDE_NUMBERS", "yes", 1);
  ::setenv("REQUIRE_EACH_INCLUDED_TYPE", "0", 1);
  ::setenv("DB_TLS_MODE", "verify-ca", 1);
  ::setenv("DB_TLS_CA_FILE", "/etc/hostname", 1);
  ::setenv("PASSWORD_ENCRYPTION", "md5", 1);
  Result<handler::RotationConfig> config = RotationConfigFromEnvironment("");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->default_kind, strategies::RotationKind::kAlternatingUsers);
  EXPECT_EQ(config->password.length, 48);
  EXPECT_EQ(config->password.exclude_characters, "") << "set but empty excludes nothing";
  EXPECT_TRUE(config->password.exclude_numbers);
  EXPECT_FALSE(config->password.require_each_included_type);
  EXPECT_EQ(config->strategy.tls_mode, strategies::TlsMode::kVerifyCa);
  EXPECT_EQ(config->strategy.tls_ca_file, "/etc/hostname");
  EXPECT_EQ(config->strategy.password_encryption, "md5");
}

TEST_F(RotationConfigTest, UsesWhatThePackageCarriesUnlessConfigured) {
  const std::string dir = ::testing::TempDir() + "/package_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/lib/mariadb/plugin");
  std::ofstream(dir + "/db-ca-bundle.pem") << "-----BEGIN CERTIFICATE-----\n";
  Result<handler::RotationConfig> config = RotationConfigFromEnvironment(dir);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->strategy.tls_ca_file, dir + "/db-ca-bundle.pem");
  EXPECT_EQ(config->strategy.tls_ca_source, strategies::kPackagedCaSource);
  EXPECT_EQ(config->strategy.mysql_plugin_dir, dir + "/lib/mariadb/plugin");
  ::setenv("DB_TLS_CA_FILE", "/etc/hostname", 1);
  EXPECT_EQ(RotationConfigFromEnvironment(dir)->strategy.tls_ca_file, "/etc/hostname");
  EXPECT_EQ(RotationConfigFromEnvironment(dir)->strategy.tls_ca_source, "DB_TLS_CA_FILE");
  std::filesystem::remove_all(dir);
  ::unsetenv("DB_TLS_CA_FILE");
  config = RotationConfigFromEnvironment(dir);
  EXPECT_TRUE(config->strategy.tls_ca_file.empty());
  EXPECT_TRUE(config->strategy.mysql_plugin_dir.empty());
}

TEST_F(RotationConfigTest, RefusesValuesItCannotUnderstand) {
  ::setenv("ROTATION_STRATEGY", "multi-user", 1);
  EXPECT_EQ(Error(),
            "ROTATION_STRATEGY must be single-user or alternating-users, not 'multi-user'");
  ::unsetenv("ROTATION_STRATEGY");
  for (const char* length : {"0", "4097", "12abc", "-1"}) {
    ::setenv("PASSWORD_LENGTH", length, 1);
    EXPECT_EQ(Error(), std::string("PASSWORD_LENGTH must be a whole number from 1 to 4096, not '") +
                           length + "'");
  }
  ::unsetenv("PASSWORD_LENGTH");
  ::setenv("EXCLUDE_LOWERCASE", "maybe", 1);
  EXPECT_EQ(Error(), "EXCLUDE_LOWERCASE must be true/1/y/yes or false/0/n/no, not 'maybe'");
  ::unsetenv("EXCLUDE_LOWERCASE");
  for (const char* name :
       {"EXCLUDE_NUMBERS", "EXCLUDE_PUNCTUATION", "EXCLUDE_UPPERCASE", "EXCLUDE_LOWERCASE"}) {
    ::setenv(name, "true", 1);
  }
  EXPECT_NE(Error().find("no character is left"), std::string::npos);
  Clear();
  ::setenv("DB_TLS_MODE", "prefer", 1);
  EXPECT_EQ(Error(),
            "DB_TLS_MODE must be verify-full, verify-ca, require or disable, not 'prefer'");
  ::unsetenv("DB_TLS_MODE");
  ::setenv("DB_TLS_CA_FILE", "/nonexistent/ca.pem", 1);
  EXPECT_EQ(Error(), "DB_TLS_CA_FILE '/nonexistent/ca.pem' is not a readable file");
  ::unsetenv("DB_TLS_CA_FILE");
  ::setenv("PASSWORD_ENCRYPTION", "plain", 1);
  EXPECT_EQ(Error(), "PASSWORD_ENCRYPTION must be scram-sha-256 or md5, not 'plain'");
}

}  // namespace
}  // namespace secret_rotator::app
