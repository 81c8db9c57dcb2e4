// The seam between the rotation protocol and a database: a Strategy changes
// and tests a user's password on one engine, in one rotation style. It knows
// SQL and its driver, nothing of Lambda or Secrets Manager.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/deadline.h"
#include "base/secret.h"
#include "base/status.h"

namespace secret_rotator::strategies {

// How strictly TLS is required and verified (env DB_TLS_MODE).
enum class TlsMode {
  kVerifyFull,  // TLS; certificate chain and host name verified (default)
  kVerifyCa,    // TLS; certificate chain verified, host name not
  kRequire,     // TLS; certificate not verified
  kDisable,     // plaintext
};

// "verify-full", "verify-ca", "require" or "disable", as DB_TLS_MODE spells it.
std::string_view TlsModeName(TlsMode mode);

// Settings that apply to every connection the function makes, read once at
// start-up.
struct StrategyConfig {
  TlsMode tls_mode = TlsMode::kVerifyFull;
  // PEM bundle of trusted CAs (DB_TLS_CA_FILE); empty means the system store.
  std::string tls_ca_file;
  // PostgreSQL only: force "scram-sha-256" or "md5" (PASSWORD_ENCRYPTION);
  // empty follows the server's password_encryption.
  std::string password_encryption;
  // MySQL only: the folder of the client library's authentication plugins
  // (caching_sha2_password for MySQL 8, ...); empty keeps the library's own.
  std::string mysql_plugin_dir;
};

// One set of database credentials, parsed from a secret.
struct DbCredentials {
  std::string engine;
  std::string host;
  int port = 0;
  std::string username;
  Secret password;
  std::optional<std::string> dbname;
  // The secret's "ssl" field: nullopt when absent, else its boolean meaning.
  std::optional<bool> ssl;
};

// Returns "user@host:port" for messages; never the password.
std::string Describe(const DbCredentials& credentials);

struct SetSecretRequest {
  const DbCredentials& current;
  const DbCredentials& pending;
  const DbCredentials* previous = nullptr;  // AWSPREVIOUS, when there is one
  const DbCredentials* admin = nullptr;     // alternating users: the masterarn secret's
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  // Makes the database accept `request.pending`. Idempotent: succeeds without
  // a change when pending already logs in. REQUIRES: the handler has checked
  // that current and pending name the same host, port and engine.
  virtual Status SetSecret(const SetSecretRequest& request, Deadline deadline) = 0;

  // Logs in with `pending` and runs a trivial query.
  virtual Status TestSecret(const DbCredentials& pending, Deadline deadline) = 0;
};

}  // namespace secret_rotator::strategies
