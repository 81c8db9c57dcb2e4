// The MySQL/MariaDB strategies against the private MariaDB server that
// tests/servers/mariadb.sh starts (SECRET_ROTATOR_MARIADB_DIR/server.env).
// Outcomes are checked with the C client library directly (logins, SHOW
// GRANTS, the server's general query log), not with the code under test.
// Every test makes its own users and databases with a random suffix.
#include <gtest/gtest.h>
#include <mysql.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/secret.h"
#include "strategies/mysql_session.h"
#include "strategies/mysql_strategy.h"
#include "strategies/registry.h"

namespace secret_rotator::strategies {
namespace {

using std::chrono::seconds;

// --- the server ------------------------------------------------------------

struct ServerEnv {
  std::string host;
  int port = 0;
  std::string admin_user;
  std::string admin_password;
  std::string ca;
  std::string other_ca;
  std::string general_log;
};

// The server's settings, or nullopt with `why` set.
std::optional<ServerEnv> LoadServerEnv(std::string* why) {
  const char* dir = std::getenv("SECRET_ROTATOR_MARIADB_DIR");
  if (dir == nullptr) {
    *why = "SECRET_ROTATOR_MARIADB_DIR is not set (run through ctest, which starts the server)";
    return std::nullopt;
  }
  std::ifstream file(std::string(dir) + "/server.env");
  if (!file) {
    *why = std::string(dir) + "/server.env is missing: is the MariaDB fixture running?";
    return std::nullopt;
  }
  std::map<std::string, std::string> values;
  for (std::string line; std::getline(file, line);) {
    const std::size_t equals = line.find('=');
    if (equals != std::string::npos) values[line.substr(0, equals)] = line.substr(equals + 1);
  }
  ServerEnv env;
  env.host = values["MARIADB_HOST"];
  env.port = std::atoi(values["MARIADB_PORT"].c_str());
  env.admin_user = values["MARIADB_ADMIN_USER"];
  env.admin_password = values["MARIADB_ADMIN_PASSWORD"];
  env.ca = values["MARIADB_CA"];
  env.other_ca = values["MARIADB_OTHER_CA"];
  env.general_log = values["MARIADB_GENERAL_LOG"];
  return env;
}

struct MysqlCloser {
  void operator()(MYSQL* mysql) const { mysql_close(mysql); }
};
using MysqlHandle = std::unique_ptr<MYSQL, MysqlCloser>;

enum class Transport { kTlsVerified, kPlaintext };

// Connects with the C library, independently of the code under test.
// Returns the handle, or null with `error` set to mysql_error.
MysqlHandle RawConnect(const ServerEnv& env, const std::string& user, const std::string& password,
                       Transport transport, std::string* error) {
  MysqlHandle mysql(mysql_init(nullptr));
  const unsigned int protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(mysql.get(), MYSQL_OPT_PROTOCOL, &protocol);
  mysql_options(mysql.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (transport == Transport::kTlsVerified) {
    const my_bool on = 1;
    mysql_options(mysql.get(), MYSQL_OPT_SSL_ENFORCE, &on);
    mysql_options(mysql.get(), MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    mysql_options(mysql.get(), MYSQL_OPT_SSL_CA, env.ca.c_str());
  }
  if (mysql_real_connect(mysql.get(), env.host.c_str(), user.c_str(), password.c_str(), nullptr,
                         static_cast<unsigned int>(env.port), nullptr, 0) == nullptr) {
    *error = mysql_error(mysql.get());
    return nullptr;
  }
  return mysql;
}

// An admin connection for setting up and inspecting the server.
class Admin {
 public:
  explicit Admin(const ServerEnv& env) {
    std::string error;
    mysql_ = RawConnect(env, env.admin_user, env.admin_password, Transport::kTlsVerified, &error);
    if (!mysql_) ADD_FAILURE() << "admin login failed: " << error;
  }

  bool ok() const { return mysql_ != nullptr; }

  // 'text', escaped.
  std::string Q(const std::string& text) {
    std::string out(text.size() * 2 + 1, '\0');
    out.resize(mysql_real_escape_string(mysql_.get(), out.data(), text.data(), text.size()));
    return "'" + out + "'";
  }
  std::string Account(const std::string& user, const std::string& host = "%") {
    return Q(user) + "@" + Q(host);
  }
  static std::string Ident(const std::string& name) {
    std::string out = "`";
    for (char c : name) out += c == '`' ? std::string("``") : std::string(1, c);
    return out + "`";
  }

  bool Exec(const std::string& sql) {
    if (mysql_real_query(mysql_.get(), sql.data(), sql.size()) != 0) {
      ADD_FAILURE() << "admin statement failed: " << mysql_error(mysql_.get()) << "\n" << sql;
      return false;
    }
    MYSQL_RES* result = mysql_store_result(mysql_.get());
    if (result != nullptr) mysql_free_result(result);
    return true;
  }

  // The first column of every row; empty on failure (with errno in *number).
  std::vector<std::string> Column(const std::string& sql, unsigned int* number = nullptr) {
    std::vector<std::string> values;
    if (mysql_real_query(mysql_.get(), sql.data(), sql.size()) != 0) {
      if (number != nullptr) {
        *number = mysql_errno(mysql_.get());
      } else {
        ADD_FAILURE() << "admin query failed: " << mysql_error(mysql_.get()) << "\n" << sql;
      }
      return values;
    }
    MYSQL_RES* result = mysql_store_result(mysql_.get());
    if (result == nullptr) return values;
    while (MYSQL_ROW row = mysql_fetch_row(result)) {
      const unsigned long* lengths = mysql_fetch_lengths(result);
      values.emplace_back(row[0] == nullptr ? "" : std::string(row[0], lengths[0]));
    }
    mysql_free_result(result);
    return values;
  }

  bool UserExists(const std::string& user, const std::string& host = "%") {
    std::vector<std::string> count = Column(
        "SELECT COUNT(*) FROM mysql.user WHERE User = " + Q(user) + " AND Host = " + Q(host));
    return !count.empty() && count[0] != "0";
  }

  std::string CreateUserStatement(const std::string& user, const std::string& host = "%") {
    std::vector<std::string> rows = Column("SHOW CREATE USER " + Account(user, host));
    return rows.empty() ? "" : rows[0];
  }

  // SHOW GRANTS FOR user@'%' with the grantee written as @@ and the password
  // hash removed, sorted: comparable between two users.
  std::vector<std::string> NormalizedGrants(const std::string& user) {
    std::vector<std::string> lines = Column("SHOW GRANTS FOR " + Account(user));
    const std::string grantee = Ident(user) + "@`%`";
    for (std::string& line : lines) {
      for (std::size_t at = line.find(grantee); at != std::string::npos; at = line.find(grantee)) {
        line.replace(at, grantee.size(), "@@");
      }
      const std::size_t identified = line.find(" IDENTIFIED BY PASSWORD '");
      if (identified != std::string::npos) {
        const std::size_t end = line.find('\'', identified + 25);
        line.erase(identified, end + 1 - identified);
      }
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  long GlobalStatus(const std::string& name) {
    std::vector<std::string> rows = Column(
        "SELECT VARIABLE_VALUE FROM "
        "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = " +
        Q(name));
    return rows.empty() ? -1 : std::atol(rows[0].c_str());
  }

 private:
  MysqlHandle mysql_;
};

// --- helpers ---------------------------------------------------------------

std::string RandomSuffix() {
  static std::mt19937_64 random{std::random_device{}()};
  constexpr char kHex[] = "0123456789abcdef";
  std::string suffix;
  for (int i = 0; i < 8; ++i) suffix += kHex[random() % 16];
  return suffix;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The general-log lines that record a connection by `user` (successful:
// "Connect user@127.0.0.1 on db using TCP/IP|SSL/TLS", or refused:
// "Connect Access denied for user 'user'@...").
std::vector<std::string> ConnectLines(const std::string& log_path, const std::string& user) {
  std::vector<std::string> found;
  std::istringstream log(ReadFile(log_path));
  for (std::string line; std::getline(log, line);) {
    if (line.find(" Connect\t") == std::string::npos) continue;
    if (line.find(" Connect\t" + user + "@") != std::string::npos ||
        line.find("'" + user + "'@") != std::string::npos) {
      found.push_back(line);
    }
  }
  return found;
}

int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ADD_FAILURE() << "cannot find an unused port";
  }
  if (fd >= 0) close(fd);
  return ntohs(address.sin_port);
}

class MySqlStrategyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    std::optional<ServerEnv> env = LoadServerEnv(&why);
    if (!env) {
      if (std::getenv("SECRET_ROTATOR_MARIADB_DIR") == nullptr) GTEST_SKIP() << why;
      FAIL() << why;
    }
    env_ = *env;
    admin_ = std::make_unique<Admin>(env_);
    ASSERT_TRUE(admin_->ok());
  }

  void TearDown() override {
    if (!admin_ || !admin_->ok()) return;
    for (const std::string& account : made_users_) {
      admin_->Exec("DROP USER IF EXISTS " + account);
    }
    for (const std::string& database : made_databases_) {
      admin_->Exec("DROP DATABASE IF EXISTS " + Admin::Ident(database));
    }
    for (const std::string& role : made_roles_) {
      admin_->Exec("DROP ROLE IF EXISTS " + Admin::Ident(role));
    }
  }

  // A user name no other test uses: `base` + "_" + random hex.
  static std::string Unique(const std::string& base) { return base + "_" + RandomSuffix(); }

  // Creates user@host with `password` and `extra` ("REQUIRE SSL"); the user
  // and its _clone are dropped after the test.
  void CreateUser(const std::string& user, const std::string& password,
                  const std::string& extra = "", const std::string& host = "%") {
    ASSERT_TRUE(admin_->Exec("CREATE USER " + admin_->Account(user, host) + " IDENTIFIED BY " +
                             admin_->Q(password) + " " + extra));
    made_users_.push_back(admin_->Account(user, host));
    made_users_.push_back(admin_->Account(user + "_clone", host));
  }

  void CreateDatabase(const std::string& name) {
    ASSERT_TRUE(admin_->Exec("CREATE DATABASE " + Admin::Ident(name)));
    made_databases_.push_back(name);
  }

  void CreateRole(const std::string& name) {
    ASSERT_TRUE(admin_->Exec("CREATE ROLE " + Admin::Ident(name)));
    made_roles_.push_back(name);
  }

  DbCredentials Credentials(const std::string& user, const std::string& password,
                            std::optional<bool> ssl = std::nullopt) const {
    DbCredentials credentials;
    credentials.engine = "mariadb";
    credentials.host = env_.host;
    credentials.port = env_.port;
    credentials.username = user;
    credentials.password = Secret(password);
    credentials.ssl = ssl;
    return credentials;
  }

  DbCredentials AdminCredentials() const {
    return Credentials(env_.admin_user, env_.admin_password);
  }

  // verify-full against the test CA.
  StrategyConfig Config(TlsMode mode = TlsMode::kVerifyFull) const {
    StrategyConfig config;
    config.tls_mode = mode;
    config.tls_ca_file = env_.ca;
    return config;
  }

  static Deadline Soon() { return Deadline::After(seconds(30)); }

  // Returns "" if user/password logs in (TLS, verified), else the error.
  std::string LoginError(const std::string& user, const std::string& password,
                         Transport transport = Transport::kTlsVerified) const {
    std::string error;
    MysqlHandle mysql = RawConnect(env_, user, password, transport, &error);
    return mysql ? std::string() : error;
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
    return strategy->SetSecret({current, pending, previous, nullptr}, Soon());
  }

  Status Alternating(const DbCredentials& current, const DbCredentials& pending) const {
    const DbCredentials admin = AdminCredentials();
    std::unique_ptr<Strategy> strategy =
        NewMySqlStrategy(RotationKind::kAlternatingUsers, Config());
    return strategy->SetSecret({current, pending, nullptr, &admin}, Soon());
  }

  Status Test(const DbCredentials& pending, const StrategyConfig& config) const {
    return NewMySqlStrategy(RotationKind::kSingleUser, config)->TestSecret(pending, Soon());
  }

  ServerEnv env_;
  std::unique_ptr<Admin> admin_;
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
  const std::string after_first = admin_->CreateUserStatement(user);

  Status again = SingleUser(current, pending);

  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(admin_->CreateUserStatement(user), after_first);  // same password hash
  EXPECT_TRUE(LogsIn(user, "new-password-2"));
}

TEST_F(MySqlStrategyTest, SingleUserSucceedsWhenPendingAlreadyWorks) {
  const std::string user = Unique("pendok");
  CreateUser(user, "pending-password");  // a crash after setSecret changed it
  const std::string before = admin_->CreateUserStatement(user);

  Status set = SingleUser(Credentials(user, "current-password-no-longer-valid"),
                          Credentials(user, "pending-password"));

  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_EQ(admin_->CreateUserStatement(user), before);
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
  const std::string wildcard_before = admin_->CreateUserStatement(user, "%");

  Status set =
      SingleUser(Credentials(user, "loopback-password"), Credentials(user, "new-password"));

  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_TRUE(LogsIn(user, "new-password"));
  EXPECT_EQ(admin_->CreateUserStatement(user, "%"), wildcard_before);
}

TEST_F(MySqlStrategyTest, SingleUserRefusesAnAnonymousAccountMatch) {
  // A user without an account of its own logs in through an anonymous
  // ''@'%' account; rotating would change the anonymous account. (''@'%'
  // never takes a login from a user that has an account of its own, so
  // tests running at the same time are not affected.)
  const std::string ghost = Unique("ghost");
  const std::string anonymous_password = "anonymous-" + RandomSuffix();
  std::vector<std::string> existing =
      admin_->Column("SELECT COUNT(*) FROM mysql.user WHERE User = '' AND Host = '%'");
  if (existing.empty() || existing[0] != "0") GTEST_SKIP() << "an anonymous user exists";
  ASSERT_TRUE(admin_->Exec("CREATE USER ''@'%' IDENTIFIED BY " + admin_->Q(anonymous_password)));
  const std::string before = admin_->CreateUserStatement("");
  const Status set =
      SingleUser(Credentials(ghost, anonymous_password), Credentials(ghost, "new-password"));
  const std::string after = admin_->CreateUserStatement("");
  admin_->Exec("DROP USER ''@'%'");

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
    ASSERT_TRUE(admin_->Exec("CREATE TABLE " + Admin::Ident(db1_) + ".t (x INT, y INT)"));
    CreateUser(user, password, "REQUIRE SSL");
    const std::string account = admin_->Account(user);
    ASSERT_TRUE(admin_->Exec("GRANT SELECT, INSERT ON " + Admin::Ident(db1_) + ".* TO " + account));
    ASSERT_TRUE(admin_->Exec("GRANT ALL PRIVILEGES ON " + Admin::Ident(user) + ".* TO " + account));
    ASSERT_TRUE(admin_->Exec("GRANT UPDATE (y) ON " + Admin::Ident(db1_) + ".t TO " + account));
    ASSERT_TRUE(
        admin_->Exec("GRANT SELECT ON " + Admin::Ident(db1_) + ".* TO " + Admin::Ident(role_)));
    ASSERT_TRUE(admin_->Exec("GRANT " + Admin::Ident(role_) + " TO " + account));
    ASSERT_TRUE(admin_->Exec("SET DEFAULT ROLE " + Admin::Ident(role_) + " FOR " + account));
  }

  void ExpectSameAccount(const std::string& user, const std::string& clone) {
    EXPECT_EQ(admin_->NormalizedGrants(clone), admin_->NormalizedGrants(user));
    const std::string user_create = admin_->CreateUserStatement(user);
    const std::string clone_create = admin_->CreateUserStatement(clone);
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
  ASSERT_TRUE(admin_->UserExists(clone));
  ExpectSameAccount(user, clone);
  EXPECT_NE(admin_->CreateUserStatement(clone).find("REQUIRE SSL"), std::string::npos);
  std::vector<std::string> grants = admin_->NormalizedGrants(clone);
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

  Status set = Alternating(Credentials(clone, "password-1"), Credentials(user, "password-2"));

  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  EXPECT_TRUE(LogsIn(user, "password-2"));
  EXPECT_FALSE(LogsIn(user, "password-0"));
  EXPECT_TRUE(LogsIn(clone, "password-1"));  // AWSPREVIOUS keeps working
  ExpectSameAccount(user, clone);
  // The grants were equal, so the original user never lost them.
  const std::string revoke_all = "GRANT OPTION FROM '" + user + "'@";
  EXPECT_EQ(ReadFile(env_.general_log).find(revoke_all), std::string::npos);
}

TEST_F(MySqlAlternatingTest, RerunAfterSuccessIsHarmless) {
  const std::string user = Unique("altrerun");
  const std::string clone = user + "_clone";
  CreateRichUser(user, "password-0");
  ASSERT_FALSE(HasFailure());
  const DbCredentials current = Credentials(user, "password-0");
  const DbCredentials pending = Credentials(clone, "password-1");
  ASSERT_TRUE(Alternating(current, pending).ok());
  const std::string clone_after_first = admin_->CreateUserStatement(clone);

  Status again = Alternating(current, pending);

  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(admin_->CreateUserStatement(clone), clone_after_first);
  ExpectSameAccount(user, clone);
  EXPECT_TRUE(LogsIn(clone, "password-1"));
  const std::string revoke_all = "GRANT OPTION FROM '" + clone + "'@";
  const std::string log = ReadFile(env_.general_log);
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
  ASSERT_TRUE(admin_->Exec("REVOKE INSERT ON " + Admin::Ident(db1_) + ".* FROM " + account));
  ASSERT_TRUE(admin_->Exec("GRANT DELETE ON " + Admin::Ident(db1_) + ".* TO " + account));
  ASSERT_TRUE(admin_->Exec("REVOKE " + Admin::Ident(role_) + " FROM " + account));
  ASSERT_TRUE(admin_->Exec("ALTER USER " + account + " REQUIRE NONE"));

  Status set = Alternating(Credentials(user, "password-0"), Credentials(clone, "password-3"));

  ASSERT_TRUE(set.ok()) << set.type() << ": " << set.message();
  // MariaDB keeps the revoked role as the user's default role; that dangling
  // setting cannot be copied (SET DEFAULT ROLE needs the role granted).
  std::vector<std::string> expected = admin_->NormalizedGrants(user);
  const std::string dangling = "SET DEFAULT ROLE " + Admin::Ident(role_) + " FOR @@";
  ASSERT_NE(std::find(expected.begin(), expected.end(), dangling), expected.end());
  expected.erase(std::find(expected.begin(), expected.end(), dangling));
  EXPECT_EQ(admin_->NormalizedGrants(clone), expected);
  EXPECT_EQ(admin_->CreateUserStatement(clone).find("REQUIRE"), std::string::npos);
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
  EXPECT_FALSE(admin_->UserExists(user + "_clone"));
}

TEST_F(MySqlAlternatingTest, RefusesTooLongUserNameBeforeChangingAnything) {
  // 80 characters is MariaDB's limit: the user fits, its clone does not.
  const std::string user = Unique(std::string(66, 'l'));  // 66 + 1 + 8 = 75
  ASSERT_EQ(user.size(), 75U);
  CreateUser(user, "password-0");

  Status set = Alternating(Credentials(user, "password-0"), Credentials(user + "_clone", "pw-1"));

  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.type(), "InvalidUsername");
  EXPECT_NE(set.message().find("81"), std::string::npos) << set.message();
  EXPECT_NE(set.message().find("80"), std::string::npos) << set.message();
  EXPECT_FALSE(admin_->UserExists(user + "_clone"));
}

TEST_F(MySqlAlternatingTest, NeedsAdminCredentials) {
  const DbCredentials current = Credentials("a", "b");
  const DbCredentials pending = Credentials("a_clone", "c");
  Status set = NewMySqlStrategy(RotationKind::kAlternatingUsers, Config())
                   ->SetSecret({current, pending, nullptr, nullptr}, Soon());
  EXPECT_EQ(set.type(), "MissingAdminCredentials");
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
    ASSERT_TRUE(admin_->Exec("GRANT SELECT ON " + Admin::Ident(database) + ".* TO " +
                             admin_->Account(user)));

    Status set = Alternating(Credentials(user, kHostilePassword), Credentials(clone, "p2'\\\""));

    EXPECT_TRUE(set.ok()) << Describe(set);
    ExpectWorksOrClearRefusal(set);
    if (set.ok()) {
      EXPECT_TRUE(LogsIn(clone, "p2'\\\""));
      EXPECT_EQ(admin_->NormalizedGrants(clone), admin_->NormalizedGrants(user));
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
  config.tls_ca_file = env_.other_ca;
  const long connections_before = admin_->GlobalStatus("Connections");

  Status tested = Test(Credentials(user, "right-password"), config);

  ASSERT_FALSE(tested.ok());
  EXPECT_EQ(tested.type(), "DatabaseTlsError");
  EXPECT_NE(tested.message().find("DB_TLS_CA_FILE"), std::string::npos) << tested.message();
  EXPECT_NE(tested.message().find("DB_TLS_MODE"), std::string::npos) << tested.message();
  EXPECT_NE(tested.message().find("\"ssl\""), std::string::npos) << tested.message();
  EXPECT_EQ(tested.message().find("right-password"), std::string::npos);
  // One TCP connection reached the server and none of them logged in.
  EXPECT_GE(admin_->GlobalStatus("Connections") - connections_before, 1);
  EXPECT_TRUE(ConnectLines(env_.general_log, user).empty())
      << ::testing::PrintToString(ConnectLines(env_.general_log, user));
  // Control: a plaintext login by the same user does show in the log.
  ASSERT_TRUE(Test(Credentials(user, "right-password", false), config).ok());
  std::vector<std::string> lines = ConnectLines(env_.general_log, user);
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
  EXPECT_TRUE(ConnectLines(env_.general_log, user).empty());
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

TEST_F(MySqlStrategyTest, SslFalseConnectsInPlaintext) {
  const std::string user = Unique("plain");
  CreateUser(user, "password");
  std::string server_cipher = "unset";
  EXPECT_EQ(Cipher(Credentials(user, "password", false), Config(), &server_cipher), "");
  EXPECT_EQ(server_cipher, "");
  // A REQUIRE SSL user is refused in plaintext: proof that no TLS was used.
  const std::string secure = Unique("plainreq");
  CreateUser(secure, "password", "REQUIRE SSL");
  Status tested = Test(Credentials(secure, "password", false), Config());
  EXPECT_EQ(tested.type(), "DatabaseLoginFailed") << tested.message();
  EXPECT_TRUE(Test(Credentials(secure, "password"), Config()).ok());
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
  other_ca.tls_ca_file = env_.other_ca;
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
  credentials.port = UnusedPort();
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
  EXPECT_TRUE(ConnectLines(env_.general_log, user).empty());
}

TEST_F(MySqlStrategyTest, RejectsNulInUserNameAndPassword) {
  EXPECT_EQ(Test(Credentials(std::string("a\0b", 3), "password"), Config()).type(),
            "InvalidUsername");
  EXPECT_EQ(Test(Credentials("a", std::string("p\0w", 3)), Config()).type(), "InvalidPassword");
}

}  // namespace
}  // namespace secret_rotator::strategies
