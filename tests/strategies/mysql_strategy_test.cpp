// The MySQL/MariaDB strategies against the private MariaDB server that
// tests/servers/mariadb.sh starts (SECRET_ROTATOR_MARIADB_DIR/server.env).
// Outcomes are checked with the C client library directly, through
// tests/support/mariadb_server.h (logins, SHOW GRANTS, the server's general
// query log), not with the code under test.
// Every test makes its own users and databases with a random suffix.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/secret.h"
#include "strategies/mysql_session.h"
#include "strategies/mysql_strategy.h"
#include "strategies/registry.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/process.h"

namespace secret_rotator::strategies {
namespace {

// The Status of a SetSecret result (its warnings dropped).
Status StatusOf(const Result<Warnings>& result) {
  return result.ok() ? Status::Ok() : result.status();
}

using std::chrono::seconds;
using testing::ConnectLines;
using testing::MariaDbClient;
using testing::MariaDbServer;
using testing::NormalizedGrants;
using testing::QuoteIdentifier;
using testing::RandomSuffix;
using testing::ShowCreateUser;
using testing::Transport;
using testing::UserExists;

class MySqlStrategyTest : public testing::MariaDbTest {
 protected:
  void TearDown() override {
    if (!admin_ || !admin_->connected()) return;
    for (const std::string& account : made_users_) {
      AdminExec("DROP USER IF EXISTS " + account);
    }
    for (const std::string& database : made_databases_) {
      AdminExec("DROP DATABASE IF EXISTS " + QuoteIdentifier(database));
    }
    for (const std::string& role : made_roles_) {
      AdminExec("DROP ROLE IF EXISTS " + QuoteIdentifier(role));
    }
  }

  // Runs `sql` as the admin; returns true iff the server accepted it, and
  // records a test failure when it did not.
  bool AdminExec(const std::string& sql) {
    if (admin_->Exec(sql)) return true;
    ADD_FAILURE() << "admin statement failed: " << admin_->error() << "\n" << sql;
    return false;
  }

  // The first column of every row of `sql` run as the admin; none, with a
  // test failure, when the query failed.
  std::vector<std::string> AdminColumn(const std::string& sql) {
    std::optional<std::vector<std::string>> values = admin_->Column(sql);
    if (values) return *values;
    ADD_FAILURE() << "admin query failed: " << admin_->error() << "\n" << sql;
    return {};
  }

  // A server status counter, or -1 when there is none.
  long GlobalStatus(const std::string& name) {
    std::vector<std::string> rows = AdminColumn(
        "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = " +
        admin_->Quote(name));
    return rows.empty() ? -1 : std::atol(rows[0].c_str());
  }

  // A user name no other test uses: `base` + "_" + random hex.
  static std::string Unique(const std::string& base) { return base + "_" + RandomSuffix(); }

  // Creates user@host with `password` and `extra` ("REQUIRE SSL"); the user
  // and its _clone are dropped after the test.
  void CreateUser(const std::string& user, const std::string& password,
                  const std::string& extra = "", const std::string& host = "%") {
    ASSERT_TRUE(AdminExec("CREATE USER " + admin_->Account(user, host) + " IDENTIFIED BY " +
                          admin_->Quote(password) + " " + extra));
    made_users_.push_back(admin_->Account(user, host));
    made_users_.push_back(admin_->Account(user + "_clone", host));
  }

  void CreateDatabase(const std::string& name) {
    ASSERT_TRUE(AdminExec("CREATE DATABASE " + QuoteIdentifier(name)));
    made_databases_.push_back(name);
  }

  void CreateRole(const std::string& name) {
    ASSERT_TRUE(AdminExec("CREATE ROLE " + QuoteIdentifier(name)));
    made_roles_.push_back(name);
  }

  DbCredentials Credentials(const std::string& user, const std::string& password,
                            std::optional<bool> ssl = std::nullopt) const {
    DbCredentials credentials;
    credentials.engine = "mariadb";
    credentials.host = server_.host;
    credentials.port = server_.port;
    credentials.username = user;
    credentials.password = Secret(password);
    credentials.ssl = ssl;
    return credentials;
  }

  DbCredentials AdminCredentials() const {
    return Credentials(server_.admin_user, server_.admin_password);
  }

