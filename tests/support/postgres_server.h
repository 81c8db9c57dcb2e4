// The private PostgreSQL cluster of tests/servers/postgres.sh (CTest fixture
// "postgres"), and direct libpq access to it, so that tests check what the
// code under test did without going through it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;  // libpq's PGconn; libpq-fe.h stays in the .cpp

namespace secret_rotator::testing {

// The server as postgres.sh describes it in <dir>/server.env.
struct PostgresServer {
  std::string host;
  int port = 0;
  std::string admin_user;  // the cluster's bootstrap superuser
  std::string admin_password;
  std::string ca;        // the CA that signed the server's certificate
  std::string other_ca;  // a CA that did not
  std::string log;       // log_statement = 'all', log_connections = on
};

// Reads $SECRET_ROTATOR_POSTGRES_DIR/server.env. Returns nullopt, with the
// reason in *error, when the variable, the file or a required key is missing.
std::optional<PostgresServer> LoadPostgresServer(std::string* error);

// A unique name for a role or schema: `prefix` + "_" + 8 random hex digits.
std::string UniqueName(const std::string& prefix);

// Role names that need quoting: quotes, upper case and spaces, SQL
// injection, non-ASCII, backslash and dollar quoting; each ends in `suffix`.
std::vector<std::string> HostileRoleNames(const std::string& suffix);

// One libpq connection to the server, with application_name "rotator-test"
// so that the server log tells it from the function's connections.
// Not thread-safe.
class PgConnection {
 public:
  // Connects as `user` with `password` with libpq's `sslmode` (verified
  // against server.ca). Never fails: check ok().
  PgConnection(const PostgresServer& server, const std::string& user, const std::string& password,
               const std::string& sslmode = "verify-full");

  bool ok() const;
  // libpq's last error message.
  std::string error() const;

  // Runs `sql` with text `parameters`. Returns the first value of the first
  // row, "" when there is none. On error records a test failure (naming
  // `sql`, never a parameter) and returns "".
  std::string Query(const std::string& sql, const std::vector<std::string>& parameters = {});

  // `name` quoted as an SQL identifier by libpq.
  std::string Identifier(const std::string& name);

  // Creates a LOGIN role. The password reaches the server only as a
  // SCRAM-SHA-256 verifier, so that the server log stays free of it.
  void CreateRole(const std::string& name, const std::string& password);

  // The role's stored verifier (pg_authid.rolpassword), "" when none.
  std::string StoredVerifier(const std::string& role);
  // Returns true iff a role `role` exists.
  bool RoleExists(const std::string& role);

 private:
  struct Finish {
    void operator()(pg_conn* conn) const;
  };
  std::unique_ptr<pg_conn, Finish> conn_;
};

// Returns true iff `user` logs in with `password` over verified TLS.
bool LogsIn(const PostgresServer& server, const std::string& user, const std::string& password);

}  // namespace secret_rotator::testing
