#include "strategies/postgres_connection.h"

#include <unistd.h>

#include <algorithm>
#include <array>

namespace secret_rotator::strategies::postgres {
namespace {

Status InvalidSecret(std::string message) {
  return Status(StatusCode::kInvalidArgument, db_error::kInvalidSecret, std::move(message));
}

bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// libpq messages end in a newline and may span lines (one per address tried).
std::string OneLine(std::string_view detail) {
  std::string line;
  for (char c : detail) {
    if (c == '\n' || c == '\r') {
      if (!line.empty() && line.back() != ' ') line += "; ";
    } else {
      line += c;
    }
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == ';')) line.pop_back();
  return line;
}

}  // namespace

const std::string* ConnectionParameters::Find(std::string_view keyword) const {
  for (const auto& [key, value] : keywords) {
    if (key == keyword) return &value;
  }
  return nullptr;
}

Result<ConnectionParameters> BuildConnectionParameters(
    const DbCredentials& credentials, const StrategyConfig& config,
    std::chrono::milliseconds remaining, const std::optional<std::string>& system_ca_bundle) {
  const std::string who = Describe(credentials);
  if (remaining.count() <= 0) {
    return Status(StatusCode::kDeadlineExceeded, db_error::kTimeout,
                  "no time left in the invocation to connect as " + who);
  }
  if (credentials.username.empty()) return InvalidSecret("the secret's username is empty");
  if (credentials.password.empty()) {
    return InvalidSecret("the password of " + who + " is empty");
  }
  // libpq takes NUL-terminated strings: an embedded NUL would silently cut a
  // value short and log in as someone else or with another password.
  if (HasNul(credentials.host) || HasNul(credentials.username) ||
      HasNul(credentials.password.reveal()) ||
      (credentials.dbname && HasNul(*credentials.dbname))) {
    return InvalidSecret("a field of the secret for " + who +
                         " holds a NUL character, which PostgreSQL cannot use");
  }

  ConnectionParameters parameters;
  parameters.connect_time = std::min(remaining, kMaxConnectTime);
  const ConnectionTls tls = ResolveConnectionTls(config, credentials.ssl);
  parameters.sslmode = std::string(TlsModeName(tls.mode));
  parameters.tls_description = tls.description;
  const bool verifies = parameters.sslmode == "verify-full" || parameters.sslmode == "verify-ca";
  if (verifies) {
    if (!config.tls_ca_file.empty()) {
      if (access(config.tls_ca_file.c_str(), R_OK) != 0) {
        return Status(StatusCode::kFailedPrecondition, db_error::kConfiguration,
                      "the CA bundle " + config.tls_ca_file + " (" + config.tls_ca_source +
                          ") cannot be read; set DB_TLS_CA_FILE to a readable PEM bundle of the "
                          "CAs that sign the database's certificate");
      }
      parameters.ca_file = config.tls_ca_file;
      parameters.ca_source = config.tls_ca_source;
    } else if (system_ca_bundle) {
      parameters.ca_file = *system_ca_bundle;
      parameters.ca_source = "the system CA bundle";
    } else {
      return Status(StatusCode::kFailedPrecondition, db_error::kConfiguration,
                    "sslmode " + parameters.sslmode + " must verify the certificate of " +
                        credentials.host +
                        " but no CA bundle was found: set DB_TLS_CA_FILE to a PEM bundle of "
                        "the CAs that sign it (for RDS and Aurora, the RDS CA bundle)");
    }
  }

  const int port = credentials.port == 0 ? kDefaultPort : credentials.port;
  auto& keywords = parameters.keywords;
  keywords.emplace_back("host", credentials.host);
  keywords.emplace_back("port", std::to_string(port));
  keywords.emplace_back("user", credentials.username);
  keywords.emplace_back("dbname", credentials.dbname.value_or(std::string(kDefaultDbname)));
  keywords.emplace_back("sslmode", parameters.sslmode);
  if (!parameters.ca_file.empty()) keywords.emplace_back("sslrootcert", parameters.ca_file);
  // A GSSAPI-encrypted session is not what the TLS settings describe; in
  // Lambda there are no Kerberos credentials anyway.
  keywords.emplace_back("gssencmode", "disable");
  keywords.emplace_back("client_encoding", "UTF8");
  keywords.emplace_back("application_name", "secret-rotator");
  keywords.emplace_back("options", "-c statement_timeout=" + std::to_string(remaining.count()));
  return parameters;
}

