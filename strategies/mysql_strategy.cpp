#include "strategies/mysql_strategy.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "strategies/mysql_session.h"
#include "strategies/mysql_sql.h"

namespace secret_rotator::strategies {

namespace {

using mysql::Account;
using mysql::Session;

constexpr char kAccountMismatch[] = "AccountMismatch";
constexpr char kUnsupportedGrant[] = "UnsupportedGrant";
constexpr unsigned int kErNonexistingGrant = 1141;  // SHOW GRANTS for an unknown account

constexpr char kPendingWho[] = "the AWSPENDING credentials";
constexpr char kCurrentWho[] = "the AWSCURRENT credentials";
constexpr char kPreviousWho[] = "the AWSPREVIOUS credentials";
constexpr char kAdminWho[] = "the admin credentials of the masterarn secret";

// 'user'@'host' for messages; not SQL.
std::string AccountText(const Account& account) {
  return "'" + account.user + "'@'" + account.host + "'";
}

// The account the server matched this session's login to. Refuses when it
// is not the user the credentials name (an anonymous account, say): that
// account is not the secret's to change.
Result<Account> MatchedAccount(Session& session, const DbCredentials& credentials,
                               std::string_view who) {
  Result<std::vector<Session::Row>> rows =
      session.Query("SELECT CURRENT_USER()", "reading CURRENT_USER()");
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1 || (*rows)[0].size() != 1 || !(*rows)[0][0]) {
    return Status(StatusCode::kInternal, mysql::kDatabaseError,
                  std::string(who) + ": SELECT CURRENT_USER() returned no account");
  }
  const std::string& text = *(*rows)[0][0];
  std::optional<Account> account = mysql::SplitCurrentUser(text);
  if (!account || account->user != credentials.username) {
    return Status(StatusCode::kFailedPrecondition, kAccountMismatch,
                  std::string(who) + " log in as user '" + credentials.username +
                      "', but the server matched the login to account '" + text +
                      "'; refusing to change an account the secret does not name");
  }
  return *std::move(account);
}

Result<mysql::ServerVersion> KnownVersion(const Session& session) {
  if (!session.version()) {
    return Status(StatusCode::kFailedPrecondition, mysql::kUnsupportedServer,
                  "cannot tell the server's version from '" + session.server_info() + "'");
  }
  return *session.version();
}

// The statement that sets `account_sql`'s password, as the server's version
// requires. It holds the password, so it is a Secret.
Result<Secret> PasswordStatement(Session& session, const mysql::ServerVersion& version,
                                 std::string_view account_sql, const Secret& password) {
  Result<Secret> quoted = session.QuoteSecret(password);
  if (!quoted.ok()) return quoted.status();
  const bool alter = mysql::PasswordChangeSyntax(version) == mysql::PasswordSyntax::kAlterUser;
  const std::string_view before = alter ? " IDENTIFIED BY " : " = PASSWORD(";
  const std::string_view after = alter ? "" : ")";
  std::string sql;
  sql.reserve(account_sql.size() + before.size() + quoted->size() + after.size() + 16);
  sql.append(alter ? "ALTER USER " : "SET PASSWORD FOR ");
  sql.append(account_sql);
  sql.append(before);
  sql.append(quoted->reveal());
  sql.append(after);
  Secret statement(std::move(sql));
  WipeString(sql);
  return statement;
}

// Logs in with `credentials` and runs SELECT 1.
Status LogInAndSelect(const DbCredentials& credentials, const StrategyConfig& config,
                      Deadline deadline, std::string_view who) {
  Result<Session> session = Session::Connect(credentials, config, deadline, who);
  if (!session.ok()) return session.status();
  return session->Execute("SELECT 1", "running SELECT 1");
}

class MySqlStrategy : public Strategy {
 public:
  explicit MySqlStrategy(StrategyConfig config) : config_(std::move(config)) {}

  Status TestSecret(const DbCredentials& pending, Deadline deadline) override {
    return LogInAndSelect(pending, config_, deadline, kPendingWho);
  }

