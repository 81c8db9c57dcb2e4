// The seam between the rotation protocol and a database: a Strategy changes
// and tests a user's password on one engine, in one rotation style. It knows
// SQL and its driver, nothing of Lambda or Secrets Manager.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The error types (Status::type()) every strategy reports, the same for every
// engine, so that an alarm or a log filter on errorType does not depend on
// the database. The README lists them.
namespace db_error {
// TLS could not be set up or verified, or the peer did not offer it.
inline constexpr char kTls[] = "DatabaseTlsError";
// No connection: refused, reset, unknown host, no answer.
inline constexpr char kConnection[] = "DatabaseConnectionError";
// The server refused the credentials.
inline constexpr char kLoginFailed[] = "DatabaseLoginFailed";
// The server refused a statement, or another server-side failure.
inline constexpr char kDatabase[] = "DatabaseError";
// The invocation's time ran out.
inline constexpr char kTimeout[] = "Timeout";
// A field of a secret cannot be used (empty, NUL byte, too long, out of range).
inline constexpr char kInvalidSecret[] = "InvalidSecret";
// The function's own settings cannot be used (an unreadable CA file, ...).
inline constexpr char kConfiguration[] = "ConfigurationError";
// The login matched another account than the secret names, or the admin
// is the rotated user or its clone.
inline constexpr char kAccountMismatch[] = "AccountMismatch";
// An existing account that this function cannot prove it manages.
inline constexpr char kAccountNotManaged[] = "AccountNotManaged";
// The server's version is unknown or too old for the operation.
inline constexpr char kUnsupportedServer[] = "UnsupportedServer";
// A privilege line that cannot be copied to the alternate user.
inline constexpr char kUnsupportedGrant[] = "UnsupportedGrant";
// A bug or an answer the function did not expect.
inline constexpr char kInternal[] = "InternalError";
}  // namespace db_error

// tls_ca_source of the CA bundle shipped next to the binary, used when
// DB_TLS_CA_FILE is unset (by default Amazon RDS's global bundle).
inline constexpr char kPackagedCaSource[] = "the package's CA bundle; DB_TLS_CA_FILE is not set";

// Settings that apply to every connection the function makes, read once at
// start-up.
struct StrategyConfig {
  TlsMode tls_mode = TlsMode::kVerifyFull;
  // PEM bundle of trusted CAs (DB_TLS_CA_FILE, else the package's
  // db-ca-bundle.pem); empty means the system store.
  std::string tls_ca_file;
  // Where tls_ca_file comes from, for messages: "DB_TLS_CA_FILE" or
  // kPackagedCaSource.
  std::string tls_ca_source = "DB_TLS_CA_FILE";
  // PostgreSQL only: force "scram-sha-256" or "md5" (PASSWORD_ENCRYPTION);
  // empty follows the server's password_encryption.
  std::string password_encryption;
  // MySQL only: the folder of the client library's authentication plugins
  // (caching_sha2_password for MySQL 8, ...); empty keeps the library's own.
  std::string mysql_plugin_dir;
  // DB_TLS_ALLOW_SECRET_DOWNGRADE: a secret's "ssl": false may turn TLS off
  // although DB_TLS_MODE asks for it. Off by default: DB_TLS_MODE is a floor.
  bool allow_secret_tls_downgrade = false;
  // DB_ALLOW_CLEARTEXT_AUTH: MySQL's clear-text authentication plugins
  // (mysql_clear_password, dialog) may be used, over TLS only. Off by default.
  bool allow_cleartext_auth = false;
};

// The TLS mode of one connection and how it came about, for messages.
struct ConnectionTls {
  TlsMode mode = TlsMode::kVerifyFull;
  // E.g. "TLS mode verify-full (DB_TLS_MODE)".
  std::string description;
};

// The one TLS policy of every engine. DB_TLS_MODE is the operator's floor: a
// secret may ask for more TLS, never less.
//   the secret's "ssl"  DB_TLS_MODE      result
//   absent              any              DB_TLS_MODE
//   true                disable          verify-full (the secret asks for TLS)
//   true                any other        DB_TLS_MODE
//   false               any              DB_TLS_MODE, unless
//                                        config.allow_secret_tls_downgrade:
//                                        then disable
ConnectionTls ResolveConnectionTls(const StrategyConfig& config, std::optional<bool> secret_ssl);

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
  // AWSPREVIOUS, when there is one on the same host and port.
  const DbCredentials* previous = nullptr;
  const DbCredentials* admin = nullptr;  // alternating users: the masterarn secret's
};

// What a step did that the operator should know about although it
// succeeded; each is one sentence. Never holds a password.
using Warnings = std::vector<std::string>;

