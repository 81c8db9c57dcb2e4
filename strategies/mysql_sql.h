// Pure text functions behind the MySQL/MariaDB strategies: server versions,
// TLS settings, account names and the rewriting of SHOW GRANTS and SHOW
// CREATE USER output. No driver and no I/O, so they are unit-tested alone.
// Internal to strategies/.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret.h"
#include "strategies/strategy.h"

namespace secret_rotator::strategies::mysql {

// A server's flavour and version, from its version string.
struct ServerVersion {
  bool mariadb = false;
  int major = 0;
  int minor = 0;
  int patch = 0;

  // Returns true iff this version is at least major.minor.patch.
  bool AtLeast(int at_least_major, int at_least_minor, int at_least_patch) const;
  // "MariaDB 10.11.19" or "MySQL 8.0.36".
  std::string Name() const;
};

// Parses a server version string: "8.0.36", "5.7.44-log",
// "10.11.19-MariaDB-0+deb12u1-log", "5.5.5-10.6.16-MariaDB" (the prefix old
// MySQL clients see from MariaDB), "8.0.mysql_aurora.3.05.2". Returns nullopt
// when the text does not start with "<major>.<minor>".
std::optional<ServerVersion> ParseServerVersion(std::string_view text);

// The longest user name the server accepts, in characters: MariaDB 10.0+ 80,
// MySQL 5.7.8+ 32, older servers 16.
std::size_t MaxUsernameLength(const ServerVersion& version);

// How a password is changed:
//   kAlterUser:  ALTER USER 'u'@'h' IDENTIFIED BY '...'        (MySQL 5.7.6+)
//   kSetPassword: SET PASSWORD FOR 'u'@'h' = PASSWORD('...')   (MariaDB, MySQL < 5.7.6)
// MariaDB uses SET PASSWORD on every version: its ALTER USER needs the CREATE
// USER privilege even for the user's own account, SET PASSWORD does not, and
// SET PASSWORD keeps the account's authentication plugin.
enum class PasswordSyntax { kAlterUser, kSetPassword };
PasswordSyntax PasswordChangeSyntax(const ServerVersion& version);

// Returns true iff the server has ALTER USER ... REQUIRE and SHOW CREATE USER
// (MariaDB 10.2+, MySQL 5.7.6+), which copying an account needs.
bool SupportsAlterUser(const ServerVersion& version);

// The number of characters (UTF-8 code points) in `text`.
std::size_t Utf8Length(std::string_view text);

// Connect, read and write timeout in whole seconds: the remaining time, at
// most 5 s, at least 1 s.
unsigned int IoTimeoutSeconds(std::chrono::milliseconds remaining);

// A MySQL account: user name and host pattern.
struct Account {
  std::string user;
  std::string host;
  bool operator==(const Account&) const = default;
};

// Splits CURRENT_USER()'s "user@host" at the last '@' (a user name may hold
// '@', a host pattern may not). Returns nullopt when there is no '@'.
std::optional<Account> SplitCurrentUser(std::string_view text);

// Rewrites one line of `SHOW GRANTS FOR from` so that it applies to the
// account whose SQL text is `to_sql` (e.g. 'app_clone'@'%', already quoted
// and escaped). Only the grantee after GRANT ... TO, REVOKE ... FROM or
// SET DEFAULT ROLE ... FOR is replaced, found by tokenizing the line (so a
// database or role with the user's name is left alone); an IDENTIFIED ...
// clause (a password hash), a REQUIRE clause and resource limits are dropped;
// WITH GRANT OPTION and WITH ADMIN OPTION are kept. REQUIRES: the line was
// printed with sql_mode '' (backtick identifiers, backslash escapes).
// Returns nullopt when the line has another shape or its grantee is not
// `from`.
std::optional<std::string> RewriteGrant(std::string_view line, const Account& from,
                                        std::string_view to_sql);

// For a line of `SHOW GRANTS FOR account` that REVOKE ALL PRIVILEGES, GRANT
// OPTION does not undo (a role grant or a PROXY grant), the statement that
// revokes it from `account_sql`; nullopt for every other line.
std::optional<std::string> RevokeStatementFor(std::string_view line, const Account& account,
                                              std::string_view account_sql);

// Returns true iff `line` is a "SET DEFAULT ROLE ..." line (MariaDB).
bool IsDefaultRoleLine(std::string_view line);

// `lines` (SHOW GRANTS output, possibly rewritten) without the SET DEFAULT
// ROLE lines whose role is not granted by a line of `lines`: MariaDB keeps a
// default role after the role is revoked, and such a line cannot be replayed.
std::vector<std::string> WithoutDanglingDefaultRoles(std::vector<std::string> lines);

// One element of a REQUIRE clause: a keyword (NONE, SSL, X509, ISSUER,
// SUBJECT, CIPHER, AND; upper case) or a string literal's decoded value.
struct RequireItem {
  bool literal = false;
  std::string text;
  bool operator==(const RequireItem&) const = default;
};

// The REQUIRE clause of a SHOW CREATE USER statement, empty when there is
// none or it is REQUIRE NONE. Returns nullopt when the text cannot be
// tokenized. REQUIRES: printed with sql_mode ''.
std::optional<std::vector<RequireItem>> ParseRequireClause(std::string_view create_user);

// The authentication plugin of a SHOW CREATE USER statement:
// "mysql_native_password" for IDENTIFIED BY PASSWORD '...' (MariaDB's form)
// or IDENTIFIED VIA/WITH mysql_native_password; the plugin's name for
// IDENTIFIED VIA/WITH <plugin>; "" for an account with no IDENTIFIED clause.
// Returns nullopt when the text cannot be tokenized or names several plugins
// (MariaDB's VIA a OR b). REQUIRES: printed with sql_mode ''.
std::optional<std::string> AuthPluginOf(std::string_view create_user);

// mysql_native_password's stored form of `password`: "*" and the upper-case
// hex of SHA1(SHA1(password)), 41 characters. Sending it instead of the
// password keeps the plaintext out of the server's logs.
Secret NativePasswordHash(const Secret& password);

}  // namespace secret_rotator::strategies::mysql
