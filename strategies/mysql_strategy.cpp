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

constexpr unsigned int kErNonexistingGrant = 1141;  // SHOW GRANTS for an unknown account
constexpr unsigned int kErNotValidPassword = 1819;  // a password validation plugin refused it

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
    return Status(StatusCode::kInternal, db_error::kDatabase,
                  std::string(who) + ": SELECT CURRENT_USER() returned no account");
  }
  const std::string& text = *(*rows)[0][0];
  std::optional<Account> account = mysql::SplitCurrentUser(text);
  if (!account || account->user != credentials.username) {
    return Status(StatusCode::kFailedPrecondition, db_error::kAccountMismatch,
                  std::string(who) + " log in as user '" + credentials.username +
                      "', but the server matched the login to account '" + text +
                      "'; refusing to change an account the secret does not name");
  }
  return *std::move(account);
}

Result<mysql::ServerVersion> KnownVersion(const Session& session) {
  if (!session.version()) {
    return Status(StatusCode::kFailedPrecondition, db_error::kUnsupportedServer,
                  "cannot tell the server's version from '" + session.server_info() + "'");
  }
  return *session.version();
}

// The first column of SHOW CREATE USER `account_sql`, or nullopt when the
// server does not show it (no privilege, an old server).
std::optional<std::string> ShowCreateUser(Session& session, const std::string& account_sql,
                                          const Account& account) {
  Result<std::vector<Session::Row>> rows = session.Query(
      "SHOW CREATE USER " + account_sql, "reading the definition of " + AccountText(account));
  if (!rows.ok() || rows->size() != 1 || (*rows)[0].empty() || !(*rows)[0][0]) return std::nullopt;
  return *(*rows)[0][0];
}

// Builds a statement around one password value: `before` + value + `after`,
// in one buffer that is wiped.
Secret StatementAround(std::string_view before, std::string_view value, std::string_view after) {
  std::string sql;
  sql.reserve(before.size() + value.size() + after.size());
  sql.append(before).append(value).append(after);
  Secret statement(std::move(sql));
  WipeString(sql);
  return statement;
}

// How a password reaches the server: as mysql_native_password's hash when
// the account uses that plugin on MariaDB, so that the plaintext is in no
// statement and no server log; else as the password itself (inside the
// connection's TLS). MySQL 8's forms (IDENTIFIED WITH ... AS) are not used:
// they cannot be tested here, see the README.
struct PasswordForm {
  bool hashed = false;
  Secret value;  // the quoted literal
};

Result<PasswordForm> QuotedPasswordForm(Session& session, const mysql::ServerVersion& version,
                                        const std::string& plugin, const Secret& password,
                                        bool allow_hash) {
  PasswordForm form;
  form.hashed = allow_hash && version.mariadb && plugin == "mysql_native_password";
  if (form.hashed) {
    Secret hash = mysql::NativePasswordHash(password);
    if (hash.empty()) {
      return Status(StatusCode::kInternal, db_error::kInternal, "SHA-1 is not available");
    }
    Result<Secret> quoted = session.QuoteSecret(hash);
    if (!quoted.ok()) return quoted.status();
    form.value = *std::move(quoted);
    return form;
  }
  Result<Secret> quoted = session.QuoteSecret(password);
  if (!quoted.ok()) return quoted.status();
  form.value = *std::move(quoted);
  return form;
}

// Sets the password of `account` (whose SQL text is `account_sql` and whose
// authentication plugin is `plugin`, "" when unknown) to `password`. A server
// whose password validation refuses hashes (strict_password_validation) gets
// the password itself, with a warning.
Status SetAccountPassword(Session& session, const mysql::ServerVersion& version,
                          const Account& account, const std::string& account_sql,
                          const std::string& plugin, const Secret& password, std::string_view what,
                          Warnings* warnings) {
  for (bool allow_hash : {true, false}) {
    Result<PasswordForm> form = QuotedPasswordForm(session, version, plugin, password, allow_hash);
    if (!form.ok()) return form.status();
    Secret statement;
    if (form->hashed) {
      statement =
          StatementAround("SET PASSWORD FOR " + account_sql + " = ", form->value.reveal(), "");
    } else if (mysql::PasswordChangeSyntax(version) == mysql::PasswordSyntax::kAlterUser) {
      statement = StatementAround("ALTER USER " + account_sql + " IDENTIFIED BY ",
                                  form->value.reveal(), "");
    } else {
      statement = StatementAround("SET PASSWORD FOR " + account_sql + " = PASSWORD(",
                                  form->value.reveal(), ")");
    }
    Status changed =
        session.ExecuteSecret(statement, std::string(what) + " " + AccountText(account), password);
    if (changed.ok() || !form->hashed || session.last_error_number() != kErNotValidPassword) {
      return changed;
    }
    warnings->push_back(
        "the server's password validation refuses password hashes "
        "(strict_password_validation), so the new password of account " +
        AccountText(account) +
        " was sent as plain text inside the connection; a server that logs "
        "statements (the general log) has it in its log");
  }
  return Status(StatusCode::kInternal, db_error::kInternal, "unreachable");
}

