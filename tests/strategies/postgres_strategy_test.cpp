// The PostgreSQL strategies against a real PostgreSQL 15 cluster started by
// tests/servers/postgres.sh (CTest fixture "postgres"; its folder comes in
// SECRET_ROTATOR_POSTGRES_DIR). The tests check the database with libpq
// directly (tests/support/postgres_server.h), as the cluster's superuser, not
// through the code under test.
// Every test uses role names of its own, so the tests can run in parallel.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "strategies/postgres_session.h"
#include "strategies/postgres_strategy.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace secret_rotator::strategies {
namespace {

// The Status of a SetSecret result (its warnings dropped).
Status StatusOf(const Result<Warnings>& result) {
  return result.ok() ? Status::Ok() : result.status();
}

using postgres::PostgresSession;
using std::chrono::milliseconds;
using testing::LogsIn;
using testing::PgConnection;
using testing::PostgresServer;
using testing::UniqueName;

Deadline Soon() { return Deadline::After(milliseconds(30000)); }

// A password that is hard to quote: quotes, backslashes, dollar quoting,
// non-ASCII; the random part makes it unique so the server log can be
// searched for it.
struct TestPassword {
  std::string unique;  // searched for in the log, whatever escaping it got
  std::string text;
};
TestPassword NewPassword() {
  const std::string unique = "Pw" + testing::RandomHex(20);
  return {unique, "a'b\"c\\d$$e;--" + unique + "\xC3\xA9\xE2\x82\xAC"};  // é €
}

class PostgresStrategyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    std::optional<PostgresServer> server = testing::LoadPostgresServer(&error);
    ASSERT_TRUE(server.has_value()) << error;
    server_ = *server;
    admin_ = std::make_unique<PgConnection>(server_, server_.admin_user, server_.admin_password);
    ASSERT_TRUE(admin_->ok()) << admin_->error();
  }

  void TearDown() override {
    // No password of this test may appear in the server log, which logs
    // every statement.
    if (passwords_.empty() || server_.log.empty()) return;
    const std::string log = ReadLog();
    for (const TestPassword& password : passwords_) {
      EXPECT_EQ(log.find(password.unique), std::string::npos)
          << "the server log " << server_.log << " holds a password";
    }
  }

  std::string ReadLog() const { return testing::ReadFile(server_.log); }

  std::string Password() {
    passwords_.push_back(NewPassword());
    return passwords_.back().text;
  }

  StrategyConfig Config() const {
    StrategyConfig config;
    config.tls_ca_file = server_.ca;
    return config;
  }

  DbCredentials Credentials(const std::string& user, const std::string& password) const {
    DbCredentials credentials;
    credentials.engine = "postgres";
    credentials.host = server_.host;
    credentials.port = server_.port;
    credentials.username = user;
    credentials.password = Secret(password);
    return credentials;
  }
  DbCredentials AdminCredentials() const {
    return Credentials(server_.admin_user, server_.admin_password);
  }

  Status SingleUser(const DbCredentials& current, const DbCredentials& pending,
                    const DbCredentials* previous = nullptr,
                    const StrategyConfig* config = nullptr) {
    std::unique_ptr<Strategy> strategy =
        NewPostgresStrategy(RotationKind::kSingleUser, config ? *config : Config());
    return StatusOf(strategy->SetSecret({current, pending, previous, nullptr}, Soon()));
  }
  // `previous` is AWSPREVIOUS, as the handler passes it.
  Status Alternating(const DbCredentials& current, const DbCredentials& pending,
                     const DbCredentials* admin, const DbCredentials* previous = nullptr) {
    std::unique_ptr<Strategy> strategy =
        NewPostgresStrategy(RotationKind::kAlternatingUsers, Config());
    return StatusOf(strategy->SetSecret({current, pending, previous, admin}, Soon()));
  }
  Status Test(const DbCredentials& pending, RotationKind kind = RotationKind::kSingleUser) {
    return NewPostgresStrategy(kind, Config())->TestSecret(pending, Soon());
  }

  // Checks that `role` is a clone of `original` as the strategy promises.
  void ExpectCloneOf(const std::string& clone, const std::string& original) {
    EXPECT_EQ(admin_->Query("SELECT rolcanlogin::text || ' ' || rolinherit::text || ' ' || "
                            "rolsuper::text FROM pg_roles WHERE rolname = $1",
                            {clone}),
              "true true false");
    EXPECT_EQ(
        admin_->Query("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                      "JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2",
                      {original, clone}),
        "1");
    EXPECT_EQ(admin_->Query(
                  "SELECT array_to_string(s.setconfig, ',') FROM pg_db_role_setting s "
                  "JOIN pg_roles u ON u.oid = s.setrole WHERE u.rolname = $1 AND s.setdatabase = 0",
                  {clone}),
              "role=" + original);
  }

  PostgresServer server_;
  std::unique_ptr<PgConnection> admin_;
  std::vector<TestPassword> passwords_;
};