  // verify-full against the test CA.
  StrategyConfig Config(TlsMode mode = TlsMode::kVerifyFull) const {
    StrategyConfig config;
    config.tls_mode = mode;
    config.tls_ca_file = server_.ca;
    return config;
  }

  static Deadline Soon() { return Deadline::After(seconds(30)); }

  // Returns "" if user/password logs in (TLS, verified), else the error.
  std::string LoginError(const std::string& user, const std::string& password,
                         Transport transport = Transport::kTlsVerified) const {
    return testing::LoginError(server_, user, password, transport);
  }
  bool LogsIn(const std::string& user, const std::string& password,
              Transport transport = Transport::kTlsVerified) const {
    return LoginError(user, password, transport).empty();
  }

  Status SingleUser(const DbCredentials& current, const DbCredentials& pending,
                    const DbCredentials* previous = nullptr,
                    const StrategyConfig* config = nullptr) const {
    std::unique_ptr<Strategy> strategy =
        NewMySqlStrategy(RotationKind::kSingleUser, config ? *config : Config());
    return StatusOf(strategy->SetSecret({current, pending, previous, nullptr}, Soon()));
  }

  // `previous` is AWSPREVIOUS, as the handler passes it.
  Status Alternating(const DbCredentials& current, const DbCredentials& pending,
                     const DbCredentials* previous = nullptr) const {
    const DbCredentials admin = AdminCredentials();
    std::unique_ptr<Strategy> strategy =
        NewMySqlStrategy(RotationKind::kAlternatingUsers, Config());
    return StatusOf(strategy->SetSecret({current, pending, previous, &admin}, Soon()));
  }

  Status Test(const DbCredentials& pending, const StrategyConfig& config) const {
    return NewMySqlStrategy(RotationKind::kSingleUser, config)->TestSecret(pending, Soon());
  }

  std::vector<std::string> made_users_;
  std::vector<std::string> made_databases_;
  std::vector<std::string> made_roles_;
};

// --- single user -----------------------------------------------------------

TEST_F(MySqlStrategyTest, SingleUserChangesPasswordOldRefusedNewAccepted) {
  const std::string user = Unique("single");
  CreateUser(user, "old-password-1");

  Status set = SingleUser(Credentials(user, "old-password-1"), Credentials(user, "new-password-2"));

  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  EXPECT_TRUE(LogsIn(user, "new-password-2"));
  EXPECT_NE(LoginError(user, "old-password-1").find("Access denied"), std::string::npos);
  EXPECT_TRUE(Test(Credentials(user, "new-password-2"), Config()).ok());
}

TEST_F(MySqlStrategyTest, SingleUserRerunAfterSuccessChangesNothing) {
  const std::string user = Unique("rerun");
  CreateUser(user, "old-password-1");
  const DbCredentials current = Credentials(user, "old-password-1");
  const DbCredentials pending = Credentials(user, "new-password-2");
  ASSERT_TRUE(SingleUser(current, pending).ok());
  const std::string after_first = ShowCreateUser(*admin_, user);

  Status again = SingleUser(current, pending);

  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(ShowCreateUser(*admin_, user), after_first);  // same password hash
  EXPECT_TRUE(LogsIn(user, "new-password-2"));
}

TEST_F(MySqlStrategyTest, SingleUserSucceedsWhenPendingAlreadyWorks) {
  const std::string user = Unique("pendok");
  CreateUser(user, "pending-password");  // a crash after setSecret changed it
  const std::string before = ShowCreateUser(*admin_, user);

  Status set = SingleUser(Credentials(user, "current-password-no-longer-valid"),
                          Credentials(user, "pending-password"));

  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_EQ(ShowCreateUser(*admin_, user), before);
}

TEST_F(MySqlStrategyTest, SingleUserRecoversWithPreviousPassword) {
  const std::string user = Unique("prev");
  CreateUser(user, "previous-password");
  const DbCredentials previous = Credentials(user, "previous-password");

  Status set = SingleUser(Credentials(user, "current-password-never-set"),
                          Credentials(user, "pending-password"), &previous);

  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_TRUE(LogsIn(user, "pending-password"));
  EXPECT_FALSE(LogsIn(user, "previous-password"));
}

TEST_F(MySqlStrategyTest, SingleUserNothingLogsInFailsWithoutShowingPasswords) {
  const std::string user = Unique("nologin");
  CreateUser(user, "the-real-password");
  const DbCredentials previous = Credentials(user, "Previous-Secret-777");

  Status set = SingleUser(Credentials(user, "Current-Secret-555"),
                          Credentials(user, "Pending-Secret-666"), &previous);

  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.type(), "DatabaseLoginFailed");
  EXPECT_NE(set.message().find(user), std::string::npos) << set.message();
  for (const char* password :
       {"Current-Secret-555", "Pending-Secret-666", "Previous-Secret-777", "the-real-password"}) {
    EXPECT_EQ(set.message().find(password), std::string::npos) << set.message();
  }
  EXPECT_TRUE(LogsIn(user, "the-real-password"));
}

TEST_F(MySqlStrategyTest, SingleUserChangesTheAccountTheServerMatched) {
  // 'u'@'127.0.0.1' matches a login from 127.0.0.1 before 'u'@'%'.
  const std::string user = Unique("hostpart");
  CreateUser(user, "wildcard-password", "", "%");
  CreateUser(user, "loopback-password", "", "127.0.0.1");
  const std::string wildcard_before = ShowCreateUser(*admin_, user, "%");

  Status set =
      SingleUser(Credentials(user, "loopback-password"), Credentials(user, "new-password"));

  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_TRUE(LogsIn(user, "new-password"));
  EXPECT_EQ(ShowCreateUser(*admin_, user, "%"), wildcard_before);
}

TEST_F(MySqlStrategyTest, SingleUserRefusesAnAnonymousAccountMatch) {
  // A user without an account of its own logs in through an anonymous
  // ''@'%' account; rotating would change the anonymous account. (''@'%'
  // never takes a login from a user that has an account of its own, so
  // tests running at the same time are not affected.)
  const std::string ghost = Unique("ghost");
  const std::string anonymous_password = "anonymous-" + RandomSuffix();
  std::vector<std::string> existing =
      AdminColumn("SELECT COUNT(*) FROM mysql.user WHERE User = '' AND Host = '%'");
  if (existing.empty() || existing[0] != "0") GTEST_SKIP() << "an anonymous user exists";
  ASSERT_TRUE(AdminExec("CREATE USER ''@'%' IDENTIFIED BY " + admin_->Quote(anonymous_password)));
  const std::string before = ShowCreateUser(*admin_, "");
  const Status set =
      SingleUser(Credentials(ghost, anonymous_password), Credentials(ghost, "new-password"));
  const std::string after = ShowCreateUser(*admin_, "");
  AdminExec("DROP USER ''@'%'");

  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.type(), "AccountMismatch") << set.message();
  EXPECT_EQ(after, before);
}