 protected:
  Result<Session> Connect(const DbCredentials& credentials, Deadline deadline,
                          std::string_view who) const {
    return Session::Connect(credentials, config_, deadline, who);
  }

  // After a change: pending must log in now.
  Status Verify(const DbCredentials& pending, const Account& changed, Deadline deadline) const {
    Status logged_in = LogInAndSelect(pending, config_, deadline, kPendingWho);
    if (logged_in.ok() || !logged_in.Is(mysql::kLoginFailed)) return logged_in;
    return Status(StatusCode::kFailedPrecondition, mysql::kLoginFailed,
                  "set the password of account " + AccountText(changed) +
                      ", but the AWSPENDING credentials still do not log in (another account of "
                      "this user may match the client's host first): " +
                      logged_in.message());
  }

  StrategyConfig config_;
};

class SingleUserStrategy final : public MySqlStrategy {
 public:
  using MySqlStrategy::MySqlStrategy;

  Status SetSecret(const SetSecretRequest& request, Deadline deadline) override {
    // On a normal rotation AWSCURRENT logs in and AWSPENDING does not yet,
    // so AWSCURRENT goes first: one login fewer. When it is refused, an
    // earlier attempt may have set AWSPENDING already, or a half-finished
    // earlier rotation may have left AWSPREVIOUS.
    Result<Session> session = Connect(request.current, deadline, kCurrentWho);
    const DbCredentials* used = &request.current;
    if (!session.ok() && session.status().Is(mysql::kLoginFailed)) {
      Result<Session> pending = Connect(request.pending, deadline, kPendingWho);
      if (pending.ok()) return Status::Ok();  // an earlier attempt got this far
      if (!pending.status().Is(mysql::kLoginFailed)) return pending.status();
    }
    if (!session.ok() && session.status().Is(mysql::kLoginFailed) && request.previous != nullptr) {
      Result<Session> previous = Connect(*request.previous, deadline, kPreviousWho);
      if (previous.ok() || !previous.status().Is(mysql::kLoginFailed)) {
        session = std::move(previous);
        used = request.previous;
      }
    }
    if (!session.ok()) {
      if (!session.status().Is(mysql::kLoginFailed)) return session.status();
      return Status(StatusCode::kPermissionDenied, mysql::kLoginFailed,
                    "single-user rotation of " + Describe(request.pending) +
                        (request.previous != nullptr
                             ? ": neither the AWSCURRENT, the AWSPENDING nor the AWSPREVIOUS"
                             : ": neither the AWSCURRENT nor the AWSPENDING") +
                        " password logs in; last error: " + session.status().message());
    }

    Result<mysql::ServerVersion> version = KnownVersion(*session);
    if (!version.ok()) return version.status();
    Result<Account> account =
        MatchedAccount(*session, *used, used == request.previous ? kPreviousWho : kCurrentWho);
    if (!account.ok()) return account.status();
    Result<std::string> account_sql = session->QuoteAccount(*account);
    if (!account_sql.ok()) return account_sql.status();
    Result<Secret> statement =
        PasswordStatement(*session, *version, *account_sql, request.pending.password);
    if (!statement.ok()) return statement.status();
    Status changed = session->ExecuteSecret(
        *statement, "changing the password of account " + AccountText(*account),
        request.pending.password);
    if (!changed.ok()) return changed;
    Status verified = Verify(request.pending, *account, deadline);
    if (verified.ok() || !verified.Is(mysql::kLoginFailed)) return verified;

    // The account now has a password nothing logs in with: put back the one
    // that logged in, so that the applications' AWSCURRENT keeps working.
    Result<Secret> restore = PasswordStatement(*session, *version, *account_sql, used->password);
    Status restored =
        restore.ok()
            ? session->ExecuteSecret(
                  *restore, "putting back the password of account " + AccountText(*account),
                  used->password)
            : restore.status();
    if (!restored.ok()) {
      return Status(
          StatusCode::kFailedPrecondition, mysql::kLoginFailed,
          verified.message() + "; putting the old password back failed too: " + restored.message());
    }
    return Status(StatusCode::kFailedPrecondition, mysql::kLoginFailed,
                  verified.message() + "; the password that logged in before was put back");
  }
};

class AlternatingUsersStrategy final : public MySqlStrategy {
 public:
  using MySqlStrategy::MySqlStrategy;