// ---- Single user ----

TEST_F(PostgresStrategyTest, SingleUserChangesThePassword) {
  const std::string user = UniqueName("single");
  const std::string old_password = Password();
  const std::string new_password = Password();
  admin_->CreateRole(user, old_password);

  Status set = SingleUser(Credentials(user, old_password), Credentials(user, new_password));
  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  EXPECT_FALSE(LogsIn(server_, user, old_password));
  EXPECT_TRUE(LogsIn(server_, user, new_password));
  EXPECT_TRUE(Test(Credentials(user, new_password)).ok());
  Status old_login = Test(Credentials(user, old_password));
  EXPECT_EQ(old_login.type(), "DatabaseLoginFailed") << old_login.message();
  EXPECT_EQ(admin_->StoredVerifier(user).rfind("SCRAM-SHA-256$", 0), 0u);
}

TEST_F(PostgresStrategyTest, SingleUserRerunChangesNothing) {
  const std::string user = UniqueName("single_rerun");
  const std::string old_password = Password();
  const std::string new_password = Password();
  admin_->CreateRole(user, old_password);
  const DbCredentials current = Credentials(user, old_password);
  const DbCredentials pending = Credentials(user, new_password);

  ASSERT_TRUE(SingleUser(current, pending).ok());
  const std::string verifier = admin_->StoredVerifier(user);
  Status again = SingleUser(current, pending);
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(admin_->StoredVerifier(user), verifier)
      << "a re-run must not change the password again";
  EXPECT_TRUE(LogsIn(server_, user, new_password));
}

TEST_F(PostgresStrategyTest, SingleUserTenRotationsInARow) {
  const std::string user = UniqueName("single_ten");
  std::string current_password = Password();
  admin_->CreateRole(user, current_password);
  std::optional<std::string> previous_password;
  for (int rotation = 0; rotation < 10; ++rotation) {
    const std::string next_password = Password();
    const DbCredentials previous = Credentials(user, previous_password.value_or("unused"));
    Status set = SingleUser(Credentials(user, current_password), Credentials(user, next_password),
                            previous_password ? &previous : nullptr);
    ASSERT_TRUE(set.ok()) << "rotation " << rotation << ": " << set.message();
    ASSERT_TRUE(Test(Credentials(user, next_password)).ok()) << "rotation " << rotation;
    EXPECT_FALSE(LogsIn(server_, user, current_password)) << "rotation " << rotation;
    previous_password = current_password;
    current_password = next_password;
  }
}

TEST_F(PostgresStrategyTest, SingleUserDoneWhenPendingAlreadyLogsIn) {
  const std::string user = UniqueName("single_done");
  const std::string pending_password = Password();
  admin_->CreateRole(user, pending_password);
  const std::string verifier = admin_->StoredVerifier(user);
  // Current no longer works: a crash after setSecret changed the password.
  Status set = SingleUser(Credentials(user, Password()), Credentials(user, pending_password));
  EXPECT_TRUE(set.ok()) << set.message();
  EXPECT_EQ(admin_->StoredVerifier(user), verifier);
}

TEST_F(PostgresStrategyTest, SingleUserRecoversWithThePreviousPassword) {
  const std::string user = UniqueName("single_prev");
  const std::string previous_password = Password();
  const std::string new_password = Password();
  admin_->CreateRole(user, previous_password);
  const DbCredentials previous = Credentials(user, previous_password);
  const DbCredentials current = Credentials(user, Password());  // never took effect
  const DbCredentials pending = Credentials(user, new_password);

  Status without_previous = SingleUser(current, pending);
  EXPECT_EQ(without_previous.type(), "DatabaseLoginFailed") << without_previous.message();
  EXPECT_TRUE(LogsIn(server_, user, previous_password)) << "a failed attempt must change nothing";

  Status with_previous = SingleUser(current, pending, &previous);
  ASSERT_TRUE(with_previous.ok()) << with_previous.message();
  EXPECT_TRUE(LogsIn(server_, user, new_password));
  EXPECT_FALSE(LogsIn(server_, user, previous_password));
}