// --- alternating users -----------------------------------------------------

class MySqlAlternatingTest : public MySqlStrategyTest {
 protected:
  // A user REQUIRE SSL with privileges on two databases (one named like the
  // user), a column privilege and a default role.
  void CreateRichUser(const std::string& user, const std::string& password) {
    db1_ = Unique("db1");
    role_ = Unique("role");
    CreateDatabase(db1_);
    CreateDatabase(user);
    CreateRole(role_);
    ASSERT_TRUE(AdminExec("CREATE TABLE " + QuoteIdentifier(db1_) + ".t (x INT, y INT)"));
    CreateUser(user, password, "REQUIRE SSL");
    const std::string account = admin_->Account(user);
    ASSERT_TRUE(AdminExec("GRANT SELECT, INSERT ON " + QuoteIdentifier(db1_) + ".* TO " + account));
    ASSERT_TRUE(AdminExec("GRANT ALL PRIVILEGES ON " + QuoteIdentifier(user) + ".* TO " + account));
    ASSERT_TRUE(AdminExec("GRANT UPDATE (y) ON " + QuoteIdentifier(db1_) + ".t TO " + account));
    ASSERT_TRUE(
        AdminExec("GRANT SELECT ON " + QuoteIdentifier(db1_) + ".* TO " + QuoteIdentifier(role_)));
    ASSERT_TRUE(AdminExec("GRANT " + QuoteIdentifier(role_) + " TO " + account));
    ASSERT_TRUE(AdminExec("SET DEFAULT ROLE " + QuoteIdentifier(role_) + " FOR " + account));
  }

