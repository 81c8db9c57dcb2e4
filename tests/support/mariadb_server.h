// The private MariaDB server that tests/servers/mariadb.sh starts for the
// integration tests (ctest fixture "mariadb"), and a client for checking
// outcomes on it with the C client library directly, independently of the
// code under test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace secret_rotator::testing {

// The settings mariadb.sh writes to $SECRET_ROTATOR_MARIADB_DIR/server.env.
struct MariaDbServer {
  std::string host;
  int port = 0;
  std::string admin_user;
  std::string admin_password;
  std::string ca;        // the CA that signed the server's certificate
  std::string other_ca;  // a CA that did not
  std::string general_log;
};

// The running server's settings, or nullopt with `why` set. `*configured`
// tells whether SECRET_ROTATOR_MARIADB_DIR is set at all (tests skip when it
// is not, and fail when it is but the server is missing).
std::optional<MariaDbServer> LoadMariaDbServer(std::string* why, bool* configured);

enum class Transport { kTlsVerified, kPlaintext };

// One connection over TCP, utf8mb4. kTlsVerified: TLS required, the server's
// certificate checked against the server's CA and host name; kPlaintext: no
// TLS. Not thread-safe.
class MariaDbClient {
 public:
  MariaDbClient(const MariaDbServer& server, const std::string& user, const std::string& password,
                Transport transport = Transport::kTlsVerified);
  MariaDbClient(MariaDbClient&&) noexcept;
  MariaDbClient& operator=(MariaDbClient&&) noexcept;
  ~MariaDbClient();

  // Returns true iff the login succeeded.
  bool connected() const;
  // The last error: of the login, or of the last statement that failed.
  const std::string& error() const { return error_; }

  // Runs `sql`; returns true iff the server accepted it (else see error()).
  bool Exec(const std::string& sql);
  // Runs `sql` and returns the first column of every row (NULL as ""), or
  // nullopt when the statement failed.
  std::optional<std::vector<std::string>> Column(const std::string& sql);
  // The first column of the first row, or "" when there is none or it failed.
  std::string Value(const std::string& sql);

  // `text` as an SQL string literal, escaped by the driver.
  // REQUIRES: connected().
  std::string Quote(const std::string& text) const;
  // 'user'@'host', escaped.
  std::string Account(const std::string& user, const std::string& host = "%") const;

 private:
  struct Connection;
  std::unique_ptr<Connection> connection_;
  std::string error_;
};

// `name` as a backquoted SQL identifier.
std::string QuoteIdentifier(const std::string& name);

// Returns "" if user/password logs in over `transport`, else the error.
std::string LoginError(const MariaDbServer& server, const std::string& user,
                       const std::string& password, Transport transport = Transport::kTlsVerified);

// Queries an admin connection makes about accounts. A query the server
// refuses is a test failure (ADD_FAILURE, naming the statement), and then
// UserExists gives false, ShowCreateUser "" and NormalizedGrants {}.
// REQUIRES: `admin` is connected as a user that can read mysql.* and grants.
bool UserExists(MariaDbClient& admin, const std::string& user, const std::string& host = "%");
// SHOW CREATE USER (password hash and REQUIRE clause included). A missing
// account is a test failure.
std::string ShowCreateUser(MariaDbClient& admin, const std::string& user,
                           const std::string& host = "%");
// SHOW GRANTS for user@host with the grantee written as @@ and password
// hashes removed, sorted: comparable between two users. A missing account is
// a test failure.
std::vector<std::string> NormalizedGrants(MariaDbClient& admin, const std::string& user,
                                          const std::string& host = "%");

// The general query log's connection lines (" Connect\t") that name `user`:
// a login ("Connect\tuser@127.0.0.1 on db using TCP/IP" or "... using
// SSL/TLS") or a refused one ("Connect\tAccess denied for user 'user'@...").
std::vector<std::string> ConnectLines(const MariaDbServer& server, const std::string& user);

// A random 8-hex-digit suffix for names no other test uses.
std::string RandomSuffix();

// A fixture connected to the server as its admin user (its statements are not written to
// the general log: sql_log_off). It skips the test
// when the run has no MariaDB fixture at all, and fails it when the fixture
// should be there but is not. Subclasses that override SetUp() call this one
// first and stop if it skipped or failed (IsSkipped() / HasFatalFailure()).
class MariaDbTest : public ::testing::Test {
 protected:
  void SetUp() override;

  MariaDbServer server_;
  std::unique_ptr<MariaDbClient> admin_;
};

}  // namespace secret_rotator::testing