  Status SetSecret(const SetSecretRequest& request, Deadline deadline) override {
    if (request.admin == nullptr) {
      return Status(StatusCode::kInvalidArgument, "MissingAdminCredentials",
                    "alternating-users rotation needs the admin credentials of the masterarn "
                    "secret");
    }
    // Guard against a forged secret: only a secret whose current
    // credentials work may have the admin create or change its other user.
    Result<Account> current_account = LogInAsCurrent(request.current, deadline);
    if (!current_account.ok()) return current_account.status();

    bool pending_logs_in = false;
    {
      Result<Session> pending = Connect(request.pending, deadline, kPendingWho);
      if (!pending.ok() && !pending.status().Is(mysql::kLoginFailed)) return pending.status();
      pending_logs_in = pending.ok();
    }

    Result<Session> admin = Connect(*request.admin, deadline, kAdminWho);
    if (!admin.ok()) return admin.status();
    const Account clone{request.pending.username, current_account->host};
    Status copied = CopyAccount(*admin, request, *current_account, clone, pending_logs_in);
    if (!copied.ok()) return copied;
    return Verify(request.pending, clone, deadline);
  }

 private:
  Result<Account> LogInAsCurrent(const DbCredentials& current, Deadline deadline) const {
    Result<Session> session = Connect(current, deadline, kCurrentWho);
    if (!session.ok()) {
      if (!session.status().Is(mysql::kLoginFailed)) return session.status();
      return Status(StatusCode::kPermissionDenied, mysql::kLoginFailed,
                    session.status().message() +
                        "; refusing to create or change the alternate user: the AWSCURRENT "
                        "credentials must log in first, so that a secret cannot name an "
                        "arbitrary user for the admin to take over");
    }
    return MatchedAccount(*session, current, kCurrentWho);
  }