  void ExpectSameAccount(const std::string& user, const std::string& clone) {
    EXPECT_EQ(NormalizedGrants(*admin_, clone), NormalizedGrants(*admin_, user));
    const std::string user_create = ShowCreateUser(*admin_, user);
    const std::string clone_create = ShowCreateUser(*admin_, clone);
    EXPECT_EQ(user_create.find("REQUIRE SSL") != std::string::npos,
              clone_create.find("REQUIRE SSL") != std::string::npos)
        << user_create << "\n"
        << clone_create;
  }

  std::string db1_;
  std::string role_;
};

TEST_F(MySqlAlternatingTest, CreatesCloneWithSameGrantsAndRequireSsl) {
  const std::string user = Unique("alt");
  const std::string clone = user + "_clone";
  CreateRichUser(user, "password-0");
  ASSERT_FALSE(HasFailure());

  Status set = Alternating(Credentials(user, "password-0"), Credentials(clone, "password-1"));

  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  ASSERT_TRUE(UserExists(*admin_, clone));
  ExpectSameAccount(user, clone);
  EXPECT_NE(ShowCreateUser(*admin_, clone).find("REQUIRE SSL"), std::string::npos);
  std::vector<std::string> grants = NormalizedGrants(*admin_, clone);
  EXPECT_EQ(grants.size(), 6U) << ::testing::PrintToString(grants);
  EXPECT_TRUE(LogsIn(clone, "password-1"));
  EXPECT_FALSE(LogsIn(clone, "password-1", Transport::kPlaintext));  // REQUIRE SSL holds
  EXPECT_TRUE(LogsIn(user, "password-0"));
  EXPECT_TRUE(Test(Credentials(clone, "password-1"), Config()).ok());
}

TEST_F(MySqlAlternatingTest, RotatesTwiceBackToTheOriginalUser) {
  const std::string user = Unique("twice");
  const std::string clone = user + "_clone";
  CreateRichUser(user, "password-0");
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(Alternating(Credentials(user, "password-0"), Credentials(clone, "password-1")).ok());

  const DbCredentials previous = Credentials(user, "password-0");
  Status set =
      Alternating(Credentials(clone, "password-1"), Credentials(user, "password-2"), &previous);

  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  EXPECT_TRUE(LogsIn(user, "password-2"));
  EXPECT_FALSE(LogsIn(user, "password-0"));
  EXPECT_TRUE(LogsIn(clone, "password-1"));  // AWSPREVIOUS keeps working
  ExpectSameAccount(user, clone);
  // The grants were equal, so the original user never lost them.
  const std::string revoke_all = "GRANT OPTION FROM '" + user + "'@";
  EXPECT_EQ(testing::ReadFile(server_.general_log).find(revoke_all), std::string::npos);
}

TEST_F(MySqlAlternatingTest, RerunAfterSuccessIsHarmless) {
  const std::string user = Unique("altrerun");
  const std::string clone = user + "_clone";
  CreateRichUser(user, "password-0");
  ASSERT_FALSE(HasFailure());
  const DbCredentials current = Credentials(user, "password-0");
  const DbCredentials pending = Credentials(clone, "password-1");
  ASSERT_TRUE(Alternating(current, pending).ok());
  const std::string clone_after_first = ShowCreateUser(*admin_, clone);

  Status again = Alternating(current, pending);

  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(ShowCreateUser(*admin_, clone), clone_after_first);
  ExpectSameAccount(user, clone);
  EXPECT_TRUE(LogsIn(clone, "password-1"));
  const std::string revoke_all = "GRANT OPTION FROM '" + clone + "'@";
  const std::string log = testing::ReadFile(server_.general_log);
  const std::size_t first = log.find(revoke_all);
  ASSERT_NE(first, std::string::npos);                                   // the first run
  EXPECT_EQ(log.find(revoke_all, first + 1), std::string::npos) << log;  // not the second
}

