// PostgreSQL and Aurora PostgreSQL: single-user and alternating-users
// rotation with libpq.
//
// Connections (see postgres_connection.h for the details):
//  - TLS as strategy.h's one policy says (ResolveConnectionTls: DB_TLS_MODE
//    is a floor a secret's "ssl" may raise but not lower). DB_TLS_MODE maps
//    to libpq's sslmode: verify-full (default), verify-ca, require, disable;
//    never "prefer" or "allow", so a failed TLS handshake is an error
//    (DatabaseTlsError) and never a plaintext retry: libpq sends nothing but
//    the SSLRequest before TLS is up.
//  - Certificates are verified against DB_TLS_CA_FILE, else the system CA
//    bundle file (libpq 15 has no sslrootcert=system).
//  - Each connection attempt is bounded by min(5 s, the time left) and each
//    statement by the time left, on the client and by statement_timeout.
//
// Passwords: the verifier (SCRAM-SHA-256 or MD5, following the server's
// password_encryption unless PASSWORD_ENCRYPTION forces one) is computed here
// with PQencryptPasswordConn; only the verifier goes to the server, in
// ALTER ROLE / CREATE ROLE ... PASSWORD, so a server logging every statement
// never logs a plaintext password. An md5 verifier is password-equivalent:
// SetSecret then returns a warning.
//
// Single user: AWSCURRENT logs in, else AWSPENDING (done), else AWSPREVIOUS;
// the user changes its own password, AWSPENDING must then log in, else the
// old password is put back.
//
// Alternating users: the roles are "<user>" (the original) and
// "<user>_clone". The current credentials must log in first (a secret whose
// current password does not work is refused: that guards against a forged
// secret asking the admin to reset someone's password), and the admin must
// not be the rotated user or its clone. As the admin user from masterarn,
// the target role (the pending user) is created when it is a missing clone
// (CREATE ROLE ... LOGIN INHERIT PASSWORD '<verifier>', one statement), or
// updated when it is provably this rotation's (DecideTargetAccount), else
// refused (AccountNotManaged). On every rotation the clone is kept LOGIN and
// INHERIT, a member of the original (GRANT original TO clone) and set to act
// as the original at login (ALTER ROLE clone SET role = 'original'): objects
// the clone creates are owned by the original, and both users can use every
// object either creates. The pending password is set unless it logs in
// already, and must log in at the end.
//
// Error types: those of strategy.h's db_error.
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
