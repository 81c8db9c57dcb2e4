// MySQL, MariaDB and Aurora MySQL: the engines "mysql", "mariadb" and
// "aurora-mysql", single-user and alternating-users rotation.
//
// Connection. TCP to the secret's host and port as its user, optional dbname,
// character set utf8mb4; connect, read and write timeouts are the
// invocation's remaining time, at most 5 s (at least 1 s). TLS:
//   - the secret's "ssl": false        -> plaintext, whatever DB_TLS_MODE says
//   - "ssl": true                      -> TLS per DB_TLS_MODE; with
//                                         DB_TLS_MODE=disable, verify-full
//   - no "ssl"                         -> per DB_TLS_MODE
//   DB_TLS_MODE   MariaDB Connector/C                      libmysqlclient
//   verify-full   SSL_ENFORCE + SSL_VERIFY_SERVER_CERT + CA  SSL_MODE_VERIFY_IDENTITY + CA
//   verify-ca     SSL_ENFORCE + CA (chain only)              SSL_MODE_VERIFY_CA + CA
//   require       SSL_ENFORCE, no verification               SSL_MODE_REQUIRED
//   disable       no TLS                                     SSL_MODE_DISABLED
// CA = DB_TLS_CA_FILE, else the system store (OpenSSL's default file and
// directory, SSL_CERT_FILE / SSL_CERT_DIR honoured). When TLS is asked for, a
// TLS failure is an error (DatabaseTlsError) naming what failed and the
// settings that change it; there is never a plaintext retry.
//
// Password change, on the account the server matched the login to (SELECT
// CURRENT_USER(), e.g. 'app'@'10.0.%', never an assumed '%'):
//   MySQL 5.7.6+ (8.x, Aurora MySQL 2/3)  ALTER USER 'u'@'h' IDENTIFIED BY '...'
//   MariaDB (all), MySQL before 5.7.6     SET PASSWORD FOR 'u'@'h' = PASSWORD('...')
// Every literal is escaped by the driver (mysql_real_escape_string, which
// follows the connection's character set and NO_BACKSLASH_ESCAPES). A
// statement that holds a password never appears in a log or an error.
//
// Single user (SetSecret): if the pending credentials log in, done. Else log
// in with current, else with previous, change the password, and check that
// pending now logs in.
//
// Alternating users (SetSecret): current must log in first (a secret whose
// current credentials do not work is refused: it could name any user). Then,
// as the admin (request.admin, REQUIRED): the alternate user is created with
// the current account's host part if it does not exist; its privileges are
// made equal to the current account's (SHOW GRANTS, grantee rewritten,
// password hashes dropped; when they differ: revoke all, roles and proxies,
// then replay), and its REQUIRE clause (from SHOW CREATE USER) too; its
// password is set unless pending already logs in. Needs MariaDB 10.2+ or MySQL
// 5.7.6+. A user name longer than the server allows (MariaDB 80, MySQL 5.7.8+
// 32, older 16 characters) is refused before anything changes.
//
// TestSecret: log in with pending and run SELECT 1.
//
// Error types (Status::type()):
//   DatabaseTlsError         kFailedPrecondition  TLS could not be set up or verified
//   DatabaseLoginFailed      kPermissionDenied    the server refused the credentials
//   DatabaseConnectionError  kUnavailable         no connection (refused, reset, unknown host)
//   Timeout                  kDeadlineExceeded    the invocation's time ran out
//   DatabaseError            kFailedPrecondition  the server refused a statement
//   InvalidUsername          kInvalidArgument     empty, NUL, or too long for the server
//   InvalidPassword          kInvalidArgument     a NUL character
//   InvalidSecret            kInvalidArgument     empty host, port out of range
//   AccountMismatch          kFailedPrecondition  the login matched another account
//                                                 (e.g. an anonymous one), or the
//                                                 alternate account is the admin's
//   UnsupportedServer        kFailedPrecondition  unknown version, or too old for it
//   UnsupportedGrant         kFailedPrecondition  a SHOW GRANTS line that cannot be copied
//   MissingAdminCredentials  kInvalidArgument     alternating users without request.admin
// Messages never contain a password; the server's error text is included
// except where it could quote a statement that holds one.
#pragma once

#include <memory>

#include "strategies/registry.h"

namespace secret_rotator::strategies {

// Registers "mysql", "mariadb" and "aurora-mysql": default port 3306, and
// the characters AWS's MySQL rotation functions exclude from passwords
// (/ @ " ' \).
void AddMySqlEngines(StrategyRegistry& registry);

// The MySQL/MariaDB strategy for `kind`; what the registered factory makes.
std::unique_ptr<Strategy> NewMySqlStrategy(RotationKind kind, const StrategyConfig& config);

}  // namespace secret_rotator::strategies