TEST_F(MySqlAlternatingTest, MakesChangedGrantsEqualOnTheNextRotation) {
  const std::string user = Unique("sync");
  const std::string clone = user + "_clone";
  CreateRichUser(user, "password-0");
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(Alternating(Credentials(user, "password-0"), Credentials(clone, "password-1")).ok());
  const std::string account = admin_->Account(user);
  ASSERT_TRUE(AdminExec("REVOKE INSERT ON " + QuoteIdentifier(db1_) + ".* FROM " + account));
  ASSERT_TRUE(AdminExec("GRANT DELETE ON " + QuoteIdentifier(db1_) + ".* TO " + account));
  ASSERT_TRUE(AdminExec("REVOKE " + QuoteIdentifier(role_) + " FROM " + account));
  ASSERT_TRUE(AdminExec("ALTER USER " + account + " REQUIRE NONE"));

  // AWSPREVIOUS is the clone's version of the rotation before.
  const DbCredentials previous = Credentials(clone, "password-1");
  Status set =
      Alternating(Credentials(user, "password-0"), Credentials(clone, "password-3"), &previous);

  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  // MariaDB keeps the revoked role as the user's default role; that dangling
  // setting cannot be copied (SET DEFAULT ROLE needs the role granted).
  std::vector<std::string> expected = NormalizedGrants(*admin_, user);
  const std::string dangling = "SET DEFAULT ROLE " + QuoteIdentifier(role_) + " FOR @@";
  ASSERT_NE(std::find(expected.begin(), expected.end(), dangling), expected.end());
  expected.erase(std::find(expected.begin(), expected.end(), dangling));
  EXPECT_EQ(NormalizedGrants(*admin_, clone), expected);
  EXPECT_EQ(ShowCreateUser(*admin_, clone).find("REQUIRE"), std::string::npos);
  EXPECT_TRUE(LogsIn(clone, "password-3", Transport::kPlaintext));
}

TEST_F(MySqlAlternatingTest, RefusesWhenCurrentDoesNotLogIn) {
  const std::string user = Unique("forged");
  CreateUser(user, "real-password");

  Status set = Alternating(Credentials(user, "Forged-Password-1"),
                           Credentials(user + "_clone", "Pending-Password-2"));

  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.type(), "DatabaseLoginFailed");
  EXPECT_NE(set.message().find("refusing"), std::string::npos) << set.message();
  EXPECT_EQ(set.message().find("Forged-Password-1"), std::string::npos);
  EXPECT_EQ(set.message().find("Pending-Password-2"), std::string::npos);
  EXPECT_FALSE(UserExists(*admin_, user + "_clone"));
}

TEST_F(MySqlAlternatingTest, RefusesTooLongUserNameBeforeChangingAnything) {
  // 80 characters is MariaDB's limit: the user fits, its clone does not.
  const std::string user = Unique(std::string(66, 'l'));  // 66 + 1 + 8 = 75
  ASSERT_EQ(user.size(), 75U);
  CreateUser(user, "password-0");

  Status set = Alternating(Credentials(user, "password-0"), Credentials(user + "_clone", "pw-1"));

  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.type(), "InvalidSecret");
  EXPECT_NE(set.message().find("81"), std::string::npos) << set.message();
  EXPECT_NE(set.message().find("80"), std::string::npos) << set.message();
  EXPECT_FALSE(UserExists(*admin_, user + "_clone"));
}

TEST_F(MySqlAlternatingTest, NeedsAdminCredentials) {
  const DbCredentials current = Credentials("a", "b");
  const DbCredentials pending = Credentials("a_clone", "c");
  Status set = StatusOf(NewMySqlStrategy(RotationKind::kAlternatingUsers, Config())
                            ->SetSecret({current, pending, nullptr, nullptr}, Soon()));
  EXPECT_EQ(set.type(), "InvalidSecret");
}

// --- hostile names ---------------------------------------------------------

constexpr const char* kHostileNames[] = {
    "o'brien",     "dq\"user",     "back`tick",    "back\\slash", "pct%user", "under_score",
    "\xC3\xBCser",  // üser
    "sp ace",      "semi;colon--", "x' OR '1'='1",
};
constexpr char kHostilePassword[] = "p'w\"d`\\%_\xC3\xBC ;-- x') OR ('1'='1";

std::string Describe(const Status& status) { return status.type() + ": " + status.message(); }

// Works, or a clear refusal that is not an SQL syntax error.
void ExpectWorksOrClearRefusal(const Status& status) {
  if (status.ok()) return;
  EXPECT_NE(status.type(), "DatabaseError") << Describe(status);
  EXPECT_EQ(status.message().find("syntax"), std::string::npos) << Describe(status);
  EXPECT_EQ(status.message().find("1064"), std::string::npos) << Describe(status);
  EXPECT_EQ(status.message().find(kHostilePassword), std::string::npos) << Describe(status);
}