// The other accounts of `account.user` (other host patterns), when the
// session may read mysql.user; nullopt when it may not.
std::optional<std::vector<Account>> OtherAccountsOfUser(Session& session, const Account& account) {
  Result<std::string> user = session.Quote(account.user);
  if (!user.ok()) return std::nullopt;
  Result<std::vector<Session::Row>> rows =
      session.Query("SELECT Host FROM mysql.user WHERE User = " + *user,
                    "listing the accounts of user '" + account.user + "'");
  if (!rows.ok()) return std::nullopt;
  std::vector<Account> others;
  for (const Session::Row& row : *rows) {
    if (!row.empty() && row[0] && *row[0] != account.host) {
      others.push_back({account.user, *row[0]});
    }
  }
  return others;
}

// A warning naming the accounts of the same user whose password this
// rotation leaves as it was, if the session can see any.
void WarnAboutOtherAccounts(Session& session, const Account& changed, Warnings* warnings) {
  std::optional<std::vector<Account>> others = OtherAccountsOfUser(session, changed);
  if (!others || others->empty()) return;
  std::string names;
  for (const Account& other : *others) {
    if (!names.empty()) names += ", ";
    names += AccountText(other);
  }
  warnings->push_back("user '" + changed.user + "' has other accounts (" + names +
                      ") whose password this rotation did not change: only " +
                      AccountText(changed) +
                      " (the account the server matched this function's login to) has the new "
                      "password; clients that match those accounts still need the old one");
}

// Logs in with `credentials` and runs SELECT 1.
Status LogInAndSelect(const DbCredentials& credentials, const StrategyConfig& config,
                      Deadline deadline, std::string_view who) {
  Result<Session> session = Session::Connect(credentials, config, deadline, who);
  if (!session.ok()) return session.status();
  return session->Execute("SELECT 1", "running SELECT 1");
}

// The first column of every row of `sql` (read-only), NULLs left out.
Result<std::vector<std::string>> Column(Session& session, std::string_view sql,
                                        std::string_view what) {
  Result<std::vector<Session::Row>> rows = session.Query(sql, what);
  if (!rows.ok()) return rows.status();
  std::vector<std::string> values;
  for (const Session::Row& row : *rows) {
    if (!row.empty() && row[0]) values.push_back(*row[0]);
  }
  return values;
}

// The session's server, TLS and, for `account`, authentication plugin.
SessionFacts FactsOf(Session& session, const Account& account, const std::string& account_sql) {
  SessionFacts facts;
  facts.server_version = session.server_info();
  facts.tls_cipher = session.cipher();
  facts.tls_mode = session.tls().description;
  Result<std::vector<Session::Row>> rows =
      session.Query("SHOW SESSION STATUS LIKE 'Ssl_version'", "reading the TLS version");
  if (rows.ok() && rows->size() == 1 && (*rows)[0].size() == 2 && (*rows)[0][1]) {
    facts.tls_version = *(*rows)[0][1];
  }
  facts.authentication =
      mysql::AuthPluginOf(ShowCreateUser(session, account_sql, account).value_or("")).value_or("");
  return facts;
}