Status CheckRoleName(std::string_view name, std::string_view what) {
  if (name.empty()) return InvalidSecret(std::string(what) + " has an empty name");
  if (HasNul(name)) {
    return InvalidSecret(std::string(what) + " has a NUL character in its name");
  }
  if (name.size() > kMaxRoleNameBytes) {
    return InvalidSecret(
        std::string(what) + " '" + std::string(name) + "' is " + std::to_string(name.size()) +
        " bytes long; PostgreSQL role names hold at most " + std::to_string(kMaxRoleNameBytes) +
        " bytes (longer names are truncated): use a shorter username");
  }
  return Status::Ok();
}

Result<AlternatingRoles> ResolveAlternatingRoles(std::string_view current_username,
                                                 std::string_view pending_username) {
  // strategy.h's rule: a name ending in "_clone" is the clone of the name
  // without it; any other name is an original.
  AlternatingRoles roles;
  roles.pending_is_clone = !IsCloneName(current_username);
  roles.original =
      roles.pending_is_clone ? std::string(current_username) : AlternateUsername(current_username);
  roles.clone =
      roles.pending_is_clone ? AlternateUsername(current_username) : std::string(current_username);
  const std::string& expected = roles.pending_is_clone ? roles.clone : roles.original;
  if (pending_username != expected) {
    return InvalidSecret("alternating users: the AWSPENDING user must be '" + expected +
                         "' when the AWSCURRENT user is '" + std::string(current_username) +
                         "', not '" + std::string(pending_username) + "'");
  }
  if (Status status = CheckRoleName(roles.original, "the original user"); !status.ok()) {
    return status;
  }
  if (Status status = CheckRoleName(roles.clone, "the alternate user"); !status.ok()) {
    return status;
  }
  return roles;
}

Status ConnectFailure(ConnectStage stage, std::string_view detail, const std::string& who,
                      const ConnectionParameters& parameters) {
  const std::string line = OneLine(detail);
  switch (stage) {
    case ConnectStage::kTls: {
      std::string message = "TLS connection for " + who + " failed (" + parameters.tls_description +
                            "): " + line + ". ";
      if (!parameters.ca_file.empty()) {
        message += "The server's certificate was checked against " + parameters.ca_file + " (" +
                   parameters.ca_source +
                   "). To fix: set DB_TLS_CA_FILE to the CA bundle that signed the "
                   "server's certificate";
        if (parameters.sslmode == "verify-full") {
          message += ", or DB_TLS_MODE=verify-ca if the host name does not match it";
        }
        message +=
            "; DB_TLS_MODE=require encrypts without verifying, and DB_TLS_MODE=disable turns "
            "TLS off. No credential and no statement was sent without TLS";
      } else {
        message +=
            "To fix: enable TLS on the server, or set DB_TLS_MODE=disable to connect without "
            "TLS. No credential and no statement was sent without TLS";
      }
      return Status(StatusCode::kFailedPrecondition, db_error::kTls, std::move(message));
    }
    case ConnectStage::kLogin:
      if (Contains(line, "authentication failed") || Contains(line, "pg_hba.conf") ||
          Contains(line, "no password supplied")) {
        return Status(StatusCode::kPermissionDenied, db_error::kLoginFailed,
                      "the server refused the login of " + who + ": " + line);
      }
      return Status(StatusCode::kFailedPrecondition, db_error::kDatabase,
                    "the server refused the connection for " + who + ": " + line);
    case ConnectStage::kTransport:
      break;
  }
  return Status(StatusCode::kUnavailable, db_error::kConnection,
                "could not connect for " + who + ": " + line);
}

bool IsLoginRejected(const Status& status) { return status.Is(db_error::kLoginFailed); }

}  // namespace secret_rotator::strategies::postgres
