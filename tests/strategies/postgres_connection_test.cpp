// Unit tests of the PostgreSQL connection rules: no server needed.
#include "strategies/postgres_connection.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "strategies/postgres_strategy.h"
#include "strategies/registry.h"

namespace secret_rotator::strategies::postgres {
namespace {

using std::chrono::milliseconds;

DbCredentials Credentials(std::optional<bool> ssl = std::nullopt) {
  DbCredentials credentials;
  credentials.engine = "postgres";
  credentials.host = "db.example.com";
  credentials.port = 0;
  credentials.username = "app";
  credentials.password = Secret(std::string("s3cret-pa55"));
  credentials.ssl = ssl;
  return credentials;
}

// A readable file for DB_TLS_CA_FILE, removed at the end of the test.
class TemporaryFile {
 public:
  TemporaryFile() {
    char name[] = "/tmp/postgres_connection_test.XXXXXX";
    const int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    if (fd >= 0) close(fd);
    path_ = name;
  }
  ~TemporaryFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PostgresConnectionParameters, DefaultsPortAndDatabase) {
  Result<ConnectionParameters> parameters = BuildConnectionParameters(
      Credentials(), StrategyConfig{}, milliseconds(60000), std::string("/ca/bundle.pem"));
  ASSERT_TRUE(parameters.ok()) << parameters.status().message();
  EXPECT_EQ(*parameters->Find("host"), "db.example.com");
  EXPECT_EQ(*parameters->Find("port"), "5432");
  EXPECT_EQ(*parameters->Find("user"), "app");
  EXPECT_EQ(*parameters->Find("dbname"), "postgres");
  EXPECT_EQ(*parameters->Find("client_encoding"), "UTF8");
  EXPECT_EQ(*parameters->Find("gssencmode"), "disable");
}

TEST(PostgresConnectionParameters, UsesTheSecretsPortAndDatabase) {
  DbCredentials credentials = Credentials();
  credentials.port = 6543;
  credentials.dbname = "orders";
  Result<ConnectionParameters> parameters = BuildConnectionParameters(
      credentials, StrategyConfig{}, milliseconds(60000), std::string("/ca/bundle.pem"));
  ASSERT_TRUE(parameters.ok());
  EXPECT_EQ(*parameters->Find("port"), "6543");
  EXPECT_EQ(*parameters->Find("dbname"), "orders");
}

TEST(PostgresConnectionParameters, NeverCarriesThePassword) {
  Result<ConnectionParameters> parameters = BuildConnectionParameters(
      Credentials(), StrategyConfig{}, milliseconds(60000), std::string("/ca/bundle.pem"));
  ASSERT_TRUE(parameters.ok());
  EXPECT_EQ(parameters->Find("password"), nullptr);
  for (const auto& [keyword, value] : parameters->keywords) {
    EXPECT_EQ(value.find("s3cret-pa55"), std::string::npos) << keyword;
  }
}

TEST(PostgresConnectionParameters, VerifiesWithTheConfiguredCaFile) {
  TemporaryFile ca;
  StrategyConfig config;
  config.tls_ca_file = ca.path();
  Result<ConnectionParameters> parameters = BuildConnectionParameters(
      Credentials(), config, milliseconds(60000), std::string("/ca/bundle.pem"));
  ASSERT_TRUE(parameters.ok()) << parameters.status().message();
  EXPECT_EQ(*parameters->Find("sslmode"), "verify-full");
  EXPECT_EQ(*parameters->Find("sslrootcert"), ca.path());
  EXPECT_EQ(parameters->ca_source, "DB_TLS_CA_FILE");
}

TEST(PostgresConnectionParameters, VerifiesWithTheSystemBundleWithoutACaFile) {
  for (TlsMode mode : {TlsMode::kVerifyFull, TlsMode::kVerifyCa}) {
    StrategyConfig config;
    config.tls_mode = mode;
    Result<ConnectionParameters> parameters = BuildConnectionParameters(
        Credentials(), config, milliseconds(60000), std::string("/ca/bundle.pem"));
    ASSERT_TRUE(parameters.ok());
    EXPECT_EQ(*parameters->Find("sslrootcert"), "/ca/bundle.pem");
    EXPECT_EQ(parameters->ca_source, "the system CA bundle");
  }
}

TEST(PostgresConnectionParameters, RefusesToVerifyWithoutAnyCa) {
  Result<ConnectionParameters> parameters =
      BuildConnectionParameters(Credentials(), StrategyConfig{}, milliseconds(60000), std::nullopt);
  ASSERT_FALSE(parameters.ok());
  EXPECT_EQ(parameters.status().type(), "ConfigurationError");
  EXPECT_NE(parameters.status().message().find("DB_TLS_CA_FILE"), std::string::npos);
}

TEST(PostgresConnectionParameters, RefusesAnUnreadableCaFile) {
  StrategyConfig config;
  config.tls_ca_file = "/nonexistent/ca.pem";
  Result<ConnectionParameters> parameters = BuildConnectionParameters(
      Credentials(), config, milliseconds(60000), std::string("/ca/bundle.pem"));
  ASSERT_FALSE(parameters.ok());
  EXPECT_EQ(parameters.status().type(), "ConfigurationError");
  EXPECT_NE(parameters.status().message().find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(PostgresConnectionParameters, RequireAndDisableGiveNoCaFile) {
  TemporaryFile ca;
  StrategyConfig require;
  require.tls_mode = TlsMode::kRequire;
  require.tls_ca_file = ca.path();
  Result<ConnectionParameters> required =
      BuildConnectionParameters(Credentials(), require, milliseconds(60000), std::nullopt);
  ASSERT_TRUE(required.ok());
  EXPECT_EQ(*required->Find("sslmode"), "require");
  EXPECT_EQ(required->Find("sslrootcert"), nullptr);

  StrategyConfig disable;
  disable.tls_mode = TlsMode::kDisable;
  Result<ConnectionParameters> plaintext =
      BuildConnectionParameters(Credentials(), disable, milliseconds(60000), std::nullopt);
  ASSERT_TRUE(plaintext.ok());
  EXPECT_EQ(*plaintext->Find("sslmode"), "disable");
  EXPECT_EQ(plaintext->Find("sslrootcert"), nullptr);
}

TEST(PostgresConnectionParameters, NeverFallsBackToPlaintext) {
  for (std::optional<bool> ssl : {std::optional<bool>(), std::optional<bool>(true)}) {
    for (TlsMode mode : {TlsMode::kVerifyFull, TlsMode::kVerifyCa, TlsMode::kRequire}) {
      StrategyConfig config;
      config.tls_mode = mode;
      Result<ConnectionParameters> parameters = BuildConnectionParameters(
          Credentials(ssl), config, milliseconds(60000), std::string("/ca/bundle.pem"));
      ASSERT_TRUE(parameters.ok());
      const std::string& sslmode = *parameters->Find("sslmode");
      EXPECT_NE(sslmode, "prefer");
      EXPECT_NE(sslmode, "allow");
      EXPECT_NE(sslmode, "disable");
    }
  }
}

TEST(PostgresConnectionParameters, BoundsTheConnectionAndStatementsByTheDeadline) {
  Result<ConnectionParameters> long_left = BuildConnectionParameters(
      Credentials(), StrategyConfig{}, milliseconds(60000), std::string("/ca/bundle.pem"));
  ASSERT_TRUE(long_left.ok());
  EXPECT_EQ(long_left->connect_time, milliseconds(5000));
  EXPECT_EQ(*long_left->Find("options"), "-c statement_timeout=60000");
  EXPECT_EQ(long_left->Find("connect_timeout"), nullptr);

  Result<ConnectionParameters> short_left = BuildConnectionParameters(
      Credentials(), StrategyConfig{}, milliseconds(1500), std::string("/ca/bundle.pem"));
  ASSERT_TRUE(short_left.ok());
  EXPECT_EQ(short_left->connect_time, milliseconds(1500));
  EXPECT_EQ(*short_left->Find("options"), "-c statement_timeout=1500");

  Result<ConnectionParameters> none_left = BuildConnectionParameters(
      Credentials(), StrategyConfig{}, milliseconds(0), std::string("/ca/bundle.pem"));
  ASSERT_FALSE(none_left.ok());
  EXPECT_EQ(none_left.status().type(), "Timeout");
  EXPECT_EQ(none_left.status().code(), StatusCode::kDeadlineExceeded);
}

TEST(PostgresConnectionParameters, RefusesNulBytesAndEmptyValues) {
  DbCredentials nul_user = Credentials();
  nul_user.username = std::string("app\0admin", 9);
  DbCredentials nul_password = Credentials();
  nul_password.password = Secret(std::string("abc\0def", 7));
  DbCredentials nul_database = Credentials();
  nul_database.dbname = std::string("db\0x", 4);
  DbCredentials empty_password = Credentials();
  empty_password.password = Secret(std::string());
  DbCredentials empty_user = Credentials();
  empty_user.username.clear();
  for (const DbCredentials* bad :
       {&nul_user, &nul_password, &nul_database, &empty_password, &empty_user}) {
    Result<ConnectionParameters> parameters = BuildConnectionParameters(
        *bad, StrategyConfig{}, milliseconds(60000), std::string("/ca/bundle.pem"));
    ASSERT_FALSE(parameters.ok());
    EXPECT_EQ(parameters.status().type(), "InvalidSecret");
    EXPECT_EQ(parameters.status().message().find("def"), std::string::npos);
  }
}

TEST(PostgresRoleName, AcceptsAtMost63Bytes) {
  EXPECT_TRUE(CheckRoleName(std::string(63, 'a'), "the user").ok());
  Status too_long = CheckRoleName(std::string(64, 'a'), "the user");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.type(), "InvalidSecret");
  EXPECT_NE(too_long.message().find("64 bytes"), std::string::npos);
  EXPECT_NE(too_long.message().find("63"), std::string::npos);
  EXPECT_FALSE(CheckRoleName("", "the user").ok());
  EXPECT_FALSE(CheckRoleName(std::string("a\0b", 3), "the user").ok());
}

TEST(PostgresRoleName, CountsBytesNotCharacters) {
  std::string two_byte_characters;
  for (int i = 0; i < 31; ++i) two_byte_characters += "\xC3\xA9";    // é
  EXPECT_TRUE(CheckRoleName(two_byte_characters, "the user").ok());  // 62 bytes
  two_byte_characters += "\xC3\xA9";
  EXPECT_FALSE(CheckRoleName(two_byte_characters, "the user").ok());  // 64 bytes
}

TEST(PostgresAlternatingRoles, TellsOriginalFromClone) {
  Result<AlternatingRoles> to_clone = ResolveAlternatingRoles("app", "app_clone");
  ASSERT_TRUE(to_clone.ok());
  EXPECT_EQ(to_clone->original, "app");
  EXPECT_EQ(to_clone->clone, "app_clone");
  EXPECT_TRUE(to_clone->pending_is_clone);

  Result<AlternatingRoles> back = ResolveAlternatingRoles("app_clone", "app");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->original, "app");
  EXPECT_EQ(back->clone, "app_clone");
  EXPECT_FALSE(back->pending_is_clone);
}

TEST(PostgresAlternatingRoles, RefusesUnrelatedNames) {
  for (const auto& [current, pending] :
       {std::pair<std::string_view, std::string_view>{"app", "other_clone"},
        {"app", "app"},
        {"app_clone", "app_clone_clone"},
        {"app", "_clone"},
        {"_clone", ""}}) {
    Result<AlternatingRoles> roles = ResolveAlternatingRoles(current, pending);
    EXPECT_FALSE(roles.ok()) << current << " -> " << pending;
    if (!roles.ok()) {
      EXPECT_EQ(roles.status().type(), "InvalidSecret");
    }
  }
}

TEST(PostgresAlternatingRoles, RefusesACloneNameOver63Bytes) {
  const std::string original(58, 'u');
  Result<AlternatingRoles> roles = ResolveAlternatingRoles(original, original + "_clone");
  ASSERT_FALSE(roles.ok());
  EXPECT_EQ(roles.status().type(), "InvalidSecret");
  EXPECT_NE(roles.status().message().find("the alternate user"), std::string::npos);
  EXPECT_NE(roles.status().message().find("64 bytes"), std::string::npos);
  EXPECT_TRUE(ResolveAlternatingRoles(std::string(57, 'u'), std::string(57, 'u') + "_clone").ok());
}

ConnectionParameters VerifyingParameters() {
  ConnectionParameters parameters;
  parameters.sslmode = "verify-full";
  parameters.tls_description = "TLS mode verify-full (DB_TLS_MODE=verify-full)";
  parameters.ca_file = "/etc/ca.pem";
  parameters.ca_source = "DB_TLS_CA_FILE";
  return parameters;
}

TEST(PostgresConnectFailure, TlsFailureNamesTheSettingsThatChangeIt) {
  Status status = ConnectFailure(
      ConnectStage::kTls,
      "connection to server at \"10.0.0.1\", port 5432 failed: SSL error: certificate verify "
      "failed\n",
      "user 'app' at 10.0.0.1:5432", VerifyingParameters());
  EXPECT_EQ(status.type(), "DatabaseTlsError");
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  for (std::string_view part :
       {"certificate verify failed", "/etc/ca.pem", "DB_TLS_CA_FILE", "DB_TLS_MODE=verify-full",
        "DB_TLS_MODE=disable", "No credential and no statement was sent without TLS"}) {
    EXPECT_NE(status.message().find(part), std::string::npos) << part << " in " << status.message();
  }
  EXPECT_EQ(status.message().find('\n'), std::string::npos);
}

TEST(PostgresConnectFailure, ServerWithoutTlsNamesTheSettingThatChangesIt) {
  ConnectionParameters parameters;
  parameters.sslmode = "require";
  Status status =
      ConnectFailure(ConnectStage::kTls, "server does not support SSL", "u", parameters);
  EXPECT_EQ(status.type(), "DatabaseTlsError");
  EXPECT_NE(status.message().find("DB_TLS_MODE=disable"), std::string::npos);
  EXPECT_EQ(status.message().find("\"ssl\": false"), std::string::npos) << status.message();
}

TEST(PostgresConnectFailure, ClassifiesLoginAndTransportFailures) {
  const ConnectionParameters parameters = VerifyingParameters();
  Status rejected =
      ConnectFailure(ConnectStage::kLogin,
                     "FATAL:  password authentication failed for user \"app\"", "u", parameters);
  EXPECT_EQ(rejected.type(), "DatabaseLoginFailed");
  EXPECT_EQ(rejected.code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(IsLoginRejected(rejected));

  Status no_entry = ConnectFailure(
      ConnectStage::kLogin, "FATAL:  no pg_hba.conf entry for host \"10.0.0.2\"", "u", parameters);
  EXPECT_TRUE(IsLoginRejected(no_entry));

  Status no_database = ConnectFailure(
      ConnectStage::kLogin, "FATAL:  database \"orders\" does not exist", "u", parameters);
  EXPECT_EQ(no_database.type(), "DatabaseError");
  EXPECT_FALSE(IsLoginRejected(no_database));

  Status refused = ConnectFailure(ConnectStage::kTransport, "Connection refused", "u", parameters);
  EXPECT_EQ(refused.type(), "DatabaseConnectionError");
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(IsLoginRejected(refused));
}

TEST(PostgresEngines, RegistersBothEnginesWithAwsDefaults) {
  StrategyRegistry registry;
  AddPostgresEngines(registry);
  for (std::string_view engine : {"postgres", "aurora-postgresql"}) {
    const EngineEntry* entry = registry.Find(engine);
    ASSERT_NE(entry, nullptr) << engine;
    EXPECT_EQ(entry->default_port, 5432);
    EXPECT_EQ(entry->default_exclude_characters, ":/@\"'\\");
    EXPECT_NE(entry->make(RotationKind::kSingleUser, StrategyConfig{}), nullptr);
    EXPECT_NE(entry->make(RotationKind::kAlternatingUsers, StrategyConfig{}), nullptr);
  }
  EXPECT_EQ(registry.Find("mysql"), nullptr);
}

}  // namespace
}  // namespace secret_rotator::strategies::postgres