TEST_F(PostgresStrategyTest, SingleUserFailsClearlyWhenNoPasswordWorks) {
  const std::string user = UniqueName("single_none");
  const std::string real_password = Password();
  admin_->CreateRole(user, real_password);
  const std::string verifier = admin_->StoredVerifier(user);
  const DbCredentials previous = Credentials(user, Password());
  Status set = SingleUser(Credentials(user, Password()), Credentials(user, Password()), &previous);
  EXPECT_EQ(set.type(), "DatabaseLoginFailed");
  EXPECT_EQ(set.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(set.message().find("AWSPREVIOUS"), std::string::npos) << set.message();
  EXPECT_NE(set.message().find(user), std::string::npos) << set.message();
  EXPECT_EQ(admin_->StoredVerifier(user), verifier);
}

// ---- Alternating users ----

TEST_F(PostgresStrategyTest, AlternatingCreatesACloneThatActsAsTheOriginal) {
  const std::string user = UniqueName("alt");
  const std::string clone = user + "_clone";
  const std::string original_password = Password();
  const std::string clone_password = Password();
  admin_->CreateRole(user, original_password);
  const DbCredentials admin = AdminCredentials();

  Status set =
      Alternating(Credentials(user, original_password), Credentials(clone, clone_password), &admin);
  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  ExpectCloneOf(clone, user);
  EXPECT_TRUE(LogsIn(server_, clone, clone_password));
  EXPECT_TRUE(LogsIn(server_, user, original_password)) << "the original keeps its password";
  EXPECT_TRUE(Test(Credentials(clone, clone_password), RotationKind::kAlternatingUsers).ok());

  PgConnection as_clone(server_, clone, clone_password);
  ASSERT_TRUE(as_clone.ok()) << as_clone.error();
  EXPECT_EQ(as_clone.Query("SELECT session_user || '/' || current_user"), clone + "/" + user);
}

TEST_F(PostgresStrategyTest, AlternatingObjectsAreSharedBothWays) {
  const std::string user = UniqueName("alt_share");
  const std::string clone = user + "_clone";
  const std::string original_password = Password();
  const std::string clone_password = Password();
  admin_->CreateRole(user, original_password);
  const std::string schema = UniqueName("s");
  admin_->Query("CREATE SCHEMA " + admin_->Identifier(schema) + " AUTHORIZATION " +
                admin_->Identifier(user));
  const DbCredentials admin = AdminCredentials();
  ASSERT_TRUE(
      Alternating(Credentials(user, original_password), Credentials(clone, clone_password), &admin)
          .ok());

  PgConnection as_original(server_, user, original_password);
  PgConnection as_clone(server_, clone, clone_password);
  ASSERT_TRUE(as_original.ok()) << as_original.error();
  ASSERT_TRUE(as_clone.ok()) << as_clone.error();
  const std::string by_clone = admin_->Identifier(schema) + ".made_by_clone";
  const std::string by_original = admin_->Identifier(schema) + ".made_by_original";

  as_clone.Query("CREATE TABLE " + by_clone + " (n int)");
  as_clone.Query("INSERT INTO " + by_clone + " VALUES (1)");
  as_original.Query("INSERT INTO " + by_clone + " VALUES (2)");
  as_original.Query("UPDATE " + by_clone + " SET n = n + 10");
  EXPECT_EQ(as_original.Query("SELECT sum(n)::text FROM " + by_clone), "23");
  EXPECT_EQ(
      admin_->Query("SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2",
                    {schema, "made_by_clone"}),
      user);

  as_original.Query("CREATE TABLE " + by_original + " (n int)");
  as_original.Query("INSERT INTO " + by_original + " VALUES (5)");
  as_clone.Query("INSERT INTO " + by_original + " VALUES (6)");
  as_clone.Query("DELETE FROM " + by_original + " WHERE n = 5");
  EXPECT_EQ(as_clone.Query("SELECT sum(n)::text FROM " + by_original), "6");
  // Even without acting as the original, membership and INHERIT give the
  // clone the original's rights.
  as_clone.Query("SET ROLE NONE");
  EXPECT_EQ(as_clone.Query("SELECT current_user"), clone);
  EXPECT_EQ(as_clone.Query("SELECT count(*)::text FROM " + by_original), "1");
}

TEST_F(PostgresStrategyTest, AlternatingTenRotationsInARow) {
  const std::string user = UniqueName("alt_ten");
  const std::string clone = user + "_clone";
  std::string current_user = user;
  std::string current_password = Password();
  admin_->CreateRole(user, current_password);
  const DbCredentials admin = AdminCredentials();
  std::map<std::string, std::string> expected = {{user, current_password}};
  std::optional<DbCredentials> previous;
  for (int rotation = 0; rotation < 10; ++rotation) {
    const std::string next_user = current_user == user ? clone : user;
    const std::string next_password = Password();
    if (rotation == 4) {
      // Someone removed what the clone needs: the next rotation puts it back.
      admin_->Query("REVOKE " + admin_->Identifier(user) + " FROM " + admin_->Identifier(clone));
      admin_->Query("ALTER ROLE " + admin_->Identifier(clone) + " NOINHERIT");
      admin_->Query("ALTER ROLE " + admin_->Identifier(clone) + " RESET role");
    }
    Status set =
        Alternating(Credentials(current_user, current_password),
                    Credentials(next_user, next_password), &admin, previous ? &*previous : nullptr);
    ASSERT_TRUE(set.ok()) << "rotation " << rotation << ": " << set.message();
    previous = Credentials(current_user, current_password);
    ASSERT_TRUE(Test(Credentials(next_user, next_password), RotationKind::kAlternatingUsers).ok());
    if (const auto old = expected.find(next_user); old != expected.end()) {
      EXPECT_FALSE(LogsIn(server_, next_user, old->second)) << "rotation " << rotation;
    }
    expected[next_user] = next_password;
    // Both users log in: the current one (soon AWSPREVIOUS) keeps working.
    for (const auto& [role, password] : expected) {
      EXPECT_TRUE(LogsIn(server_, role, password)) << "rotation " << rotation << ", " << role;
    }
    ExpectCloneOf(clone, user);
    current_user = next_user;
    current_password = next_password;
  }
  EXPECT_EQ(admin_->Query("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", {user + "%"}),
            "2");
}

TEST_F(PostgresStrategyTest, AlternatingWorksWithACreateRoleAdmin) {
  // As on RDS and Aurora, where the master user is not a superuser.
  const std::string admin_name = UniqueName("createrole_admin");
  const std::string admin_password = Password();
  admin_->CreateRole(admin_name, admin_password);
  admin_->Query("ALTER ROLE " + admin_->Identifier(admin_name) + " CREATEROLE");
  const std::string user = UniqueName("alt_rds");
  const std::string clone = user + "_clone";
  const std::string original_password = Password();
  admin_->CreateRole(user, original_password);
  const DbCredentials admin = Credentials(admin_name, admin_password);

  const std::string clone_password = Password();
  Status there =
      Alternating(Credentials(user, original_password), Credentials(clone, clone_password), &admin);
  ASSERT_TRUE(there.ok()) << there.type() << ": " << there.message();
  ExpectCloneOf(clone, user);
  EXPECT_TRUE(LogsIn(server_, clone, clone_password));
  const std::string new_password = Password();
  const DbCredentials previous = Credentials(user, original_password);
  Status back = Alternating(Credentials(clone, clone_password), Credentials(user, new_password),
                            &admin, &previous);
  ASSERT_TRUE(back.ok()) << back.type() << ": " << back.message();
  EXPECT_TRUE(LogsIn(server_, user, new_password));
  EXPECT_FALSE(LogsIn(server_, user, original_password));
}

TEST_F(PostgresStrategyTest, AlternatingRerunChangesNothing) {
  const std::string user = UniqueName("alt_rerun");
  const std::string clone = user + "_clone";
  const std::string original_password = Password();
  const std::string clone_password = Password();
  admin_->CreateRole(user, original_password);
  const DbCredentials admin = AdminCredentials();
  const DbCredentials current = Credentials(user, original_password);
  const DbCredentials pending = Credentials(clone, clone_password);
  ASSERT_TRUE(Alternating(current, pending, &admin).ok());
  const std::string verifier = admin_->StoredVerifier(clone);
  Status again = Alternating(current, pending, &admin);
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(admin_->StoredVerifier(clone), verifier);
}

TEST_F(PostgresStrategyTest, AlternatingRefusesWhenCurrentDoesNotLogIn) {
  const std::string user = UniqueName("alt_forged");
  const std::string clone = user + "_clone";
  admin_->CreateRole(user, Password());
  const DbCredentials admin = AdminCredentials();
  Status set = Alternating(Credentials(user, Password()), Credentials(clone, Password()), &admin);
  EXPECT_EQ(set.type(), "DatabaseLoginFailed") << set.message();
  EXPECT_NE(set.message().find("AWSCURRENT"), std::string::npos) << set.message();
  EXPECT_FALSE(admin_->RoleExists(clone));

  // The way back: a forged clone secret must not reset the original's password.
  const std::string original_password = Password();
  const std::string victim = UniqueName("alt_victim");
  admin_->CreateRole(victim, original_password);
  admin_->CreateRole(victim + "_clone", Password());
  const std::string verifier = admin_->StoredVerifier(victim);
  Status back = Alternating(Credentials(victim + "_clone", Password()),
                            Credentials(victim, Password()), &admin);
  EXPECT_EQ(back.type(), "DatabaseLoginFailed");
  EXPECT_EQ(admin_->StoredVerifier(victim), verifier);
}

TEST_F(PostgresStrategyTest, AlternatingNeedsTheAdmin) {
  const std::string user = UniqueName("alt_noadmin");
  const std::string password = Password();
  admin_->CreateRole(user, password);
  Status set =
      Alternating(Credentials(user, password), Credentials(user + "_clone", Password()), nullptr);
  EXPECT_EQ(set.type(), "InvalidSecret");
  const DbCredentials wrong_admin = Credentials(server_.admin_user, Password());
  Status wrong = Alternating(Credentials(user, password), Credentials(user + "_clone", Password()),
                             &wrong_admin);
  EXPECT_EQ(wrong.type(), "DatabaseLoginFailed");
  EXPECT_NE(wrong.message().find("masterarn"), std::string::npos) << wrong.message();
  EXPECT_FALSE(admin_->RoleExists(user + "_clone"));
}

TEST_F(PostgresStrategyTest, AlternatingRefusesACloneNameOver63BytesBeforeAnyChange) {
  const std::string user = UniqueName(std::string(49, 'n'));  // 58 bytes: the clone would be 64
  ASSERT_EQ(user.size(), 58u);
  const std::string password = Password();
  admin_->CreateRole(user, password);
  const DbCredentials admin = AdminCredentials();
  Status set =
      Alternating(Credentials(user, password), Credentials(user + "_clone", Password()), &admin);
  EXPECT_EQ(set.type(), "InvalidSecret");
  EXPECT_EQ(set.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(set.message().find("63"), std::string::npos) << set.message();
  EXPECT_EQ(admin_->Query("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", {user + "%"}), "1")
      << "no clone, not even a truncated one";
}

// An existing "_clone" role nothing proves to be this rotation's may belong
// to another application: never adopted, whatever its attributes.
TEST_F(PostgresStrategyTest, AlternatingRefusesToTakeOverASuperuser) {
  const std::string user = UniqueName("alt_super");
  const std::string password = Password();
  admin_->CreateRole(user, password);
  admin_->CreateRole(user + "_clone", Password());
  admin_->Query("ALTER ROLE " + admin_->Identifier(user + "_clone") + " SUPERUSER");
  const std::string verifier = admin_->StoredVerifier(user + "_clone");
  const DbCredentials admin = AdminCredentials();
  Status set =
      Alternating(Credentials(user, password), Credentials(user + "_clone", Password()), &admin);
  EXPECT_EQ(set.type(), "AccountNotManaged");
  EXPECT_NE(set.message().find(user + "_clone"), std::string::npos) << set.message();
  EXPECT_EQ(admin_->StoredVerifier(user + "_clone"), verifier);
}

// ---- Hostile names and passwords ----

TEST_F(PostgresStrategyTest, HostileUsernamesAndPasswords) {
  const std::vector<std::string> names = testing::HostileRoleNames(testing::RandomHex(6));
  const DbCredentials admin = AdminCredentials();
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    // Single user.
    const std::string first = Password();
    const std::string second = Password();
    admin_->CreateRole(name, first);
    Status single = SingleUser(Credentials(name, first), Credentials(name, second));
    ASSERT_TRUE(single.ok()) << single.message();
    EXPECT_TRUE(LogsIn(server_, name, second));
    EXPECT_FALSE(LogsIn(server_, name, first));

    // Alternating users, there and back.
    const std::string clone_password = Password();
    Status there = Alternating(Credentials(name, second),
                               Credentials(name + "_clone", clone_password), &admin);
    ASSERT_TRUE(there.ok()) << there.message();
    ExpectCloneOf(name + "_clone", name);
    EXPECT_TRUE(LogsIn(server_, name + "_clone", clone_password));
    const std::string third = Password();
    const DbCredentials previous = Credentials(name, second);
    Status back = Alternating(Credentials(name + "_clone", clone_password),
                              Credentials(name, third), &admin, &previous);
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_TRUE(LogsIn(server_, name, third));
    EXPECT_TRUE(Test(Credentials(name, third)).ok());
  }
}

// ---- TLS ----

TEST_F(PostgresStrategyTest, WrongCaFailsClearlyWithoutAPlaintextAttempt) {
  const std::string user = UniqueName("tls_wrong_ca");
  const std::string password = Password();
  admin_->CreateRole(user, password);
  StrategyConfig config = Config();
  config.tls_ca_file = server_.other_ca;

  Status set =
      SingleUser(Credentials(user, password), Credentials(user, Password()), nullptr, &config);
  EXPECT_EQ(set.type(), "DatabaseTlsError") << set.message();
  EXPECT_EQ(set.code(), StatusCode::kFailedPrecondition);
  for (const std::string& part :
       {std::string("certificate verify failed"), server_.other_ca, std::string("DB_TLS_CA_FILE"),
        std::string("DB_TLS_MODE"), std::string("No credential and no statement was sent")}) {
    EXPECT_NE(set.message().find(part), std::string::npos) << part << " in " << set.message();
  }
  Status test = NewPostgresStrategy(RotationKind::kSingleUser, config)
                    ->TestSecret(Credentials(user, password), Soon());
  EXPECT_EQ(test.type(), "DatabaseTlsError");

  // pg_hba.conf accepts this user without TLS too, so a plaintext retry would
  // have logged in, and the server logs every login ("connection authorized:
  // user=..."). The user name never reached the server.
  const std::string authorized = "connection authorized: user=" + user + " ";
  EXPECT_EQ(ReadLog().find(authorized), std::string::npos);
  EXPECT_EQ(ReadLog().find("for user \"" + user + "\""), std::string::npos);
  EXPECT_TRUE(LogsIn(server_, user, password)) << "nothing changed";

  // The check above can fail: a deliberate plaintext login is logged.
  StrategyConfig disable = config;
  disable.tls_mode = TlsMode::kDisable;
  ASSERT_TRUE(NewPostgresStrategy(RotationKind::kSingleUser, disable)
                  ->TestSecret(Credentials(user, password), Soon())
                  .ok());
  EXPECT_NE(ReadLog().find(authorized), std::string::npos);
}

// DB_TLS_MODE is a floor: "ssl": false lowers it only when the operator
// allows it (DB_TLS_ALLOW_SECRET_DOWNGRADE); "ssl": true raises disable.
TEST_F(PostgresStrategyTest, SslFieldMayRaiseTheTlsModeButLowerItOnlyWhenAllowed) {
  const std::string user = UniqueName("tls_field");
  const std::string password = Password();
  admin_->CreateRole(user, password);
  auto ssl_of = [&](std::optional<bool> ssl, const StrategyConfig& config) -> std::string {
    DbCredentials credentials = Credentials(user, password);
    credentials.ssl = ssl;
    Result<PostgresSession> session = PostgresSession::Connect(credentials, config, Soon());
    if (!session.ok()) return "error: " + session.status().message();
    Result<std::optional<std::string>> ssl_in_use =
        session->Query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()", {},
                       "reading pg_stat_ssl", Soon());
    if (!ssl_in_use.ok()) return "error: " + ssl_in_use.status().message();
    return ssl_in_use->value_or("no row") + (session->UsesTls() ? "/tls" : "/plain");
  };
  const StrategyConfig floor = Config();
  EXPECT_EQ(ssl_of(std::nullopt, floor), "true/tls");
  EXPECT_EQ(ssl_of(true, floor), "true/tls");
  EXPECT_EQ(ssl_of(false, floor), "true/tls") << "\"ssl\": false does not lower DB_TLS_MODE";
  StrategyConfig allowed = Config();
  allowed.allow_secret_tls_downgrade = true;
  EXPECT_EQ(ssl_of(false, allowed), "false/plain");
  StrategyConfig disable = Config();
  disable.tls_mode = TlsMode::kDisable;
  EXPECT_EQ(ssl_of(std::nullopt, disable), "false/plain");
  EXPECT_EQ(ssl_of(true, disable), "true/tls") << "\"ssl\": true raises disable to verify-full";

  DbCredentials plaintext_current = Credentials(user, password);
  plaintext_current.ssl = false;
  const std::string new_password = Password();
  DbCredentials plaintext_pending = Credentials(user, new_password);
  plaintext_pending.ssl = false;
  ASSERT_TRUE(SingleUser(plaintext_current, plaintext_pending, nullptr, &allowed).ok());
  EXPECT_TRUE(LogsIn(server_, user, new_password));
}