TEST_F(MySqlStrategyTest, SingleUserWithHostileNamesAndPasswords) {
  for (const char* base : kHostileNames) {
    SCOPED_TRACE(base);
    const std::string user = Unique(base);
    CreateUser(user, kHostilePassword);
    const std::string next = std::string(kHostilePassword) + "\xE2\x82\xAC'";

    Status set = SingleUser(Credentials(user, kHostilePassword), Credentials(user, next));

    EXPECT_TRUE(set.ok()) << Describe(set);
    ExpectWorksOrClearRefusal(set);
    if (set.ok()) {
      EXPECT_TRUE(LogsIn(user, next));
      EXPECT_FALSE(LogsIn(user, kHostilePassword));
    }
  }
}

TEST_F(MySqlStrategyTest, AlternatingWithHostileNamesAndPasswords) {
  const std::string database = Unique("d`b'\" x");
  CreateDatabase(database);
  for (const char* base : kHostileNames) {
    SCOPED_TRACE(base);
    const std::string user = Unique(base);
    const std::string clone = user + "_clone";
    CreateUser(user, kHostilePassword);
    ASSERT_TRUE(AdminExec("GRANT SELECT ON " + QuoteIdentifier(database) + ".* TO " +
                          admin_->Account(user)));

    Status set = Alternating(Credentials(user, kHostilePassword), Credentials(clone, "p2'\\\""));

    EXPECT_TRUE(set.ok()) << Describe(set);
    ExpectWorksOrClearRefusal(set);
    if (set.ok()) {
      EXPECT_TRUE(LogsIn(clone, "p2'\\\""));
      EXPECT_EQ(NormalizedGrants(*admin_, clone), NormalizedGrants(*admin_, user));
    }
  }
}

TEST_F(MySqlStrategyTest, EscapingFollowsNoBackslashEscapes) {
  const std::string user = Unique("nobs");
  CreateUser(user, "password");
  Result<mysql::Session> session =
      mysql::Session::Connect(Credentials(user, "password"), Config(), Soon(), "test");
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (const char* mode : {"''", "'NO_BACKSLASH_ESCAPES'", "'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'"}) {
    ASSERT_TRUE(session->Execute(std::string("SET SESSION sql_mode = ") + mode, "mode").ok());
    const std::string hostile = kHostilePassword;
    Result<std::string> quoted = session->Quote(hostile);
    ASSERT_TRUE(quoted.ok());
    Result<std::vector<mysql::Session::Row>> rows =
        session->Query("SELECT " + *quoted, "selecting the literal");
    ASSERT_TRUE(rows.ok()) << mode << ": " << rows.status().message();
    ASSERT_EQ(rows->size(), 1U);
    EXPECT_EQ((*rows)[0][0].value_or(""), hostile) << mode;
  }
}

TEST_F(MySqlStrategyTest, FailedPasswordStatementDoesNotEchoThePassword) {
  const std::string user = Unique("echo");
  CreateUser(user, "password");
  Result<mysql::Session> session =
      mysql::Session::Connect(Credentials(user, "password"), Config(), Soon(), "test");
  ASSERT_TRUE(session.ok()) << session.status().message();
  const Secret password(std::string("Echo-Me-Not-4711"));
  // A syntax error: the server's message quotes the statement from there on.
  Status failed = session->ExecuteSecret(Secret(std::string("SELECT 'Echo-Me-Not-4711' FROM")),
                                         "running a broken statement", password);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.type(), "DatabaseError");
  EXPECT_EQ(failed.message().find("Echo-Me"), std::string::npos) << failed.message();
  EXPECT_NE(failed.message().find("1064"), std::string::npos) << failed.message();
  // Any other failure keeps the server's message unless it quotes the password.
  failed = session->ExecuteSecret(Secret(std::string("SELECT * FROM no_such_db.t")),
                                  "reading a missing table", password);
  EXPECT_NE(failed.message().find("no_such_db"), std::string::npos) << failed.message();
  failed = session->ExecuteSecret(Secret(std::string("SELECT * FROM `x-Echo-Me-Not-4711-y`.t")),
                                  "reading", password);
  EXPECT_EQ(failed.message().find("Echo-Me"), std::string::npos) << failed.message();
}

// --- TLS -------------------------------------------------------------------