  // Makes `clone` exist with `current`'s privileges and TLS requirements and
  // the pending password. Checks everything it can before the first change.
  Status CopyAccount(Session& admin, const SetSecretRequest& request, const Account& current,
                     const Account& clone, bool pending_logs_in) const {
    Result<mysql::ServerVersion> version = KnownVersion(admin);
    if (!version.ok()) return version.status();
    if (!mysql::SupportsAlterUser(*version)) {
      return Status(StatusCode::kFailedPrecondition, mysql::kUnsupportedServer,
                    "alternating-users rotation needs MariaDB 10.2 or MySQL 5.7.6 or later; "
                    "the server is " +
                        version->Name());
    }
    const std::size_t length = mysql::Utf8Length(clone.user);
    const std::size_t limit = mysql::MaxUsernameLength(*version);
    if (length > limit) {
      return Status(StatusCode::kInvalidArgument, mysql::kInvalidUsername,
                    "the alternate user name '" + clone.user + "' has " + std::to_string(length) +
                        " characters; " + version->Name() + " allows at most " +
                        std::to_string(limit) + "; nothing was changed");
    }
    Result<Account> admin_account = MatchedAccount(admin, *request.admin, kAdminWho);
    if (!admin_account.ok()) return admin_account.status();
    if (*admin_account == clone) {
      return Status(StatusCode::kFailedPrecondition, kAccountMismatch,
                    "the masterarn secret's user is account " + AccountText(*admin_account) +
                        ", which this rotation would change; use a separate admin user");
    }
    // SHOW output is parsed below; a known sql_mode fixes its quoting.
    if (Status mode = admin.Execute("SET SESSION sql_mode = ''", "setting the session's sql_mode");
        !mode.ok()) {
      return mode;
    }
    Result<std::string> current_sql = admin.QuoteAccount(current);
    if (!current_sql.ok()) return current_sql.status();
    Result<std::string> clone_sql = admin.QuoteAccount(clone);
    if (!clone_sql.ok()) return clone_sql.status();

    Result<std::vector<std::string>> current_grants = ShowGrants(admin, *current_sql, current);
    if (!current_grants.ok()) return current_grants.status();
    std::vector<std::string> wanted;
    for (std::size_t i = 0; i < current_grants->size(); ++i) {
      std::optional<std::string> rewritten =
          mysql::RewriteGrant((*current_grants)[i], current, *clone_sql);
      if (!rewritten) {
        return UnsupportedGrant(current, i, current_grants->size(), "nothing was changed");
      }
      wanted.push_back(std::move(*rewritten));
    }
    wanted = mysql::WithoutDanglingDefaultRoles(std::move(wanted));
    Result<std::vector<mysql::RequireItem>> wanted_require =
        ShowRequire(admin, *current_sql, current);
    if (!wanted_require.ok()) return wanted_require.status();

    Result<std::vector<std::string>> clone_grants = ShowGrants(admin, *clone_sql, clone);
    bool created = false;
    if (!clone_grants.ok()) {
      if (admin.last_error_number() != kErNonexistingGrant) return clone_grants.status();
      Result<Secret> create = CreateStatement(admin, *clone_sql, request.pending.password);
      if (!create.ok()) return create.status();
      Status made = admin.ExecuteSecret(*create, "creating user " + AccountText(clone),
                                        request.pending.password);
      if (!made.ok()) return made;
      created = true;
      clone_grants = ShowGrants(admin, *clone_sql, clone);
      if (!clone_grants.ok()) return clone_grants.status();
    }

    if (Status grants = SyncGrants(admin, *version, clone, *clone_sql, wanted, *clone_grants);
        !grants.ok()) {
      return grants;
    }
    Result<std::vector<mysql::RequireItem>> clone_require = ShowRequire(admin, *clone_sql, clone);
    if (!clone_require.ok()) return clone_require.status();
    if (*clone_require != *wanted_require) {
      Result<std::string> require = RequireClause(admin, *wanted_require);
      if (!require.ok()) return require.status();
      Status altered =
          admin.Execute("ALTER USER " + *clone_sql + " " + *require,
                        "copying the TLS requirement (REQUIRE) to " + AccountText(clone));
      if (!altered.ok()) return altered;
    }

    if (created || pending_logs_in) return Status::Ok();
    Result<Secret> statement =
        PasswordStatement(admin, *version, *clone_sql, request.pending.password);
    if (!statement.ok()) return statement.status();
    return admin.ExecuteSecret(*statement, "setting the password of account " + AccountText(clone),
                               request.pending.password);
  }

  // `outcome` says what was changed before, for the operator.
  static Status UnsupportedGrant(const Account& account, std::size_t index, std::size_t count,
                                 std::string_view outcome) {
    // The line itself is not shown: it may hold a password hash.
    return Status(StatusCode::kFailedPrecondition, kUnsupportedGrant,
                  "line " + std::to_string(index + 1) + " of " + std::to_string(count) +
                      " of SHOW GRANTS FOR " + AccountText(account) +
                      " has a form this function cannot copy; " + std::string(outcome));
  }

  static Result<std::vector<std::string>> ShowGrants(Session& admin, const std::string& account_sql,
                                                     const Account& account) {
    Result<std::vector<Session::Row>> rows = admin.Query(
        "SHOW GRANTS FOR " + account_sql, "reading the privileges of " + AccountText(account));
    if (!rows.ok()) return rows.status();
    std::vector<std::string> lines;
    for (const Session::Row& row : *rows) {
      if (row.empty() || !row[0]) continue;
      lines.push_back(*row[0]);
    }
    return lines;
  }

  static Result<std::vector<mysql::RequireItem>> ShowRequire(Session& admin,
                                                             const std::string& account_sql,
                                                             const Account& account) {
    const std::string what = "reading the TLS requirement of " + AccountText(account);
    Result<std::vector<Session::Row>> rows = admin.Query("SHOW CREATE USER " + account_sql, what);
    if (!rows.ok()) return rows.status();
    if (rows->size() != 1 || (*rows)[0].empty() || !(*rows)[0][0]) {
      return Status(StatusCode::kInternal, mysql::kDatabaseError, what + ": no row");
    }
    std::optional<std::vector<mysql::RequireItem>> items =
        mysql::ParseRequireClause(*(*rows)[0][0]);
    if (!items) {
      return Status(StatusCode::kFailedPrecondition, kUnsupportedGrant,
                    what + ": SHOW CREATE USER printed text this function cannot read");
    }
    return *std::move(items);
  }

