// PostgreSQL connection settings and the rules around them, as pure
// functions: which libpq keywords a login uses, which role names PostgreSQL
// can hold, and what a failed connection means. No libpq here; the
// connection itself is in postgres_session.h. Internal to strategies/.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "strategies/strategy.h"

namespace secret_rotator::strategies::postgres {

inline constexpr int kDefaultPort = 5432;
inline constexpr std::string_view kDefaultDbname = "postgres";
// PostgreSQL keeps at most NAMEDATALEN - 1 = 63 bytes of a name and silently
// truncates longer ones, so a longer role name must be refused up front.
inline constexpr std::size_t kMaxRoleNameBytes = 63;
// The longest a connection attempt may take, within the invocation's time.
inline constexpr std::chrono::milliseconds kMaxConnectTime{5000};

// The keyword/value pairs for PQconnectStartParams, without the password
// (the session adds it last, from the Secret).
struct ConnectionParameters {
  std::vector<std::pair<std::string, std::string>> keywords;
  // Bound for the whole connection attempt: min(kMaxConnectTime, remaining).
  std::chrono::milliseconds connect_time{0};
  // libpq's sslmode: ResolveConnectionTls's mode ("verify-full",
  // "verify-ca", "require" or "disable"; libpq uses DB_TLS_MODE's names).
  // Never "prefer" or "allow": a login never falls back to plaintext.
  std::string sslmode;
  // How the mode came about, for messages.
  std::string tls_description;
  // The CA file the server's certificate is verified against; empty when not
  // verified (sslmode require or disable).
  std::string ca_file;
  // Where ca_file came from, for messages: config.tls_ca_source or "the system CA bundle".
  std::string ca_source;

  // The value for `keyword`, or nullptr.
  const std::string* Find(std::string_view keyword) const;
};

// Builds the connection parameters for `credentials`:
//  - host; port (0 means 5432); user; dbname (absent means "postgres");
//  - sslmode from ResolveConnectionTls(); sslrootcert = config.tls_ca_file when set, else
//    `system_ca_bundle` for verify-full / verify-ca (require never verifies,
//    so it gets no CA file);
//  - options "-c statement_timeout=<remaining ms>" so that the server, too,
//    stops a statement when the invocation's time is up;
//  - client_encoding UTF8 (escaping and non-ASCII names depend on it),
//    application_name "secret-rotator", gssencmode disable.
// libpq's connect_timeout is not used: it counts whole seconds, treats values
// below 2 as 2 and is ignored by PQconnectPoll; the session bounds the
// attempt itself with `connect_time`.
// Errors: "Timeout" (kDeadlineExceeded) when `remaining` is zero;
// "InvalidSecret" (kInvalidArgument) when a field holds a NUL byte, the user
// name is empty or the password is empty; "ConfigurationError"
// (kFailedPrecondition) when a verifying sslmode has neither DB_TLS_CA_FILE
// nor a system bundle, or DB_TLS_CA_FILE cannot be read.
Result<ConnectionParameters> BuildConnectionParameters(
    const DbCredentials& credentials, const StrategyConfig& config,
    std::chrono::milliseconds remaining, const std::optional<std::string>& system_ca_bundle);

// Returns OK iff `name` can be a PostgreSQL role name as it is: not empty, no
// NUL byte, at most 63 bytes. Else "InvalidSecret" (kInvalidArgument) naming
// `what` (e.g. "the alternate user") and the byte count.
Status CheckRoleName(std::string_view name, std::string_view what);

// The two roles of an alternating-users rotation. The original is the name
// without the "_clone" suffix; the clone is "<original>_clone"
// (AlternateUsername).
struct AlternatingRoles {
  std::string original;
  std::string clone;
  // True iff this rotation moves to the clone (pending is the clone); false
  // when it moves back to the original.
  bool pending_is_clone = false;
};

// Splits current/pending into original and clone. Errors: "InvalidSecret"
// when neither name is the other plus "_clone", or a name fails
// CheckRoleName (checked before anything changes).
Result<AlternatingRoles> ResolveAlternatingRoles(std::string_view current_username,
                                                 std::string_view pending_username);

// How far a failed connection attempt got before it failed.
enum class ConnectStage {
  kTransport,  // TCP (or name resolution): nothing reached a PostgreSQL server
  kTls,        // the TLS request or handshake
  kLogin,      // the startup packet and authentication, after TLS when used
};

// The Status for a connection attempt that failed at `stage` with libpq's
// message `detail` (which never holds the password):
//  - kTls: "DatabaseTlsError" (kFailedPrecondition); the message says what failed and
//    which setting changes it: DB_TLS_CA_FILE, DB_TLS_MODE or the secret's
//    "ssl" field.
//  - kLogin, when the server rejected the credentials (authentication failed,
//    no pg_hba.conf entry): "DatabaseLoginFailed" (kPermissionDenied).
//  - kLogin otherwise (no such database, too many connections...):
//    "DatabaseError" (kFailedPrecondition).
//  - kTransport: "DatabaseConnectionError" (kUnavailable).
// `who` is Describe(credentials).
Status ConnectFailure(ConnectStage stage, std::string_view detail, const std::string& who,
                      const ConnectionParameters& parameters);

// Returns true iff `status` means the server refused these credentials, so
// another password may still work.
bool IsLoginRejected(const Status& status);

}  // namespace secret_rotator::strategies::postgres