// The suffix of the second user in the alternating-users strategy.
inline constexpr std::string_view kCloneSuffix = "_clone";

// "alice" -> "alice_clone", "alice_clone" -> "alice".
std::string AlternateUsername(std::string_view username);

// Returns true iff `username` names the clone of another user ("x_clone").
bool IsCloneName(std::string_view username);

// Refuses (AccountMismatch) when the admin user of the masterarn secret is
// the rotated user or its alternate: rotating would change the admin's own
// password through the admin's session (locking out every secret that uses
// it) or create a full-privilege copy of the admin. Compares user names.
Status CheckAdminIsNotRotated(std::string_view admin_username, std::string_view current_username);

// Alternating users: what SetSecret may do with the account the AWSPENDING
// credentials name (the target), the one rule of every engine. The function
// never adopts or changes an account it did not create or was not given.
struct TargetAccountFacts {
  std::string_view target;        // the AWSPENDING user name
  bool exists = false;            // the account exists on the server
  bool pending_logs_in = false;   // it logs in with the AWSPENDING password
  bool previous_logs_in = false;  // AWSPREVIOUS names it and its password logs in
};
enum class TargetAccountAction {
  kCreate,  // a missing clone: create it
  kAdopt,   // an existing account proven to be this rotation's: update it
};
// kCreate for a missing "_clone" account; kAdopt for an existing account that
// logs in with the AWSPENDING password (an earlier attempt of this rotation
// set it) or with the AWSPREVIOUS password of the same user (an earlier
// rotation left it). Otherwise AccountNotManaged, naming the account and
// what to do: an existing account nothing proves to be this function's (it
// may belong to another application), or a missing original user (a secret
// whose AWSCURRENT user is "x_clone" while "x" does not exist: alternating
// users start from the original).
Result<TargetAccountAction> DecideTargetAccount(const TargetAccountFacts& facts,
                                                std::string_view account_text);

// What a read-only look at one login found (bootstrap check). No field holds
// a password.
struct SessionFacts {
  std::string server_version;  // as the server reports it
  std::string tls_version;     // e.g. "TLSv1.3"; empty for plaintext
  std::string tls_cipher;      // empty for plaintext
  std::string tls_mode;        // ConnectionTls::description
  std::string authentication;  // MySQL: the account's plugin; PostgreSQL: "password" or not
};

// The rotated user, seen through its own AWSCURRENT login.
struct UserFacts {
  SessionFacts session;
  std::string account;  // e.g. 'app'@'%' (MySQL) or "app" (PostgreSQL)
  // The server refuses writes (read_only, a standby, ...): `read_only_reason`
  // says which; `may_bypass_read_only` when the user's privileges override it.
  bool read_only = false;
  std::string read_only_reason;
  bool may_bypass_read_only = false;
  // The privileges the user holds that the alternate user must get, in the
  // engine's names (MySQL privilege types; PostgreSQL: SUPERUSER).
  std::vector<std::string> privileges;
  // The next user name (single user: the same; alternating: the alternate),
  // counted as the engine counts, and the server's limit.
  std::size_t next_name_length = 0;
  std::size_t max_name_length = 0;
};

// The admin of the masterarn secret, seen through its own login.
struct AdminFacts {
  SessionFacts session;
  std::string account;
  bool can_create_users = false;
  // A superuser may grant anything; else `grantable` lists what it may
  // grant (global privileges WITH GRANT OPTION).
  bool grants_everything = false;
  std::vector<std::string> grantable;
  // Whether the alternate account exists; nullopt when the admin cannot see.
  std::optional<bool> target_exists;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  // Read-only: logs in with `current` as SetSecret would (the same TLS
  // policy and gates) and reports what rotation depends on; `next_username`
  // is the user the next rotation sets. Runs no statement that changes
  // anything. Errors: those of a login (db_error).
  virtual Result<UserFacts> InspectUser(const DbCredentials& current,
                                        std::string_view next_username, Deadline deadline);

  // Read-only: logs in as the masterarn secret's admin and reports whether
  // it can create `target_username` and grant it the rotated user's
  // privileges. Errors: those of a login (db_error).
  virtual Result<AdminFacts> InspectAdmin(const DbCredentials& admin,
                                          std::string_view target_username, Deadline deadline);

  // Makes the database accept `request.pending`. Idempotent: succeeds without
  // a change when pending already logs in. REQUIRES: the handler has checked
  // that current and pending name the same host, port and engine. Returns
  // what the operator should know although the step succeeded.
  virtual Result<Warnings> SetSecret(const SetSecretRequest& request, Deadline deadline) = 0;

  // Logs in with `pending` and runs a trivial query.
  virtual Status TestSecret(const DbCredentials& pending, Deadline deadline) = 0;
};

}  // namespace secret_rotator::strategies