// The privilege types granted to `account` as information_schema shows them
// to this session (USAGE left out): at any level ("any"), global ones
// ("global"), or global ones WITH GRANT OPTION ("grantable").
Result<std::vector<std::string>> PrivilegeTypes(Session& session, const Account& account,
                                                const std::string& levels) {
  Result<std::string> grantee = session.Quote(AccountText(account));
  if (!grantee.ok()) return grantee.status();
  std::string sql;
  for (const char* table :
       {"USER_PRIVILEGES", "SCHEMA_PRIVILEGES", "TABLE_PRIVILEGES", "COLUMN_PRIVILEGES"}) {
    if (levels != "any" && std::string_view(table) != "USER_PRIVILEGES") continue;
    if (!sql.empty()) sql += " UNION ";
    sql += std::string("SELECT PRIVILEGE_TYPE FROM information_schema.") + table +
           " WHERE GRANTEE = " + *grantee;
    if (levels == "grantable") sql += " AND IS_GRANTABLE = 'YES'";
  }
  Result<std::vector<std::string>> types =
      Column(session, sql, "reading the privileges of " + AccountText(account));
  if (!types.ok()) return types.status();
  std::erase(*types, "USAGE");
  std::sort(types->begin(), types->end());
  return types;
}

class MySqlStrategy : public Strategy {
 public:
  explicit MySqlStrategy(StrategyConfig config) : config_(std::move(config)) {}

  Status TestSecret(const DbCredentials& pending, Deadline deadline) override {
    return LogInAndSelect(pending, config_, deadline, kPendingWho);
  }

  Result<UserFacts> InspectUser(const DbCredentials& current, std::string_view next_username,
                                Deadline deadline) override {
    Result<Session> session = Connect(current, deadline, kCurrentWho);
    if (!session.ok()) return session.status();
    Result<mysql::ServerVersion> version = KnownVersion(*session);
    if (!version.ok()) return version.status();
    Result<Account> account = MatchedAccount(*session, current, kCurrentWho);
    if (!account.ok()) return account.status();
    Result<std::string> account_sql = session->QuoteAccount(*account);
    if (!account_sql.ok()) return account_sql.status();
    UserFacts facts;
    facts.session = FactsOf(*session, *account, *account_sql);
    facts.account = AccountText(*account);
    Result<std::vector<std::string>> read_only =
        Column(*session, "SELECT @@GLOBAL.read_only", "reading read_only");
    if (!read_only.ok()) return read_only.status();
    facts.read_only = read_only->size() == 1 && (*read_only)[0] != "0" &&
                      (*read_only)[0] != "OFF" && (*read_only)[0] != "NO";
    if (facts.read_only) facts.read_only_reason = "the server's read_only is on";
    Result<std::vector<std::string>> privileges = PrivilegeTypes(*session, *account, "any");
    if (!privileges.ok()) return privileges.status();
    facts.privileges = *std::move(privileges);
    for (const std::string& privilege : facts.privileges) {
      if (privilege == "SUPER" || privilege == "READ_ONLY ADMIN") facts.may_bypass_read_only = true;
    }
    facts.next_name_length = mysql::Utf8Length(next_username);
    facts.max_name_length = mysql::MaxUsernameLength(*version);
    return facts;
  }

  Result<AdminFacts> InspectAdmin(const DbCredentials& admin, std::string_view target_username,
                                  Deadline deadline) override {
    Result<Session> session = Connect(admin, deadline, kAdminWho);
    if (!session.ok()) return session.status();
    Result<Account> account = MatchedAccount(*session, admin, kAdminWho);
    if (!account.ok()) return account.status();
    Result<std::string> account_sql = session->QuoteAccount(*account);
    if (!account_sql.ok()) return account_sql.status();
    AdminFacts facts;
    facts.session = FactsOf(*session, *account, *account_sql);
    facts.account = AccountText(*account);
    Result<std::vector<std::string>> global = PrivilegeTypes(*session, *account, "global");
    if (!global.ok()) return global.status();
    facts.can_create_users =
        std::find(global->begin(), global->end(), "CREATE USER") != global->end();
    Result<std::vector<std::string>> grantable = PrivilegeTypes(*session, *account, "grantable");
    if (!grantable.ok()) return grantable.status();
    facts.grantable = *std::move(grantable);
    Result<std::string> user = session->Quote(target_username);
    if (!user.ok()) return user.status();
    Result<std::vector<std::string>> count = Column(
        *session, "SELECT COUNT(*) FROM mysql.user WHERE User = " + *user, "looking up the user");
    if (count.ok() && count->size() == 1) facts.target_exists = (*count)[0] != "0";
    return facts;
  }