TEST_F(MySqlStrategyTest, WrongCaIsATlsErrorWithNoPlaintextAttempt) {
  const std::string user = Unique("wrongca");
  CreateUser(user, "right-password");  // REQUIRE NONE: plaintext would work
  StrategyConfig config = Config();
  config.tls_ca_file = server_.other_ca;
  const long connections_before = GlobalStatus("Connections");

  Status tested = Test(Credentials(user, "right-password"), config);

  ASSERT_FALSE(tested.ok());
  EXPECT_EQ(tested.type(), "DatabaseTlsError");
  EXPECT_NE(tested.message().find("DB_TLS_CA_FILE"), std::string::npos) << tested.message();
  EXPECT_NE(tested.message().find("DB_TLS_MODE"), std::string::npos) << tested.message();
  EXPECT_NE(tested.message().find("No credential and no statement was sent without TLS"),
            std::string::npos)
      << tested.message();
  EXPECT_EQ(tested.message().find("right-password"), std::string::npos);
  // One TCP connection reached the server and none of them logged in.
  EXPECT_GE(GlobalStatus("Connections") - connections_before, 1);
  EXPECT_TRUE(ConnectLines(server_, user).empty())
      << ::testing::PrintToString(ConnectLines(server_, user));
  // Control: a plaintext login by the same user does show in the log.
  ASSERT_TRUE(Test(Credentials(user, "right-password"), Config(TlsMode::kDisable)).ok());
  std::vector<std::string> lines = ConnectLines(server_, user);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find("using TCP/IP"), std::string::npos) << lines[0];
}

TEST_F(MySqlStrategyTest, SystemStoreDoesNotTrustTheTestCa) {
  const std::string user = Unique("sysca");
  CreateUser(user, "password");
  StrategyConfig config;  // verify-full, no DB_TLS_CA_FILE
  Status tested = Test(Credentials(user, "password"), config);
  ASSERT_FALSE(tested.ok());
  EXPECT_EQ(tested.type(), "DatabaseTlsError");
  EXPECT_NE(tested.message().find("system CA store"), std::string::npos) << tested.message();
  EXPECT_TRUE(ConnectLines(server_, user).empty());
}

std::string Cipher(const DbCredentials& credentials, const StrategyConfig& config,
                   std::string* status_cipher) {
  Result<mysql::Session> session =
      mysql::Session::Connect(credentials, config, Deadline::After(seconds(30)), "test");
  if (!session.ok()) return "error: " + session.status().message();
  Result<std::vector<mysql::Session::Row>> rows =
      session->Query("SHOW STATUS LIKE 'Ssl_cipher'", "reading Ssl_cipher");
  if (rows.ok() && rows->size() == 1) *status_cipher = (*rows)[0][1].value_or("");
  return session->cipher();
}

// DB_TLS_MODE is a floor: a secret's "ssl": false lowers it only when the
// operator allows it (DB_TLS_ALLOW_SECRET_DOWNGRADE).
TEST_F(MySqlStrategyTest, SslFalseConnectsInPlaintextOnlyWhenTheOperatorAllowsIt) {
  const std::string user = Unique("plain");
  CreateUser(user, "password");
  for (TlsMode mode : {TlsMode::kVerifyFull, TlsMode::kVerifyCa, TlsMode::kRequire}) {
    std::string server_cipher = "unset";
    EXPECT_NE(Cipher(Credentials(user, "password", false), Config(mode), &server_cipher), "")
        << TlsModeName(mode);
    EXPECT_NE(server_cipher, "") << TlsModeName(mode);
  }
  StrategyConfig allowed = Config();
  allowed.allow_secret_tls_downgrade = true;
  std::string server_cipher = "unset";
  EXPECT_EQ(Cipher(Credentials(user, "password", false), allowed, &server_cipher), "");
  EXPECT_EQ(server_cipher, "");
  // A REQUIRE SSL user is refused in plaintext: proof that no TLS was used.
  const std::string secure = Unique("plainreq");
  CreateUser(secure, "password", "REQUIRE SSL");
  Status tested = Test(Credentials(secure, "password", false), allowed);
  EXPECT_EQ(tested.type(), "DatabaseLoginFailed") << tested.message();
  EXPECT_TRUE(Test(Credentials(secure, "password", false), Config()).ok());
}