TEST_F(PostgresStrategyTest, TlsModesVerifyAsDocumented) {
  const std::string user = UniqueName("tls_modes");
  const std::string password = Password();
  admin_->CreateRole(user, password);
  auto test_with = [&](TlsMode mode, const std::string& ca, const std::string& host) {
    StrategyConfig config;
    config.tls_mode = mode;
    config.tls_ca_file = ca;
    DbCredentials credentials = Credentials(user, password);
    credentials.host = host;
    return NewPostgresStrategy(RotationKind::kSingleUser, config)->TestSecret(credentials, Soon());
  };
  EXPECT_TRUE(test_with(TlsMode::kVerifyFull, server_.ca, "127.0.0.1").ok());
  EXPECT_TRUE(test_with(TlsMode::kVerifyFull, server_.ca, "localhost").ok());
  EXPECT_TRUE(test_with(TlsMode::kVerifyCa, server_.ca, "127.0.0.1").ok());
  EXPECT_EQ(test_with(TlsMode::kVerifyCa, server_.other_ca, "127.0.0.1").type(),
            "DatabaseTlsError");
  // require encrypts without verifying: any CA setting is ignored.
  EXPECT_TRUE(test_with(TlsMode::kRequire, server_.other_ca, "127.0.0.1").ok());
  // Without DB_TLS_CA_FILE the system bundle is used, which does not hold the
  // test CA.
  EXPECT_EQ(test_with(TlsMode::kVerifyFull, "", "127.0.0.1").type(), "DatabaseTlsError");
}

