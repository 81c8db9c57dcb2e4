// One connection to a MySQL or MariaDB server through the client library
// (MariaDB Connector/C or libmysqlclient), which stays behind a pimpl: this
// header holds no mysql.h. Internal to strategies/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/deadline.h"
#include "base/secret.h"
#include "base/status.h"
#include "strategies/mysql_sql.h"
#include "strategies/strategy.h"

namespace secret_rotator::strategies::mysql {

// A logged-in connection. Move-only; closes the connection on destruction.
// Not thread-safe: one thread uses a session at a time.
class Session {
 public:
  using Row = std::vector<std::optional<std::string>>;

  // Connects to credentials.host:port as credentials.username, with the TLS
  // mode ResolveConnectionTls(config, credentials.ssl), the CA bundle
  // config.tls_ca_file (else the system store), character set utf8mb4 and
  // connect/read/write timeouts of IoTimeoutSeconds(deadline). In every mode
  // but disable, no credential byte leaves the process unless TLS is up:
  // verify-full through the client library's own checks, require and
  // verify-ca through the TLS gate (mysql_tls_gate.h). Clear-text
  // authentication plugins are refused unless config.allow_cleartext_auth
  // (and then only over TLS). `who` names the credentials in messages ("the
  // AWSCURRENT credentials"). Errors (db_error): DatabaseTlsError,
  // DatabaseLoginFailed, DatabaseConnectionError, Timeout, DatabaseError,
  // InvalidSecret, InternalError.
  static Result<Session> Connect(const DbCredentials& credentials, const StrategyConfig& config,
                                 Deadline deadline, std::string_view who);

  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  ~Session();

  // The server's version string and its parsed form (nullopt when it could
  // not be parsed).
  const std::string& server_info() const;
  const std::optional<ServerVersion>& version() const;
  // The TLS cipher in use, or "" for a plaintext connection.
  std::string cipher() const;
  // The TLS mode and how it came about, for messages.
  const ConnectionTls& tls() const;

  // `text` as a quoted SQL string literal, escaped by the driver for the
  // connection's character set and sql_mode (NO_BACKSLASH_ESCAPES included).
  Result<std::string> Quote(std::string_view text);
  // The same for a secret; the result is a Secret too.
  Result<Secret> QuoteSecret(const Secret& text);
  // 'user'@'host', both parts quoted.
  Result<std::string> QuoteAccount(const Account& account);

  // Runs `sql`, discarding any result. `what` says what the statement does,
  // for the error message, which never contains the SQL. DatabaseError on a
  // server error (its text included), DatabaseConnectionError or Timeout when
  // the connection fails.
  Status Execute(std::string_view sql, std::string_view what);
  // Runs a statement that holds a password. On failure the server's message
  // is left out when it may quote the statement (a syntax error, or any text
  // that contains the password).
  Status ExecuteSecret(const Secret& sql, std::string_view what, const Secret& password);
  // Runs `sql` and returns every row; NULL columns are nullopt.
  Result<std::vector<Row>> Query(std::string_view sql, std::string_view what);
  // The server's error number for the last failed statement, 0 if none.
  unsigned int last_error_number() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace secret_rotator::strategies::mysql
