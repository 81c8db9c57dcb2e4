// PostgreSQL and Aurora PostgreSQL: single-user and alternating-users
// rotation with libpq.
//
// Connections (see postgres_connection.h for the details):
//  - TLS unless the secret's "ssl" is false. DB_TLS_MODE maps to libpq's
//    sslmode: verify-full (default), verify-ca, require, disable; never
//    "prefer" or "allow", so a failed TLS handshake is an error ("TlsError")
//    and never a plaintext retry.
//  - Certificates are verified against DB_TLS_CA_FILE, else the system CA
//    bundle file (/etc/ssl/certs/ca-certificates.crt on Debian,
//    /etc/pki/tls/certs/ca-bundle.crt on Amazon Linux): libpq 15 has no
//    sslrootcert=system, and its default, ~/.postgresql/root.crt, does not
//    exist in Lambda. RDS and Aurora certificates need the RDS CA bundle in
//    DB_TLS_CA_FILE.
//  - Each connection attempt is bounded by min(5 s, the time left) and each
//    statement by the time left, on the client and by statement_timeout.
//
// Passwords: the verifier (SCRAM-SHA-256 or MD5, following the server's
// password_encryption unless PASSWORD_ENCRYPTION forces one) is computed here
// with PQencryptPasswordConn; only the verifier goes to the server, in
// ALTER ROLE ... PASSWORD, so a server logging every statement never logs a
// plaintext password.
//
// Single user: pending logs in → done. Otherwise log in as the user with the
// current password (then the previous one) and change its own password.
//
// Alternating users: the roles are "<user>" (the original) and
// "<user>_clone". The current credentials must log in first (a secret whose
// current password does not work is refused: that guards against a forged
// secret asking the admin to reset someone's password). Pending logs in →
// done. Otherwise, as the admin user from masterarn:
//  - the clone is created if missing (CREATE ROLE ... LOGIN), and on every
//    rotation kept LOGIN and INHERIT, a member of the original
//    (GRANT original TO clone) and set to act as the original at login
//    (ALTER ROLE clone SET role = 'original'). Objects the clone creates are
//    therefore owned by the original, and the clone holds every privilege of
//    the original, including ownership of what the original created: both
//    users can use every object either creates.
//  - the pending user's password is set (the clone's on the way to the clone;
//    on the way back the original's, which exists already).
// A clone that exists as a superuser while the original is not is refused.
// A base username that itself ends in "_clone" cannot be told apart from a
// clone (the handler's naming rule), so it is treated as one.
//
// Status types: "TlsError", "ConnectionError", "Timeout", "DatabaseLoginFailed",
// "DatabaseError", "InvalidSecret", "ConfigurationError".
#pragma once

#include <memory>

#include "strategies/registry.h"
#include "strategies/strategy.h"

namespace secret_rotator::strategies {

// A PostgreSQL strategy of `kind`, using `config` for every connection.
std::unique_ptr<Strategy> NewPostgresStrategy(RotationKind kind, const StrategyConfig& config);

// Registers the engines "postgres" and "aurora-postgresql" (default port
// 5432; default excluded password characters :/@"'\ as AWS's PostgreSQL
// rotation functions exclude them).
void AddPostgresEngines(StrategyRegistry& registry);

}  // namespace secret_rotator::strategies
