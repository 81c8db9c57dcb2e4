// The PostgreSQL strategies against a real PostgreSQL 15 cluster started by
// tests/servers/postgres.sh (CTest fixture "postgres"; its folder comes in
// SECRET_ROTATOR_POSTGRES_DIR). The tests check the database with libpq
// directly, as the cluster's superuser, not through the code under test.
// Every test uses role names of its own, so the tests can run in parallel.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "strategies/postgres_session.h"
#include "strategies/postgres_strategy.h"

namespace secret_rotator::strategies {
namespace {

using postgres::PostgresSession;
using std::chrono::milliseconds;

Deadline Soon() { return Deadline::After(milliseconds(30000)); }

// ---- The server, as tests/servers/postgres.sh describes it in server.env ----

struct Server {
  std::string host;
  int port = 0;
  std::string admin_user;
  std::string admin_password;
  std::string ca;
  std::string other_ca;
  std::string log;
};

// The server's settings, or nullopt (with the reason in `error`).
std::optional<Server> LoadServer(std::string& error) {
  const char* dir = std::getenv("SECRET_ROTATOR_POSTGRES_DIR");
  if (dir == nullptr || *dir == '\0') {
    error =
        "SECRET_ROTATOR_POSTGRES_DIR is not set: run these tests through ctest (fixture "
        "servers.postgres.start) or start tests/servers/postgres.sh yourself";
    return std::nullopt;
  }
  std::ifstream file(std::string(dir) + "/server.env");
  if (!file) {
    error = std::string("cannot read ") + dir + "/server.env: is the server started?";
    return std::nullopt;
  }
  std::map<std::string, std::string> values;
  for (std::string line; std::getline(file, line);) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) values[line.substr(0, equals)] = line.substr(equals + 1);
  }
  Server server;
  server.host = values["PG_HOST"];
  server.port = std::atoi(values["PG_PORT"].c_str());
  server.admin_user = values["PG_ADMIN_USER"];
  server.admin_password = values["PG_ADMIN_PASSWORD"];
  server.ca = values["PG_CA"];
  server.other_ca = values["PG_OTHER_CA"];
  server.log = values["PG_LOG"];
  if (server.host.empty() || server.port == 0 || server.admin_user.empty() || server.log.empty()) {
    error = std::string(dir) + "/server.env lacks PG_HOST, PG_PORT, PG_ADMIN_USER or PG_LOG";
    return std::nullopt;
  }
  return server;
}

// ---- Direct libpq access for the checks ----

struct PgFinish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using Conn = std::unique_ptr<PGconn, PgFinish>;
struct PgClear {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgClear>;

std::string RandomHex(std::size_t length) {
  static std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < length; ++i) text += kDigits[generator() % 16];
  return text;
}

// A password that is hard to quote: quotes, backslashes, dollar quoting,
// non-ASCII; the random part makes it unique so the server log can be
// searched for it.
struct TestPassword {
  std::string unique;  // searched for in the log, whatever escaping it got
  std::string text;
};
TestPassword NewPassword() {
  const std::string unique = "Pw" + RandomHex(20);
  return {unique, "a'b\"c\\d$$e;--" + unique + "\xC3\xA9\xE2\x82\xAC"};  // é €
}

class PostgresStrategyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    std::optional<Server> server = LoadServer(error);
    ASSERT_TRUE(server.has_value()) << error;
    server_ = *server;
    admin_ = Connect(server_.admin_user, server_.admin_password);
    ASSERT_EQ(PQstatus(admin_.get()), CONNECTION_OK) << PQerrorMessage(admin_.get());
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

  std::string ReadLog() const {
    std::ifstream file(server_.log, std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

  // A unique role name starting with `prefix`.
  static std::string Name(const std::string& prefix) { return prefix + "_" + RandomHex(8); }

  std::string Password() {
    passwords_.push_back(NewPassword());
    return passwords_.back().text;
  }

  Conn Connect(const std::string& user, const std::string& password,
               const std::string& sslmode = "verify-full") const {
    const std::string port = std::to_string(server_.port);
    const char* keywords[] = {"host",        "port",
                              "user",        "password",
                              "dbname",      "sslmode",
                              "sslrootcert", "connect_timeout",
                              "gssencmode",  "client_encoding",
                              nullptr};
    const char* values[] = {server_.host.c_str(),
                            port.c_str(),
                            user.c_str(),
                            password.c_str(),
                            "postgres",
                            sslmode.c_str(),
                            server_.ca.c_str(),
                            "5",
                            "disable",
                            "UTF8",
                            nullptr};
    return Conn(PQconnectdbParams(keywords, values, 0));
  }

  // Returns true iff `user` logs in with `password` (over verified TLS).
  bool LogsIn(const std::string& user, const std::string& password) const {
    Conn conn = Connect(user, password);
    return PQstatus(conn.get()) == CONNECTION_OK;
  }

  // Runs `sql` on `conn` with text parameters; returns the first value of
  // the first row ("" when none). Records a failure on error.
  static std::string Run(PGconn* conn, const std::string& sql,
                         const std::vector<std::string>& parameters = {}) {
    std::vector<const char*> values;
    values.reserve(parameters.size());
    for (const std::string& parameter : parameters) values.push_back(parameter.c_str());
    PgResult result(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(result.get());
      return "";
    }
    if (status == PGRES_TUPLES_OK && PQntuples(result.get()) > 0) {
      return PQgetvalue(result.get(), 0, 0);
    }
    return "";
  }
  std::string Admin(const std::string& sql, const std::vector<std::string>& parameters = {}) {
    return Run(admin_.get(), sql, parameters);
  }

  std::string Ident(const std::string& name) {
    char* quoted = PQescapeIdentifier(admin_.get(), name.data(), name.size());
    std::string text = quoted;
    PQfreemem(quoted);
    return text;
  }

  // Creates a login role; the password goes to the server as a SCRAM
  // verifier so that the log stays free of it.
  void CreateRole(const std::string& name, const std::string& password) {
    char* verifier =
        PQencryptPasswordConn(admin_.get(), password.c_str(), name.c_str(), "scram-sha-256");
    ASSERT_NE(verifier, nullptr) << PQerrorMessage(admin_.get());
    char* literal = PQescapeLiteral(admin_.get(), verifier, std::strlen(verifier));
    Admin("CREATE ROLE " + Ident(name) + " LOGIN PASSWORD " + literal);
    PQfreemem(literal);
    PQfreemem(verifier);
  }

  std::string StoredVerifier(const std::string& role) {
    return Admin("SELECT rolpassword FROM pg_authid WHERE rolname = $1", {role});
  }
  bool RoleExists(const std::string& role) {
    return Admin("SELECT count(*) FROM pg_roles WHERE rolname = $1", {role}) == "1";
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
    return strategy->SetSecret({current, pending, previous, nullptr}, Soon());
  }
  Status Alternating(const DbCredentials& current, const DbCredentials& pending,
                     const DbCredentials* admin) {
    std::unique_ptr<Strategy> strategy =
        NewPostgresStrategy(RotationKind::kAlternatingUsers, Config());
    return strategy->SetSecret({current, pending, nullptr, admin}, Soon());
  }
  Status Test(const DbCredentials& pending, RotationKind kind = RotationKind::kSingleUser) {
    return NewPostgresStrategy(kind, Config())->TestSecret(pending, Soon());
  }

  // Checks that `role` is a clone of `original` as the strategy promises.
  void ExpectCloneOf(const std::string& clone, const std::string& original) {
    EXPECT_EQ(Admin("SELECT rolcanlogin::text || ' ' || rolinherit::text || ' ' || "
                    "rolsuper::text FROM pg_roles WHERE rolname = $1",
                    {clone}),
              "true true false");
    EXPECT_EQ(Admin("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                    "JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2",
                    {original, clone}),
              "1");
    EXPECT_EQ(
        Admin("SELECT array_to_string(s.setconfig, ',') FROM pg_db_role_setting s "
              "JOIN pg_roles u ON u.oid = s.setrole WHERE u.rolname = $1 AND s.setdatabase = 0",
              {clone}),
        "role=" + original);
  }

  Server server_;
  Conn admin_;
  std::vector<TestPassword> passwords_;
};

// ---- Single user ----

TEST_F(PostgresStrategyTest, SingleUserChangesThePassword) {
  const std::string user = Name("single");
  const std::string old_password = Password();
  const std::string new_password = Password();
  CreateRole(user, old_password);

  Status set = SingleUser(Credentials(user, old_password), Credentials(user, new_password));
  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  EXPECT_FALSE(LogsIn(user, old_password));
  EXPECT_TRUE(LogsIn(user, new_password));
  EXPECT_TRUE(Test(Credentials(user, new_password)).ok());
  Status old_login = Test(Credentials(user, old_password));
  EXPECT_EQ(old_login.type(), "DatabaseLoginFailed") << old_login.message();
  EXPECT_EQ(StoredVerifier(user).rfind("SCRAM-SHA-256$", 0), 0u);
}

TEST_F(PostgresStrategyTest, SingleUserRerunChangesNothing) {
  const std::string user = Name("single_rerun");
  const std::string old_password = Password();
  const std::string new_password = Password();
  CreateRole(user, old_password);
  const DbCredentials current = Credentials(user, old_password);
  const DbCredentials pending = Credentials(user, new_password);

  ASSERT_TRUE(SingleUser(current, pending).ok());
  const std::string verifier = StoredVerifier(user);
  Status again = SingleUser(current, pending);
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(StoredVerifier(user), verifier) << "a re-run must not change the password again";
  EXPECT_TRUE(LogsIn(user, new_password));
}

TEST_F(PostgresStrategyTest, SingleUserTenRotationsInARow) {
  const std::string user = Name("single_ten");
  std::string current_password = Password();
  CreateRole(user, current_password);
  std::optional<std::string> previous_password;
  for (int rotation = 0; rotation < 10; ++rotation) {
    const std::string next_password = Password();
    const DbCredentials previous = Credentials(user, previous_password.value_or("unused"));
    Status set = SingleUser(Credentials(user, current_password), Credentials(user, next_password),
                            previous_password ? &previous : nullptr);
    ASSERT_TRUE(set.ok()) << "rotation " << rotation << ": " << set.message();
    ASSERT_TRUE(Test(Credentials(user, next_password)).ok()) << "rotation " << rotation;
    EXPECT_FALSE(LogsIn(user, current_password)) << "rotation " << rotation;
    previous_password = current_password;
    current_password = next_password;
  }
}

TEST_F(PostgresStrategyTest, SingleUserDoneWhenPendingAlreadyLogsIn) {
  const std::string user = Name("single_done");
  const std::string pending_password = Password();
  CreateRole(user, pending_password);
  const std::string verifier = StoredVerifier(user);
  // Current no longer works: a crash after setSecret changed the password.
  Status set = SingleUser(Credentials(user, Password()), Credentials(user, pending_password));
  EXPECT_TRUE(set.ok()) << set.message();
  EXPECT_EQ(StoredVerifier(user), verifier);
}

TEST_F(PostgresStrategyTest, SingleUserRecoversWithThePreviousPassword) {
  const std::string user = Name("single_prev");
  const std::string previous_password = Password();
  const std::string new_password = Password();
  CreateRole(user, previous_password);
  const DbCredentials previous = Credentials(user, previous_password);
  const DbCredentials current = Credentials(user, Password());  // never took effect
  const DbCredentials pending = Credentials(user, new_password);

  Status without_previous = SingleUser(current, pending);
  EXPECT_EQ(without_previous.type(), "DatabaseLoginFailed") << without_previous.message();
  EXPECT_TRUE(LogsIn(user, previous_password)) << "a failed attempt must change nothing";

  Status with_previous = SingleUser(current, pending, &previous);
  ASSERT_TRUE(with_previous.ok()) << with_previous.message();
  EXPECT_TRUE(LogsIn(user, new_password));
  EXPECT_FALSE(LogsIn(user, previous_password));
}

TEST_F(PostgresStrategyTest, SingleUserFailsClearlyWhenNoPasswordWorks) {
  const std::string user = Name("single_none");
  const std::string real_password = Password();
  CreateRole(user, real_password);
  const std::string verifier = StoredVerifier(user);
  const DbCredentials previous = Credentials(user, Password());
  Status set = SingleUser(Credentials(user, Password()), Credentials(user, Password()), &previous);
  EXPECT_EQ(set.type(), "DatabaseLoginFailed");
  EXPECT_EQ(set.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(set.message().find("AWSPREVIOUS"), std::string::npos) << set.message();
  EXPECT_NE(set.message().find(user), std::string::npos) << set.message();
  EXPECT_EQ(StoredVerifier(user), verifier);
}

// ---- Alternating users ----

TEST_F(PostgresStrategyTest, AlternatingCreatesACloneThatActsAsTheOriginal) {
  const std::string user = Name("alt");
  const std::string clone = user + "_clone";
  const std::string original_password = Password();
  const std::string clone_password = Password();
  CreateRole(user, original_password);
  const DbCredentials admin = AdminCredentials();

  Status set =
      Alternating(Credentials(user, original_password), Credentials(clone, clone_password), &admin);
  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  ExpectCloneOf(clone, user);
  EXPECT_TRUE(LogsIn(clone, clone_password));
  EXPECT_TRUE(LogsIn(user, original_password)) << "the original keeps its password";
  EXPECT_TRUE(Test(Credentials(clone, clone_password), RotationKind::kAlternatingUsers).ok());

  Conn as_clone = Connect(clone, clone_password);
  ASSERT_EQ(PQstatus(as_clone.get()), CONNECTION_OK);
  EXPECT_EQ(Run(as_clone.get(), "SELECT session_user || '/' || current_user"), clone + "/" + user);
}

TEST_F(PostgresStrategyTest, AlternatingObjectsAreSharedBothWays) {
  const std::string user = Name("alt_share");
  const std::string clone = user + "_clone";
  const std::string original_password = Password();
  const std::string clone_password = Password();
  CreateRole(user, original_password);
  const std::string schema = Name("s");
  Admin("CREATE SCHEMA " + Ident(schema) + " AUTHORIZATION " + Ident(user));
  const DbCredentials admin = AdminCredentials();
  ASSERT_TRUE(
      Alternating(Credentials(user, original_password), Credentials(clone, clone_password), &admin)
          .ok());

  Conn as_original = Connect(user, original_password);
  Conn as_clone = Connect(clone, clone_password);
  ASSERT_EQ(PQstatus(as_original.get()), CONNECTION_OK);
  ASSERT_EQ(PQstatus(as_clone.get()), CONNECTION_OK);
  const std::string by_clone = Ident(schema) + ".made_by_clone";
  const std::string by_original = Ident(schema) + ".made_by_original";

  Run(as_clone.get(), "CREATE TABLE " + by_clone + " (n int)");
  Run(as_clone.get(), "INSERT INTO " + by_clone + " VALUES (1)");
  Run(as_original.get(), "INSERT INTO " + by_clone + " VALUES (2)");
  Run(as_original.get(), "UPDATE " + by_clone + " SET n = n + 10");
  EXPECT_EQ(Run(as_original.get(), "SELECT sum(n)::text FROM " + by_clone), "23");
  EXPECT_EQ(Admin("SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2",
                  {schema, "made_by_clone"}),
            user);

  Run(as_original.get(), "CREATE TABLE " + by_original + " (n int)");
  Run(as_original.get(), "INSERT INTO " + by_original + " VALUES (5)");
  Run(as_clone.get(), "INSERT INTO " + by_original + " VALUES (6)");
  Run(as_clone.get(), "DELETE FROM " + by_original + " WHERE n = 5");
  EXPECT_EQ(Run(as_clone.get(), "SELECT sum(n)::text FROM " + by_original), "6");
  // Even without acting as the original, membership and INHERIT give the
  // clone the original's rights.
  Run(as_clone.get(), "SET ROLE NONE");
  EXPECT_EQ(Run(as_clone.get(), "SELECT current_user"), clone);
  EXPECT_EQ(Run(as_clone.get(), "SELECT count(*)::text FROM " + by_original), "1");
}

TEST_F(PostgresStrategyTest, AlternatingTenRotationsInARow) {
  const std::string user = Name("alt_ten");
  const std::string clone = user + "_clone";
  std::string current_user = user;
  std::string current_password = Password();
  CreateRole(user, current_password);
  const DbCredentials admin = AdminCredentials();
  std::map<std::string, std::string> expected = {{user, current_password}};
  for (int rotation = 0; rotation < 10; ++rotation) {
    const std::string next_user = current_user == user ? clone : user;
    const std::string next_password = Password();
    if (rotation == 4) {
      // Someone removed what the clone needs: the next rotation puts it back.
      Admin("REVOKE " + Ident(user) + " FROM " + Ident(clone));
      Admin("ALTER ROLE " + Ident(clone) + " NOINHERIT");
      Admin("ALTER ROLE " + Ident(clone) + " RESET role");
    }
    Status set = Alternating(Credentials(current_user, current_password),
                             Credentials(next_user, next_password), &admin);
    ASSERT_TRUE(set.ok()) << "rotation " << rotation << ": " << set.message();
    ASSERT_TRUE(Test(Credentials(next_user, next_password), RotationKind::kAlternatingUsers).ok());
    if (const auto old = expected.find(next_user); old != expected.end()) {
      EXPECT_FALSE(LogsIn(next_user, old->second)) << "rotation " << rotation;
    }
    expected[next_user] = next_password;
    // Both users log in: the current one (soon AWSPREVIOUS) keeps working.
    for (const auto& [role, password] : expected) {
      EXPECT_TRUE(LogsIn(role, password)) << "rotation " << rotation << ", " << role;
    }
    ExpectCloneOf(clone, user);
    current_user = next_user;
    current_password = next_password;
  }
  EXPECT_EQ(Admin("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", {user + "%"}), "2");
}

TEST_F(PostgresStrategyTest, AlternatingWorksWithACreateRoleAdmin) {
  // As on RDS and Aurora, where the master user is not a superuser.
  const std::string admin_name = Name("createrole_admin");
  const std::string admin_password = Password();
  CreateRole(admin_name, admin_password);
  Admin("ALTER ROLE " + Ident(admin_name) + " CREATEROLE");
  const std::string user = Name("alt_rds");
  const std::string clone = user + "_clone";
  const std::string original_password = Password();
  CreateRole(user, original_password);
  const DbCredentials admin = Credentials(admin_name, admin_password);

  const std::string clone_password = Password();
  Status there =
      Alternating(Credentials(user, original_password), Credentials(clone, clone_password), &admin);
  ASSERT_TRUE(there.ok()) << there.type() << ": " << there.message();
  ExpectCloneOf(clone, user);
  EXPECT_TRUE(LogsIn(clone, clone_password));
  const std::string new_password = Password();
  Status back =
      Alternating(Credentials(clone, clone_password), Credentials(user, new_password), &admin);
  ASSERT_TRUE(back.ok()) << back.type() << ": " << back.message();
  EXPECT_TRUE(LogsIn(user, new_password));
  EXPECT_FALSE(LogsIn(user, original_password));
}

TEST_F(PostgresStrategyTest, AlternatingRerunChangesNothing) {
  const std::string user = Name("alt_rerun");
  const std::string clone = user + "_clone";
  const std::string original_password = Password();
  const std::string clone_password = Password();
  CreateRole(user, original_password);
  const DbCredentials admin = AdminCredentials();
  const DbCredentials current = Credentials(user, original_password);
  const DbCredentials pending = Credentials(clone, clone_password);
  ASSERT_TRUE(Alternating(current, pending, &admin).ok());
  const std::string verifier = StoredVerifier(clone);
  Status again = Alternating(current, pending, &admin);
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(StoredVerifier(clone), verifier);
}

TEST_F(PostgresStrategyTest, AlternatingRefusesWhenCurrentDoesNotLogIn) {
  const std::string user = Name("alt_forged");
  const std::string clone = user + "_clone";
  CreateRole(user, Password());
  const DbCredentials admin = AdminCredentials();
  Status set = Alternating(Credentials(user, Password()), Credentials(clone, Password()), &admin);
  EXPECT_EQ(set.type(), "DatabaseLoginFailed") << set.message();
  EXPECT_NE(set.message().find("AWSCURRENT"), std::string::npos) << set.message();
  EXPECT_FALSE(RoleExists(clone));

  // The way back: a forged clone secret must not reset the original's password.
  const std::string original_password = Password();
  const std::string victim = Name("alt_victim");
  CreateRole(victim, original_password);
  CreateRole(victim + "_clone", Password());
  const std::string verifier = StoredVerifier(victim);
  Status back = Alternating(Credentials(victim + "_clone", Password()),
                            Credentials(victim, Password()), &admin);
  EXPECT_EQ(back.type(), "DatabaseLoginFailed");
  EXPECT_EQ(StoredVerifier(victim), verifier);
}

TEST_F(PostgresStrategyTest, AlternatingNeedsTheAdmin) {
  const std::string user = Name("alt_noadmin");
  const std::string password = Password();
  CreateRole(user, password);
  Status set =
      Alternating(Credentials(user, password), Credentials(user + "_clone", Password()), nullptr);
  EXPECT_EQ(set.type(), "InvalidSecret");
  const DbCredentials wrong_admin = Credentials(server_.admin_user, Password());
  Status wrong = Alternating(Credentials(user, password), Credentials(user + "_clone", Password()),
                             &wrong_admin);
  EXPECT_EQ(wrong.type(), "DatabaseLoginFailed");
  EXPECT_NE(wrong.message().find("masterarn"), std::string::npos) << wrong.message();
  EXPECT_FALSE(RoleExists(user + "_clone"));
}

TEST_F(PostgresStrategyTest, AlternatingRefusesACloneNameOver63BytesBeforeAnyChange) {
  const std::string user = Name(std::string(49, 'n'));  // 58 bytes: the clone would be 64
  ASSERT_EQ(user.size(), 58u);
  const std::string password = Password();
  CreateRole(user, password);
  const DbCredentials admin = AdminCredentials();
  Status set =
      Alternating(Credentials(user, password), Credentials(user + "_clone", Password()), &admin);
  EXPECT_EQ(set.type(), "InvalidSecret");
  EXPECT_EQ(set.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(set.message().find("63"), std::string::npos) << set.message();
  EXPECT_EQ(Admin("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1", {user + "%"}), "1")
      << "no clone, not even a truncated one";
}

TEST_F(PostgresStrategyTest, AlternatingRefusesToTakeOverASuperuser) {
  const std::string user = Name("alt_super");
  const std::string password = Password();
  CreateRole(user, password);
  CreateRole(user + "_clone", Password());
  Admin("ALTER ROLE " + Ident(user + "_clone") + " SUPERUSER");
  const std::string verifier = StoredVerifier(user + "_clone");
  const DbCredentials admin = AdminCredentials();
  Status set =
      Alternating(Credentials(user, password), Credentials(user + "_clone", Password()), &admin);
  EXPECT_EQ(set.type(), "DatabaseError");
  EXPECT_NE(set.message().find("superuser"), std::string::npos) << set.message();
  EXPECT_EQ(StoredVerifier(user + "_clone"), verifier);
}

// ---- Hostile names and passwords ----

TEST_F(PostgresStrategyTest, HostileUsernamesAndPasswords) {
  const std::string suffix = RandomHex(6);
  const std::string names[] = {
      "we'ird\"name" + suffix,
      "UPPER Case " + suffix,
      "spa ce; DROP ROLE x; --" + suffix,
      "\xC3\xBC\x6E\xC3\xAF\x63\xC3\xB8\x64\xC3\xA9_\xCF\x81\xCF\x8C\xCE\xBB\xCE\xBF\xCF\x82" +
          suffix,  // ünïcødé_ρόλος
      "back\\slash$$" + suffix,
  };
  const DbCredentials admin = AdminCredentials();
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    // Single user.
    const std::string first = Password();
    const std::string second = Password();
    CreateRole(name, first);
    Status single = SingleUser(Credentials(name, first), Credentials(name, second));
    ASSERT_TRUE(single.ok()) << single.message();
    EXPECT_TRUE(LogsIn(name, second));
    EXPECT_FALSE(LogsIn(name, first));

    // Alternating users, there and back.
    const std::string clone_password = Password();
    Status there = Alternating(Credentials(name, second),
                               Credentials(name + "_clone", clone_password), &admin);
    ASSERT_TRUE(there.ok()) << there.message();
    ExpectCloneOf(name + "_clone", name);
    EXPECT_TRUE(LogsIn(name + "_clone", clone_password));
    const std::string third = Password();
    Status back =
        Alternating(Credentials(name + "_clone", clone_password), Credentials(name, third), &admin);
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_TRUE(LogsIn(name, third));
    EXPECT_TRUE(Test(Credentials(name, third)).ok());
  }
}

// ---- TLS ----

TEST_F(PostgresStrategyTest, WrongCaFailsClearlyWithoutAPlaintextAttempt) {
  const std::string user = Name("tls_wrong_ca");
  const std::string password = Password();
  CreateRole(user, password);
  StrategyConfig config = Config();
  config.tls_ca_file = server_.other_ca;

  Status set =
      SingleUser(Credentials(user, password), Credentials(user, Password()), nullptr, &config);
  EXPECT_EQ(set.type(), "TlsError") << set.message();
  EXPECT_EQ(set.code(), StatusCode::kFailedPrecondition);
  for (const std::string& part :
       {std::string("certificate verify failed"), server_.other_ca, std::string("DB_TLS_CA_FILE"),
        std::string("DB_TLS_MODE"), std::string("\"ssl\"")}) {
    EXPECT_NE(set.message().find(part), std::string::npos) << part << " in " << set.message();
  }
  Status test = NewPostgresStrategy(RotationKind::kSingleUser, config)
                    ->TestSecret(Credentials(user, password), Soon());
  EXPECT_EQ(test.type(), "TlsError");

  // pg_hba.conf accepts this user without TLS too, so a plaintext retry would
  // have logged in, and the server logs every login ("connection authorized:
  // user=..."). The user name never reached the server.
  const std::string authorized = "connection authorized: user=" + user + " ";
  EXPECT_EQ(ReadLog().find(authorized), std::string::npos);
  EXPECT_EQ(ReadLog().find("for user \"" + user + "\""), std::string::npos);
  EXPECT_TRUE(LogsIn(user, password)) << "nothing changed";

  // The check above can fail: a deliberate plaintext login is logged.
  DbCredentials plaintext = Credentials(user, password);
  plaintext.ssl = false;
  ASSERT_TRUE(
      NewPostgresStrategy(RotationKind::kSingleUser, config)->TestSecret(plaintext, Soon()).ok());
  EXPECT_NE(ReadLog().find(authorized), std::string::npos);
}

TEST_F(PostgresStrategyTest, SslFieldChoosesTlsOrPlaintext) {
  const std::string user = Name("tls_field");
  const std::string password = Password();
  CreateRole(user, password);
  auto ssl_of = [&](std::optional<bool> ssl) -> std::string {
    DbCredentials credentials = Credentials(user, password);
    credentials.ssl = ssl;
    Result<PostgresSession> session = PostgresSession::Connect(credentials, Config(), Soon());
    if (!session.ok()) return "error: " + session.status().message();
    Result<std::optional<std::string>> ssl_in_use =
        session->Query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()", {},
                       "reading pg_stat_ssl", Soon());
    if (!ssl_in_use.ok()) return "error: " + ssl_in_use.status().message();
    return ssl_in_use->value_or("no row") + (session->UsesTls() ? "/tls" : "/plain");
  };
  EXPECT_EQ(ssl_of(std::nullopt), "true/tls");
  EXPECT_EQ(ssl_of(true), "true/tls");
  EXPECT_EQ(ssl_of(false), "false/plain");

  DbCredentials plaintext_current = Credentials(user, password);
  plaintext_current.ssl = false;
  const std::string new_password = Password();
  DbCredentials plaintext_pending = Credentials(user, new_password);
  plaintext_pending.ssl = false;
  ASSERT_TRUE(SingleUser(plaintext_current, plaintext_pending).ok());
  EXPECT_TRUE(LogsIn(user, new_password));
}

TEST_F(PostgresStrategyTest, TlsModesVerifyAsDocumented) {
  const std::string user = Name("tls_modes");
  const std::string password = Password();
  CreateRole(user, password);
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
  EXPECT_EQ(test_with(TlsMode::kVerifyCa, server_.other_ca, "127.0.0.1").type(), "TlsError");
  // require encrypts without verifying: any CA setting is ignored.
  EXPECT_TRUE(test_with(TlsMode::kRequire, server_.other_ca, "127.0.0.1").ok());
  // Without DB_TLS_CA_FILE the system bundle is used, which does not hold the
  // test CA.
  EXPECT_EQ(test_with(TlsMode::kVerifyFull, "", "127.0.0.1").type(), "TlsError");
}

// ---- Passwords on the wire and in the log ----

TEST_F(PostgresStrategyTest, ServerLogNeverHoldsAPassword) {
  const std::string user = Name("log_single");
  std::string password = Password();
  CreateRole(user, password);
  for (int i = 0; i < 3; ++i) {
    const std::string next = Password();
    ASSERT_TRUE(SingleUser(Credentials(user, password), Credentials(user, next)).ok());
    password = next;
  }
  const std::string alternating = Name("log_alt");
  std::string alternating_password = Password();
  CreateRole(alternating, alternating_password);
  const DbCredentials admin = AdminCredentials();
  const std::string clone_password = Password();
  ASSERT_TRUE(Alternating(Credentials(alternating, alternating_password),
                          Credentials(alternating + "_clone", clone_password), &admin)
                  .ok());

  // The log does record the statements (so the check below means something),
  // with a verifier where the password was.
  const std::string log = ReadLog();
  EXPECT_NE(log.find("ALTER ROLE " + Ident(user) + " PASSWORD 'SCRAM-SHA-256$"), std::string::npos);
  EXPECT_NE(log.find("ALTER ROLE " + Ident(alternating + "_clone") + " PASSWORD 'SCRAM-SHA-256$"),
            std::string::npos);
  EXPECT_NE(log.find("CREATE ROLE " + Ident(alternating + "_clone")), std::string::npos);
  // TearDown checks that none of this test's passwords is in the log.
}

TEST_F(PostgresStrategyTest, PasswordEncryptionChoosesTheVerifier) {
  // The test cluster's pg_hba.conf requires scram-sha-256, so an md5
  // verifier is sent (the server log shows it) and then refused at login:
  // the old password must be put back, never left unusable.
  const std::string user = Name("md5");
  const std::string password = Password();
  CreateRole(user, password);
  StrategyConfig md5 = Config();
  md5.password_encryption = "md5";
  Status refused_md5 =
      SingleUser(Credentials(user, password), Credentials(user, Password()), nullptr, &md5);
  EXPECT_EQ(refused_md5.type(), "DatabaseLoginFailed");
  EXPECT_NE(refused_md5.message().find("PASSWORD_ENCRYPTION is md5"), std::string::npos)
      << refused_md5.message();
  EXPECT_NE(refused_md5.message().find("was put back"), std::string::npos);
  EXPECT_NE(ReadLog().find("PASSWORD 'md5"), std::string::npos) << "an md5 verifier was sent";
  EXPECT_TRUE(LogsIn(user, password)) << "the old password still logs in";
  EXPECT_EQ(StoredVerifier(user).rfind("SCRAM-SHA-256$", 0), 0u) << StoredVerifier(user);

  const std::string other = Name("scram_forced");
  const std::string other_password = Password();
  CreateRole(other, other_password);
  StrategyConfig forced = Config();
  forced.password_encryption = "scram-sha-256";
  ASSERT_TRUE(SingleUser(Credentials(other, other_password), Credentials(other, Password()),
                         nullptr, &forced)
                  .ok());
  EXPECT_EQ(StoredVerifier(other).rfind("SCRAM-SHA-256$", 0), 0u);

  // Default: the server's password_encryption, scram-sha-256.
  const std::string defaulted = Name("default");
  const std::string defaulted_password = Password();
  CreateRole(defaulted, defaulted_password);
  ASSERT_TRUE(
      SingleUser(Credentials(defaulted, defaulted_password), Credentials(defaulted, Password()))
          .ok());
  EXPECT_EQ(StoredVerifier(defaulted).rfind("SCRAM-SHA-256$", 0), 0u);

  // Default really means "what the server says": a server (here, the user's
  // own sessions) set to md5 gets an md5 verifier, which this cluster's
  // pg_hba.conf then refuses, so the old password is put back.
  const std::string follower = Name("follows_server");
  const std::string follower_password = Password();
  CreateRole(follower, follower_password);
  Admin("ALTER ROLE " + Ident(follower) + " SET password_encryption = 'md5'");
  const std::string new_password = Password();
  Status follows =
      SingleUser(Credentials(follower, follower_password), Credentials(follower, new_password));
  EXPECT_EQ(follows.type(), "DatabaseLoginFailed") << follows.message();
  EXPECT_TRUE(LogsIn(follower, follower_password));
  EXPECT_FALSE(LogsIn(follower, new_password));

  StrategyConfig unknown = Config();
  unknown.password_encryption = "sha1";
  const std::string current_password = Password();
  const std::string unchanged = Name("unknown_method");
  CreateRole(unchanged, current_password);
  const std::string verifier = StoredVerifier(unchanged);
  Status refused = SingleUser(Credentials(unchanged, current_password),
                              Credentials(unchanged, Password()), nullptr, &unknown);
  EXPECT_EQ(refused.type(), "DatabaseError");
  EXPECT_NE(refused.message().find("sha1"), std::string::npos) << refused.message();
  EXPECT_EQ(StoredVerifier(unchanged), verifier);
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

TEST_F(PostgresStrategyTest, UnreachableServerIsAConnectionError) {
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(probe, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(probe);  // nothing listens there now

  DbCredentials nowhere = Credentials("nobody", "whatever");
  nowhere.port = ntohs(address.sin_port);
  Status status = Test(nowhere);
  EXPECT_EQ(status.type(), "ConnectionError") << status.message();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace secret_rotator::strategies