TEST_F(MySqlStrategyTest, DefaultAndSslTrueUseTls) {
  const std::string user = Unique("tls");
  CreateUser(user, "password", "REQUIRE SSL");
  for (std::optional<bool> ssl : {std::optional<bool>(), std::optional<bool>(true)}) {
    std::string server_cipher;
    const std::string cipher = Cipher(Credentials(user, "password", ssl), Config(), &server_cipher);
    EXPECT_FALSE(cipher.empty());
    EXPECT_EQ(cipher.rfind("error", 0), std::string::npos) << cipher;
    EXPECT_EQ(server_cipher, cipher);
  }
  // DB_TLS_MODE=disable: plaintext unless the secret says "ssl": true.
  const std::string plain = Unique("tlsdis");
  CreateUser(plain, "password");
  std::string server_cipher = "unset";
  EXPECT_EQ(Cipher(Credentials(plain, "password"), Config(TlsMode::kDisable), &server_cipher), "");
  EXPECT_EQ(server_cipher, "");
  EXPECT_NE(Cipher(Credentials(plain, "password", true), Config(TlsMode::kDisable), &server_cipher),
            "");
  EXPECT_NE(server_cipher, "");
}

TEST_F(MySqlStrategyTest, VerifyFullChecksTheHostNameAndVerifyCaDoesNot) {
  // "127.1" reaches 127.0.0.1, but the certificate names only 127.0.0.1 and
  // localhost.
  const std::string user = Unique("hostname");
  CreateUser(user, "password");
  DbCredentials by_other_name = Credentials(user, "password");
  by_other_name.host = "127.1";
  DbCredentials by_localhost = Credentials(user, "password");
  by_localhost.host = "localhost";

  Status full = Test(by_other_name, Config(TlsMode::kVerifyFull));
  EXPECT_EQ(full.type(), "DatabaseTlsError") << full.message();
  EXPECT_TRUE(Test(by_other_name, Config(TlsMode::kVerifyCa)).ok());
  EXPECT_TRUE(Test(by_localhost, Config(TlsMode::kVerifyFull)).ok());
  EXPECT_TRUE(Test(Credentials(user, "password"), Config(TlsMode::kVerifyFull)).ok());

  // verify-ca still checks the chain; require checks nothing.
  StrategyConfig other_ca = Config(TlsMode::kVerifyCa);
  other_ca.tls_ca_file = server_.other_ca;
  EXPECT_EQ(Test(by_other_name, other_ca).type(), "DatabaseTlsError");
  other_ca.tls_mode = TlsMode::kRequire;
  EXPECT_TRUE(Test(by_other_name, other_ca).ok());
  std::string server_cipher;
  EXPECT_NE(Cipher(by_other_name, other_ca, &server_cipher), "");
}

TEST_F(MySqlStrategyTest, MissingCaFileIsATlsError) {
  StrategyConfig config = Config();
  config.tls_ca_file = "/nonexistent/ca.pem";
  Status tested = Test(Credentials("nobody", "password"), config);
  EXPECT_EQ(tested.type(), "DatabaseTlsError");
  EXPECT_NE(tested.message().find("/nonexistent/ca.pem"), std::string::npos);
}

// --- connection failures ---------------------------------------------------

TEST_F(MySqlStrategyTest, RefusedConnectionIsAConnectionError) {
  DbCredentials credentials = Credentials("nobody", "password");
  credentials.port = testing::FreeLoopbackPort();
  Status tested = Test(credentials, Config());
  EXPECT_EQ(tested.type(), "DatabaseConnectionError") << tested.message();
}

TEST_F(MySqlStrategyTest, ExpiredDeadlineDoesNotConnect) {
  const std::string user = Unique("late");
  CreateUser(user, "password");
  Status tested = NewMySqlStrategy(RotationKind::kSingleUser, Config())
                      ->TestSecret(Credentials(user, "password"),
                                   Deadline::After(std::chrono::milliseconds(0)));
  EXPECT_EQ(tested.type(), "Timeout");
  EXPECT_EQ(tested.code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(ConnectLines(server_, user).empty());
}

TEST_F(MySqlStrategyTest, RejectsNulInUserNameAndPassword) {
  EXPECT_EQ(Test(Credentials(std::string("a\0b", 3), "password"), Config()).type(),
            "InvalidSecret");
  EXPECT_EQ(Test(Credentials("a", std::string("p\0w", 3)), Config()).type(), "InvalidSecret");
}

}  // namespace
}  // namespace secret_rotator::strategies