// ---- Passwords on the wire and in the log ----

TEST_F(PostgresStrategyTest, ServerLogNeverHoldsAPassword) {
  const std::string user = UniqueName("log_single");
  std::string password = Password();
  admin_->CreateRole(user, password);
  for (int i = 0; i < 3; ++i) {
    const std::string next = Password();
    ASSERT_TRUE(SingleUser(Credentials(user, password), Credentials(user, next)).ok());
    password = next;
  }
  const std::string alternating = UniqueName("log_alt");
  std::string alternating_password = Password();
  admin_->CreateRole(alternating, alternating_password);
  const DbCredentials admin = AdminCredentials();
  const std::string clone_password = Password();
  ASSERT_TRUE(Alternating(Credentials(alternating, alternating_password),
                          Credentials(alternating + "_clone", clone_password), &admin)
                  .ok());

  // The log does record the statements (so the check below means something),
  // with a verifier where the password was.
  const std::string log = ReadLog();
  EXPECT_NE(log.find("ALTER ROLE " + admin_->Identifier(user) + " PASSWORD 'SCRAM-SHA-256$"),
            std::string::npos);
  EXPECT_NE(log.find("CREATE ROLE " + admin_->Identifier(alternating + "_clone") +
                     " WITH LOGIN INHERIT PASSWORD 'SCRAM-SHA-256$"),
            std::string::npos);
  // TearDown checks that none of this test's passwords is in the log.
}

