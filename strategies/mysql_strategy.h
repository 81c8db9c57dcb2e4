// MySQL, MariaDB and Aurora MySQL: the engines "mysql", "mariadb" and
// "aurora-mysql", single-user and alternating-users rotation.
//
// Connection. TCP to the secret's host and port as its user, optional dbname,
// character set utf8mb4; connect, read and write timeouts are the
// invocation's remaining time, at most 5 s (at least 1 s). TLS follows the
// one policy of strategy.h (ResolveConnectionTls: DB_TLS_MODE is a floor):
//   mode         MariaDB Connector/C                        libmysqlclient
//   verify-full  SSL_ENFORCE + SSL_VERIFY_SERVER_CERT + CA  SSL_MODE_VERIFY_IDENTITY + CA
//   verify-ca    SSL_ENFORCE + CA (chain only), TLS gate    SSL_MODE_VERIFY_CA + CA
//   require      SSL_ENFORCE, no verification, TLS gate     SSL_MODE_REQUIRED
//   disable      no TLS                                     SSL_MODE_DISABLED
// CA = DB_TLS_CA_FILE, else the system store. In every mode but disable no
// credential byte and no SQL leaves the process unless TLS is up (the TLS
// gate, mysql_tls_gate.h, covers the modes Connector/C 3.3 leaves open), and
// there is never a plaintext retry. Clear-text authentication plugins
// (mysql_clear_password, dialog) are refused unless DB_ALLOW_CLEARTEXT_AUTH.
//
// Password change, on the account the server matched the login to (SELECT
// CURRENT_USER(), e.g. 'app'@'10.0.%', never an assumed '%'):
//   MariaDB, mysql_native_password account  SET PASSWORD FOR 'u'@'h' = '*<hash>'
//   MariaDB, other plugins (ed25519, ...)   SET PASSWORD FOR 'u'@'h' = PASSWORD('...')
//   MySQL 5.7.6+ (8.x, Aurora MySQL 2/3)    ALTER USER 'u'@'h' IDENTIFIED BY '...'
// The hash keeps the plaintext out of the server's statement logs; where the
// password itself is sent, it is inside the connection's TLS but a server
// that logs statements (MariaDB's general log) logs it. Every literal is
// escaped by the driver. A statement that holds a password never appears in
// a log or an error.
//
// Single user (SetSecret): AWSCURRENT logs in, else AWSPENDING (done), else
// AWSPREVIOUS; change the password, check that AWSPENDING logs in, and put
// the old password back if it does not. Other accounts of the same user name
// (another host pattern) keep their password; when the user may read
// mysql.user, a warning names them.
//
// Alternating users (SetSecret): current must log in first (a secret whose
// current credentials do not work is refused: it could name any user); the
// admin must not be the rotated user or its clone. As the admin: the target
// account (the pending user, with the current account's host part) is
// created when it is a missing clone, or updated when it is provably this
// rotation's (DecideTargetAccount), else refused (AccountNotManaged). Its
// privileges are made equal to the current account's (SHOW GRANTS, grantee
// rewritten, password hashes dropped; when they differ: revoke all, roles and
// proxies, then replay), and its REQUIRE clause too; its password is set
// unless pending already logs in. Needs MariaDB 10.2+ or MySQL 5.7.6+. A user
// name longer than the server allows (MariaDB 80, MySQL 5.7.8+ 32, older 16
// characters) is refused before anything changes.
//
// TestSecret: log in with pending and run SELECT 1.
//
// Error types: those of strategy.h's db_error. Messages never contain a
// password; the server's error text is included except where it could quote
// a statement that holds one.
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
