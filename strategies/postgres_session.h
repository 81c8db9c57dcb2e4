// One libpq connection, with every network wait bounded by a Deadline and no
// password in any message. libpq's types stay in postgres_session.cpp; this
// header only names PGconn's struct tag. Internal to strategies/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/deadline.h"
#include "base/secret.h"
#include "base/status.h"
#include "strategies/strategy.h"

struct pg_conn;  // libpq's PGconn

namespace secret_rotator::strategies::postgres {

struct PgConnDeleter {
  void operator()(pg_conn* conn) const;  // PQfinish
};
using PgConn = std::unique_ptr<pg_conn, PgConnDeleter>;

// A logged-in session. Movable, not copyable; not thread-safe. After a call
// fails with "Timeout" or "ConnectionError" the connection is closed and
// every later call fails.
class PostgresSession {
 public:
  // Logs in with `credentials` (see BuildConnectionParameters for the
  // settings). The whole attempt, TLS and authentication included, is bounded
  // by min(5 s, the deadline); only the host name lookup, which libpq does
  // synchronously, is not. Errors: those of BuildConnectionParameters and
  // ConnectFailure, or "Timeout" (kDeadlineExceeded).
  static Result<PostgresSession> Connect(const DbCredentials& credentials,
                                         const StrategyConfig& config, Deadline deadline);

  // Runs one statement (no multi-statement strings: the extended protocol
  // takes exactly one) with `parameters` as text values $1, $2, ... and
  // returns the first column of the first row, or nullopt when there is no
  // row or the value is NULL. `what` says what the statement does, for
  // errors, e.g. "creating role \"app_clone\"". Errors: "DatabaseError" with
  // the server's primary message and SQLSTATE (never the statement's text),
  // kPermissionDenied for SQLSTATE 42501; "Timeout"; "ConnectionError".
  // `sql` is taken by reference, not copied, so that a statement holding a
  // verifier leaves no copy behind.
  Result<std::optional<std::string>> Query(const std::string& sql,
                                           const std::vector<std::string>& parameters,
                                           std::string_view what, Deadline deadline);
  // Query() for a statement whose result does not matter.
  Status Execute(const std::string& sql, std::string_view what, Deadline deadline);

  // `name` quoted as an SQL identifier / string literal by libpq, for this
  // connection's encoding.
  Result<std::string> QuoteIdentifier(std::string_view name);
  Result<std::string> QuoteLiteral(std::string_view text);

  // Which statement carries a new password.
  enum class PasswordStatement {
    kAlterRole,   // ALTER ROLE <role> PASSWORD '<verifier>'
    kCreateRole,  // CREATE ROLE <role> WITH LOGIN INHERIT PASSWORD '<verifier>'
  };

  // Sets the password of role `role` to `password` without the plaintext
  // leaving this process: the verifier is computed here with
  // PQencryptPasswordConn and sent in `statement`. `algorithm` is
  // "scram-sha-256" or "md5"; empty follows the server's
  // password_encryption. Every buffer that held the verifier is wiped. The
  // session's user needs the right to alter `role` (itself, or CREATEROLE).
  // Returns the algorithm used.
  Result<std::string> SetPassword(std::string_view role, const Secret& password,
                                  std::string_view algorithm, Deadline deadline,
                                  PasswordStatement statement = PasswordStatement::kAlterRole);

  // Returns true iff the connection is open and encrypted with TLS.
  bool UsesTls() const;
  // libpq's TLS attribute `name` ("protocol", "cipher"), "" when none.
  std::string TlsAttribute(const char* name) const;
  // Returns true iff the server asked for a password when logging in.
  bool UsedPassword() const;
  // Describe() of the credentials this session logged in with.
  const std::string& who() const { return who_; }

 private:
  PostgresSession(PgConn conn, std::string who) : conn_(std::move(conn)), who_(std::move(who)) {}

  Status Closed() const;
  // Waits until the socket is readable (or writable); closes the connection
  // on failure.
  Status Wait(bool for_write, Deadline deadline, std::string_view what);

  PgConn conn_;
  std::string who_;
};

}  // namespace secret_rotator::strategies::postgres