TEST_F(PostgresStrategyTest, PasswordEncryptionChoosesTheVerifier) {
  // The test cluster's pg_hba.conf requires scram-sha-256, so an md5
  // verifier is sent (the server log shows it) and then refused at login:
  // the old password must be put back, never left unusable.
  const std::string user = UniqueName("md5");
  const std::string password = Password();
  admin_->CreateRole(user, password);
  StrategyConfig md5 = Config();
  md5.password_encryption = "md5";
  Status refused_md5 =
      SingleUser(Credentials(user, password), Credentials(user, Password()), nullptr, &md5);
  EXPECT_EQ(refused_md5.type(), "DatabaseLoginFailed");
  EXPECT_NE(refused_md5.message().find("PASSWORD_ENCRYPTION is md5"), std::string::npos)
      << refused_md5.message();
  EXPECT_NE(refused_md5.message().find("was put back"), std::string::npos);
  EXPECT_NE(ReadLog().find("PASSWORD 'md5"), std::string::npos) << "an md5 verifier was sent";
  EXPECT_TRUE(LogsIn(server_, user, password)) << "the old password still logs in";
  EXPECT_EQ(admin_->StoredVerifier(user).rfind("SCRAM-SHA-256$", 0), 0u)
      << admin_->StoredVerifier(user);

  const std::string other = UniqueName("scram_forced");
  const std::string other_password = Password();
  admin_->CreateRole(other, other_password);
  StrategyConfig forced = Config();
  forced.password_encryption = "scram-sha-256";
  ASSERT_TRUE(SingleUser(Credentials(other, other_password), Credentials(other, Password()),
                         nullptr, &forced)
                  .ok());
  EXPECT_EQ(admin_->StoredVerifier(other).rfind("SCRAM-SHA-256$", 0), 0u);

  // Default: the server's password_encryption, scram-sha-256.
  const std::string defaulted = UniqueName("default");
  const std::string defaulted_password = Password();
  admin_->CreateRole(defaulted, defaulted_password);
  ASSERT_TRUE(
      SingleUser(Credentials(defaulted, defaulted_password), Credentials(defaulted, Password()))
          .ok());
  EXPECT_EQ(admin_->StoredVerifier(defaulted).rfind("SCRAM-SHA-256$", 0), 0u);

  // Default really means "what the server says": a server (here, the user's
  // own sessions) set to md5 gets an md5 verifier, which this cluster's
  // pg_hba.conf then refuses, so the old password is put back.
  const std::string follower = UniqueName("follows_server");
  const std::string follower_password = Password();
  admin_->CreateRole(follower, follower_password);
  admin_->Query("ALTER ROLE " + admin_->Identifier(follower) + " SET password_encryption = 'md5'");
  const std::string new_password = Password();
  Status follows =
      SingleUser(Credentials(follower, follower_password), Credentials(follower, new_password));
  EXPECT_EQ(follows.type(), "DatabaseLoginFailed") << follows.message();
  EXPECT_TRUE(LogsIn(server_, follower, follower_password));
  EXPECT_FALSE(LogsIn(server_, follower, new_password));

  StrategyConfig unknown = Config();
  unknown.password_encryption = "sha1";
  const std::string current_password = Password();
  const std::string unchanged = UniqueName("unknown_method");
  admin_->CreateRole(unchanged, current_password);
  const std::string verifier = admin_->StoredVerifier(unchanged);
  Status refused = SingleUser(Credentials(unchanged, current_password),
                              Credentials(unchanged, Password()), nullptr, &unknown);
  EXPECT_EQ(refused.type(), "DatabaseError");
  EXPECT_NE(refused.message().find("sha1"), std::string::npos) << refused.message();
  EXPECT_EQ(admin_->StoredVerifier(unchanged), verifier);
}