  static Result<std::string> RequireClause(Session& admin,
                                           const std::vector<mysql::RequireItem>& items) {
    if (items.empty()) return std::string("REQUIRE NONE");
    std::string clause = "REQUIRE";
    for (const mysql::RequireItem& item : items) {
      clause += ' ';
      if (!item.literal) {
        clause += item.text;
        continue;
      }
      Result<std::string> quoted = admin.Quote(item.text);
      if (!quoted.ok()) return quoted.status();
      clause += *quoted;
    }
    return clause;
  }

  static Result<Secret> CreateStatement(Session& admin, const std::string& clone_sql,
                                        const Secret& password) {
    Result<Secret> quoted = admin.QuoteSecret(password);
    if (!quoted.ok()) return quoted.status();
    std::string sql;
    sql.reserve(clone_sql.size() + quoted->size() + 32);
    sql.append("CREATE USER ").append(clone_sql).append(" IDENTIFIED BY ").append(quoted->reveal());
    Secret statement(std::move(sql));
    WipeString(sql);
    return statement;
  }

  // Makes the clone's SHOW GRANTS equal to `wanted` (the current account's,
  // rewritten). When they already match nothing is revoked, so a user that
  // applications still use never loses its privileges for a moment.
  static Status SyncGrants(Session& admin, const mysql::ServerVersion& version,
                           const Account& clone, const std::string& clone_sql,
                           const std::vector<std::string>& wanted,
                           const std::vector<std::string>& clone_lines) {
    std::vector<std::string> have;
    for (std::size_t i = 0; i < clone_lines.size(); ++i) {
      std::optional<std::string> rewritten = mysql::RewriteGrant(clone_lines[i], clone, clone_sql);
      if (!rewritten) {
        return UnsupportedGrant(clone, i, clone_lines.size(),
                                "its privileges and password were not changed");
      }
      have.push_back(std::move(*rewritten));
    }
    std::vector<std::string> wanted_sorted = wanted;
    std::sort(wanted_sorted.begin(), wanted_sorted.end());
    std::sort(have.begin(), have.end());
    if (have == wanted_sorted) return Status::Ok();

    const std::string who = AccountText(clone);
    for (const std::string& line : clone_lines) {
      std::optional<std::string> revoke = mysql::RevokeStatementFor(line, clone, clone_sql);
      if (revoke) {
        if (Status s = admin.Execute(*revoke, "revoking a role or proxy grant from " + who);
            !s.ok()) {
          return s;
        }
      } else if (version.mariadb && mysql::IsDefaultRoleLine(line)) {
        if (Status s = admin.Execute("SET DEFAULT ROLE NONE FOR " + clone_sql,
                                     "clearing the default role of " + who);
            !s.ok()) {
          return s;
        }
      }
    }
    if (Status s = admin.Execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM " + clone_sql,
                                 "revoking the privileges of " + who);
        !s.ok()) {
      return s;
    }
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (Status s =
              admin.Execute(wanted[i], "copying privilege line " + std::to_string(i + 1) + " of " +
                                           std::to_string(wanted.size()) + " to " + who);
          !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Strategy> NewMySqlStrategy(RotationKind kind, const StrategyConfig& config) {
  if (kind == RotationKind::kAlternatingUsers) {
    return std::make_unique<AlternatingUsersStrategy>(config);
  }
  return std::make_unique<SingleUserStrategy>(config);
}

void AddMySqlEngines(StrategyRegistry& registry) {
  for (const char* engine : {"mysql", "mariadb", "aurora-mysql"}) {
    registry.Add(EngineEntry{engine, 3306, "/@\"'\\", NewMySqlStrategy});
  }
}

}  // namespace secret_rotator::strategies