 protected:
  Result<Session> Connect(const DbCredentials& credentials, Deadline deadline,
                          std::string_view who) const {
    return Session::Connect(credentials, config_, deadline, who);
  }

  // Returns true iff `credentials` log in; an error that is not a refused
  // login is returned as it is.
  Result<bool> LogsIn(const DbCredentials& credentials, Deadline deadline,
                      std::string_view who) const {
    Result<Session> session = Connect(credentials, deadline, who);
    if (session.ok()) return true;
    if (session.status().Is(db_error::kLoginFailed)) return false;
    return session.status();
  }

  // After a change: pending must log in now.
  Status Verify(const DbCredentials& pending, const Account& changed, Deadline deadline) const {
    Status logged_in = LogInAndSelect(pending, config_, deadline, kPendingWho);
    if (logged_in.ok() || !logged_in.Is(db_error::kLoginFailed)) return logged_in;
    return Status(StatusCode::kFailedPrecondition, db_error::kLoginFailed,
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

  Result<Warnings> SetSecret(const SetSecretRequest& request, Deadline deadline) override {
    // On a normal rotation AWSCURRENT logs in and AWSPENDING does not yet,
    // so AWSCURRENT goes first: one login fewer. When it is refused, an
    // earlier attempt may have set AWSPENDING already, or a half-finished
    // earlier rotation may have left AWSPREVIOUS.
    Result<Session> session = Connect(request.current, deadline, kCurrentWho);
    const DbCredentials* used = &request.current;
    if (!session.ok() && session.status().Is(db_error::kLoginFailed)) {
      Result<bool> pending = LogsIn(request.pending, deadline, kPendingWho);
      if (!pending.ok()) return pending.status();
      if (*pending) return Warnings{};  // an earlier attempt got this far
    }
    if (!session.ok() && session.status().Is(db_error::kLoginFailed) &&
        request.previous != nullptr) {
      Result<Session> previous = Connect(*request.previous, deadline, kPreviousWho);
      if (previous.ok() || !previous.status().Is(db_error::kLoginFailed)) {
        session = std::move(previous);
        used = request.previous;
      }
    }
    if (!session.ok()) {
      if (!session.status().Is(db_error::kLoginFailed)) return session.status();
      return Status(StatusCode::kPermissionDenied, db_error::kLoginFailed,
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
    const std::string plugin =
        mysql::AuthPluginOf(ShowCreateUser(*session, *account_sql, *account).value_or(""))
            .value_or("");
    Warnings warnings;
    Status changed =
        SetAccountPassword(*session, *version, *account, *account_sql, plugin,
                           request.pending.password, "changing the password of account", &warnings);
    if (!changed.ok()) return changed;
    Status verified = Verify(request.pending, *account, deadline);
    if (verified.ok()) {
      WarnAboutOtherAccounts(*session, *account, &warnings);
      return warnings;
    }
    if (!verified.Is(db_error::kLoginFailed)) return verified;

    // The account now has a password nothing logs in with: put back the one
    // that logged in, so that the applications' AWSCURRENT keeps working.
    Status restored =
        SetAccountPassword(*session, *version, *account, *account_sql, plugin, used->password,
                           "putting back the password of account", &warnings);
    if (!restored.ok()) {
      return Status(
          StatusCode::kFailedPrecondition, db_error::kLoginFailed,
          verified.message() + "; putting the old password back failed too: " + restored.message());
    }
    return Status(StatusCode::kFailedPrecondition, db_error::kLoginFailed,
                  verified.message() + "; the password that logged in before was put back");
  }
};

class AlternatingUsersStrategy final : public MySqlStrategy {
 public:
  using MySqlStrategy::MySqlStrategy;

  Result<Warnings> SetSecret(const SetSecretRequest& request, Deadline deadline) override {
    if (request.admin == nullptr) {
      return Status(StatusCode::kInvalidArgument, db_error::kInvalidSecret,
                    "alternating-users rotation needs the admin credentials of the masterarn "
                    "secret");
    }
    if (Status admin = CheckAdminIsNotRotated(request.admin->username, request.current.username);
        !admin.ok()) {
      return admin;
    }
    // Guard against a forged secret: only a secret whose current
    // credentials work may have the admin create or change its other user.
    Result<Account> current_account = LogInAsCurrent(request.current, deadline);
    if (!current_account.ok()) return current_account.status();

    TargetAccountFacts facts{request.pending.username};
    Result<bool> pending_logs_in = LogsIn(request.pending, deadline, kPendingWho);
    if (!pending_logs_in.ok()) return pending_logs_in.status();
    facts.pending_logs_in = *pending_logs_in;
    if (!facts.pending_logs_in && request.previous != nullptr &&
        request.previous->username == request.pending.username) {
      Result<bool> previous = LogsIn(*request.previous, deadline, kPreviousWho);
      if (!previous.ok()) return previous.status();
      facts.previous_logs_in = *previous;
    }

    Result<Session> admin = Connect(*request.admin, deadline, kAdminWho);
    if (!admin.ok()) return admin.status();
    const Account target{request.pending.username, current_account->host};
    Warnings warnings;
    Status copied = CopyAccount(*admin, request, *current_account, target, &facts, &warnings);
    if (!copied.ok()) return copied;
    if (Status verified = Verify(request.pending, target, deadline); !verified.ok()) {
      return verified;
    }
    WarnAboutOtherAccounts(*admin, *current_account, &warnings);
    return warnings;
  }

 private:
  Result<Account> LogInAsCurrent(const DbCredentials& current, Deadline deadline) const {
    Result<Session> session = Connect(current, deadline, kCurrentWho);
    if (!session.ok()) {
      if (!session.status().Is(db_error::kLoginFailed)) return session.status();
      return Status(StatusCode::kPermissionDenied, db_error::kLoginFailed,
                    session.status().message() +
                        "; refusing to create or change the alternate user: the AWSCURRENT "
                        "credentials must log in first, so that a secret cannot name an "
                        "arbitrary user for the admin to take over");
    }
    return MatchedAccount(*session, current, kCurrentWho);
  }

  // Makes `target` exist with `current`'s privileges and TLS requirements and
  // the pending password, if DecideTargetAccount allows. Checks everything it
  // can before the first change.
  Status CopyAccount(Session& admin, const SetSecretRequest& request, const Account& current,
                     const Account& target, TargetAccountFacts* facts, Warnings* warnings) const {
    Result<mysql::ServerVersion> version = KnownVersion(admin);
    if (!version.ok()) return version.status();
    if (!mysql::SupportsAlterUser(*version)) {
      return Status(StatusCode::kFailedPrecondition, db_error::kUnsupportedServer,
                    "alternating-users rotation needs MariaDB 10.2 or MySQL 5.7.6 or later; "
                    "the server is " +
                        version->Name());
    }
    const std::size_t length = mysql::Utf8Length(target.user);
    const std::size_t limit = mysql::MaxUsernameLength(*version);
    if (length > limit) {
      return Status(StatusCode::kInvalidArgument, db_error::kInvalidSecret,
                    "the alternate user name '" + target.user + "' has " + std::to_string(length) +
                        " characters; " + version->Name() + " allows at most " +
                        std::to_string(limit) + "; nothing was changed");
    }
    Result<Account> admin_account = MatchedAccount(admin, *request.admin, kAdminWho);
    if (!admin_account.ok()) return admin_account.status();
    if (*admin_account == target || *admin_account == current) {
      return Status(StatusCode::kFailedPrecondition, db_error::kAccountMismatch,
                    "the masterarn secret's user is account " + AccountText(*admin_account) +
                        ", which this rotation would change; use a separate admin user. Nothing "
                        "was changed");
    }
    // SHOW output is parsed below; a known sql_mode fixes its quoting.
    if (Status mode = admin.Execute("SET SESSION sql_mode = ''", "setting the session's sql_mode");
        !mode.ok()) {
      return mode;
    }
    Result<std::string> current_sql = admin.QuoteAccount(current);
    if (!current_sql.ok()) return current_sql.status();
    Result<std::string> target_sql = admin.QuoteAccount(target);
    if (!target_sql.ok()) return target_sql.status();

    Result<std::vector<std::string>> current_grants = ShowGrants(admin, *current_sql, current);
    if (!current_grants.ok()) return current_grants.status();
    std::vector<std::string> wanted;
    for (std::size_t i = 0; i < current_grants->size(); ++i) {
      std::optional<std::string> rewritten =
          mysql::RewriteGrant((*current_grants)[i], current, *target_sql);
      if (!rewritten) {
        return UnsupportedGrant(current, i, current_grants->size(), "nothing was changed");
      }
      wanted.push_back(std::move(*rewritten));
    }
    wanted = mysql::WithoutDanglingDefaultRoles(std::move(wanted));
    Result<std::vector<mysql::RequireItem>> wanted_require =
        ShowRequire(admin, *current_sql, current);
    if (!wanted_require.ok()) return wanted_require.status();

    Result<std::vector<std::string>> target_grants = ShowGrants(admin, *target_sql, target);
    if (!target_grants.ok() && admin.last_error_number() != kErNonexistingGrant) {
      return target_grants.status();
    }
    facts->exists = target_grants.ok();
    Result<TargetAccountAction> action = DecideTargetAccount(*facts, AccountText(target));
    if (!action.ok()) return action.status();

    bool created = false;
    if (*action == TargetAccountAction::kCreate) {
      Status made =
          CreateAccount(admin, *version, target, *target_sql, request.pending.password, warnings);
      if (!made.ok()) return made;
      created = true;
      target_grants = ShowGrants(admin, *target_sql, target);
      if (!target_grants.ok()) return target_grants.status();
    }

    if (Status grants = SyncGrants(admin, *version, target, *target_sql, wanted, *target_grants);
        !grants.ok()) {
      return grants;
    }
    const std::string target_definition = ShowCreateUser(admin, *target_sql, target).value_or("");
    std::optional<std::vector<mysql::RequireItem>> target_require =
        mysql::ParseRequireClause(target_definition);
    if (!target_require) {
      return Status(StatusCode::kFailedPrecondition, db_error::kUnsupportedGrant,
                    "reading the TLS requirement of " + AccountText(target) +
                        ": SHOW CREATE USER printed text this function cannot read");
    }
    if (*target_require != *wanted_require) {
      Result<std::string> require = RequireClause(admin, *wanted_require);
      if (!require.ok()) return require.status();
      Status altered =
          admin.Execute("ALTER USER " + *target_sql + " " + *require,
                        "copying the TLS requirement (REQUIRE) to " + AccountText(target));
      if (!altered.ok()) return altered;
    }

    if (created || facts->pending_logs_in) return Status::Ok();
    return SetAccountPassword(
        admin, *version, target, *target_sql, mysql::AuthPluginOf(target_definition).value_or(""),
        request.pending.password, "setting the password of account", warnings);
  }

  // Creates `account` with `password` in one statement, so that an account
  // this function created always logs in with the AWSPENDING password (which
  // is how a later attempt recognises it). On MariaDB it is created with
  // mysql_native_password and only the hash is sent.
  static Status CreateAccount(Session& admin, const mysql::ServerVersion& version,
                              const Account& account, const std::string& account_sql,
                              const Secret& password, Warnings* warnings) {
    for (bool allow_hash : {true, false}) {
      Result<PasswordForm> form =
          QuotedPasswordForm(admin, version, "mysql_native_password", password, allow_hash);
      if (!form.ok()) return form.status();
      const Secret statement =
          StatementAround("CREATE USER " + account_sql +
                              (form->hashed ? " IDENTIFIED BY PASSWORD " : " IDENTIFIED BY "),
                          form->value.reveal(), "");
      Status made =
          admin.ExecuteSecret(statement, "creating user " + AccountText(account), password);
      if (made.ok() || !form->hashed || admin.last_error_number() != kErNotValidPassword) {
        return made;
      }
      warnings->push_back(
          "the server's password validation refuses password hashes "
          "(strict_password_validation), so the password of the new account " +
          AccountText(account) +
          " was sent as plain text inside the connection; a server that logs "
          "statements (the general log) has it in its log");
    }
    return Status(StatusCode::kInternal, db_error::kInternal, "unreachable");
  }

  // `outcome` says what was changed before, for the operator.
  static Status UnsupportedGrant(const Account& account, std::size_t index, std::size_t count,
                                 std::string_view outcome) {
    // The line itself is not shown: it may hold a password hash.
    return Status(StatusCode::kFailedPrecondition, db_error::kUnsupportedGrant,
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
      return Status(StatusCode::kInternal, db_error::kDatabase, what + ": no row");
    }
    std::optional<std::vector<mysql::RequireItem>> items =
        mysql::ParseRequireClause(*(*rows)[0][0]);
    if (!items) {
      return Status(StatusCode::kFailedPrecondition, db_error::kUnsupportedGrant,
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