// ---- Time bounds and unreachable servers ----

TEST_F(PostgresStrategyTest, ConnectionIsBoundedByTheDeadline) {
  // A listener that completes the TCP handshake and then never answers.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);

  DbCredentials silent = Credentials("nobody", "whatever");
  silent.port = ntohs(address.sin_port);
  const auto started = std::chrono::steady_clock::now();
  Status status = NewPostgresStrategy(RotationKind::kSingleUser, Config())
                      ->TestSecret(silent, Deadline::After(milliseconds(700)));
  const auto took = std::chrono::steady_clock::now() - started;
  close(listener);
  EXPECT_EQ(status.type(), "Timeout") << status.message();
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_GE(took, milliseconds(600));

  Status expired =
      NewPostgresStrategy(RotationKind::kSingleUser, Config())
          ->TestSecret(Credentials("nobody", "whatever"), Deadline::After(milliseconds(0)));
  EXPECT_EQ(expired.type(), "Timeout");
}

// libpq is built without GSSAPI (scripts/build-libpq.sh): a server that asks
// for Kerberos authentication is refused by libpq itself. The server's
// pg_hba.conf asks the members of gssapi_users for it
// (tests/servers/postgres.sh); libpq names GSSAPI only when the server has
// asked for it.
TEST_F(PostgresStrategyTest, ServerAskingForGssapiIsRefused) {
  const std::string user = UniqueName("gssapi");
  const std::string password = Password();
  admin_->CreateRole(user, password);
  // The check below can fail: without the membership the password logs in.
  EXPECT_TRUE(Test(Credentials(user, password)).ok());
  if (!admin_->RoleExists("gssapi_users")) admin_->Query("CREATE ROLE gssapi_users NOLOGIN");
  admin_->Query("GRANT gssapi_users TO " + admin_->Identifier(user));

  Status status = Test(Credentials(user, password));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("GSSAPI authentication not supported"), std::string::npos)
      << status.message();
  // The server did ask, and the login went no further. It logs that when it
  // sees the connection closed, which may be just after the client returns.
  const std::string failed = "GSSAPI authentication failed for user \"" + user + "\"";
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ReadLog().find(failed) == std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_NE(ReadLog().find(failed), std::string::npos);
}

TEST_F(PostgresStrategyTest, UnreachableServerIsAConnectionError) {
  DbCredentials nowhere = Credentials("nobody", "whatever");
  nowhere.port = testing::FreeLoopbackPort();  // nothing listens there now
  Status status = Test(nowhere);
  EXPECT_EQ(status.type(), "DatabaseConnectionError") << status.message();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace secret_rotator::strategies
