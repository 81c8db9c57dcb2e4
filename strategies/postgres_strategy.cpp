#include "strategies/postgres_strategy.h"

#include <optional>
#include <string>
#include <utility>

#include "strategies/postgres_connection.h"
#include "strategies/postgres_session.h"

namespace secret_rotator::strategies {
namespace {

using postgres::AlternatingRoles;
using postgres::IsLoginRejected;
using postgres::PostgresSession;

constexpr std::string_view kExcludeCharacters = ":/@\"'\\";

std::string Quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

// Logs in with `credentials` and runs SELECT 1.
Status TestLogin(const DbCredentials& credentials, const StrategyConfig& config,
                 Deadline deadline) {
  Result<PostgresSession> session = PostgresSession::Connect(credentials, config, deadline);
  if (!session.ok()) return session.status();
  Result<std::optional<std::string>> one =
      session->Query("SELECT 1", {}, "running SELECT 1", deadline);
  if (!one.ok()) return one.status();
  if (!one->has_value() || **one != "1") {
    return Status(StatusCode::kInternal, db_error::kDatabase,
                  "SELECT 1 as " + session->who() + " did not return 1");
  }
  return Status::Ok();
}

// PostgreSQL's limit on names: NAMEDATALEN - 1 bytes.
constexpr std::size_t kMaxRoleNameBytes = 63;

// A read-only query's first value, "" when NULL or no row.
Result<std::string> Value(PostgresSession& session, const std::string& sql,
                          const std::vector<std::string>& parameters, std::string_view what,
                          Deadline deadline) {
  Result<std::optional<std::string>> value = session.Query(sql, parameters, what, deadline);
  if (!value.ok()) return value.status();
  return value->value_or("");
}

Result<SessionFacts> FactsOf(PostgresSession& session, const DbCredentials& credentials,
                             const StrategyConfig& config, Deadline deadline) {
  SessionFacts facts;
  Result<std::string> version =
      Value(session, "SHOW server_version", {}, "reading the server version", deadline);
  if (!version.ok()) return version.status();
  facts.server_version = "PostgreSQL " + *version;
  facts.tls_version = session.TlsAttribute("protocol");
  facts.tls_cipher = session.TlsAttribute("cipher");
  facts.tls_mode = ResolveConnectionTls(config, credentials.ssl).description;
  facts.authentication =
      session.UsedPassword() ? "password" : "no password (the server did not ask for one)";
  return facts;
}

// "true" / "false" of a boolean attribute of the session's own role.
Result<bool> OwnRoleFlag(PostgresSession& session, const char* column, Deadline deadline) {
  Result<std::string> value =
      Value(session,
            std::string("SELECT ") + column +
                "::text FROM pg_catalog.pg_roles WHERE rolname = current_user",
            {}, std::string("reading ") + column, deadline);
  if (!value.ok()) return value.status();
  return *value == "true";
}

class PostgresStrategy : public Strategy {
 public:
  explicit PostgresStrategy(StrategyConfig config) : config_(std::move(config)) {}

  Status TestSecret(const DbCredentials& pending, Deadline deadline) override {
    return TestLogin(pending, config_, deadline);
  }

  Result<UserFacts> InspectUser(const DbCredentials& current, std::string_view next_username,
                                Deadline deadline) override {
    Result<PostgresSession> session = Connect(current, deadline);
    if (!session.ok()) return session.status();
    UserFacts facts;
    Result<SessionFacts> seen = FactsOf(*session, current, config_, deadline);
    if (!seen.ok()) return seen.status();
    facts.session = *std::move(seen);
    facts.account = Quoted(current.username);
    Result<std::string> recovery = Value(*session, "SELECT pg_catalog.pg_is_in_recovery()::text",
                                         {}, "asking whether the server is a standby", deadline);
    if (!recovery.ok()) return recovery.status();
    Result<std::string> read_only =
        Value(*session, "SELECT current_setting('default_transaction_read_only')", {},
              "reading default_transaction_read_only", deadline);
    if (!read_only.ok()) return read_only.status();
    if (*recovery == "true") {
      facts.read_only = true;
      facts.read_only_reason = "the server is a standby (in recovery)";
    } else if (*read_only == "on") {
      facts.read_only = true;
      facts.read_only_reason = "default_transaction_read_only is on";
    }
    Result<bool> superuser = OwnRoleFlag(*session, "rolsuper", deadline);
    if (!superuser.ok()) return superuser.status();
    if (*superuser) facts.privileges.push_back("SUPERUSER");
    facts.next_name_length = next_username.size();
    facts.max_name_length = kMaxRoleNameBytes;
    return facts;
  }

  Result<AdminFacts> InspectAdmin(const DbCredentials& admin, std::string_view target_username,
                                  Deadline deadline) override {
    Result<PostgresSession> session = Connect(admin, deadline);
    if (!session.ok()) return session.status();
    AdminFacts facts;
    Result<SessionFacts> seen = FactsOf(*session, admin, config_, deadline);
    if (!seen.ok()) return seen.status();
    facts.session = *std::move(seen);
    facts.account = Quoted(admin.username);
    Result<bool> superuser = OwnRoleFlag(*session, "rolsuper", deadline);
    if (!superuser.ok()) return superuser.status();
    Result<bool> create_role = OwnRoleFlag(*session, "rolcreaterole", deadline);
    if (!create_role.ok()) return create_role.status();
    facts.grants_everything = *superuser;
    // CREATEROLE creates, alters and grants membership in roles that are not
    // superusers.
    facts.can_create_users = *superuser || *create_role;
    Result<std::string> exists =
        Value(*session, "SELECT 'yes' FROM pg_catalog.pg_roles WHERE rolname = $1",
              {std::string(target_username)}, "looking up the role", deadline);
    if (!exists.ok()) return exists.status();
    facts.target_exists = *exists == "yes";
    return facts;
  }

 protected:
  Result<PostgresSession> Connect(const DbCredentials& credentials, Deadline deadline) const {
    return PostgresSession::Connect(credentials, config_, deadline);
  }

  StrategyConfig config_;
};

// An md5 verifier is password-equivalent: whoever reads it (pg_authid, a
// statement log, a backup) can log in with it.
void WarnIfMd5(const std::string& method, std::string_view role, Warnings* warnings) {
  if (method != "md5") return;
  warnings->push_back("the new password of role \"" + std::string(role) +
                      "\" is stored as an md5 verifier (PASSWORD_ENCRYPTION or the server's "
                      "password_encryption is md5), which is password-equivalent for anyone who "
                      "reads it; prefer scram-sha-256");
}

class SingleUserStrategy final : public PostgresStrategy {
 public:
  using PostgresStrategy::PostgresStrategy;

  Result<Warnings> SetSecret(const SetSecretRequest& request, Deadline deadline) override {
    const DbCredentials& pending = request.pending;
    if (Status name = postgres::CheckRoleName(pending.username, "the user"); !name.ok()) {
      return name;
    }
    // On a normal rotation AWSCURRENT logs in and AWSPENDING does not yet,
    // so AWSCURRENT goes first: one login fewer. When it is refused, an
    // earlier attempt may have set AWSPENDING already, or a half-finished
    // earlier rotation may have left AWSPREVIOUS.
    const DbCredentials* used = &request.current;
    Result<PostgresSession> session = Connect(request.current, deadline);
    if (!session.ok()) {
      if (!IsLoginRejected(session.status())) {
        return session.status().WithContext("logging in with the AWSCURRENT password");
      }
      Result<PostgresSession> pending_login = Connect(pending, deadline);
      if (pending_login.ok()) return Warnings{};  // an earlier attempt got this far
      if (!IsLoginRejected(pending_login.status())) {
        return pending_login.status().WithContext("logging in with the AWSPENDING password");
      }
      if (request.previous == nullptr) {
        return pending_login.status().WithContext(
            "neither the AWSCURRENT nor the AWSPENDING password logs in");
      }
      used = request.previous;
      session = Connect(*request.previous, deadline);
      if (!session.ok()) {
        return session.status().WithContext(
            "none of the AWSCURRENT, AWSPENDING and AWSPREVIOUS passwords logs in; with "
            "AWSPREVIOUS");
      }
    }
    // A user may change its own password without any privilege.
    Result<std::string> method = session->SetPassword(pending.username, pending.password,
                                                      config_.password_encryption, deadline);
    if (!method.ok()) return method.status();
    if (Status confirmed = ConfirmOrRestore(*session, pending, *used, deadline); !confirmed.ok()) {
      return confirmed;
    }
    Warnings warnings;
    WarnIfMd5(*method, pending.username, &warnings);
    return warnings;
  }

 private:
  // The new password must log in before anything relies on it. If the
  // server refuses it (PASSWORD_ENCRYPTION=md5 under a scram-sha-256 rule in
  // pg_hba.conf, say), the password that logged in is put back so that
  // AWSCURRENT keeps working: as a SCRAM verifier, which pg_hba.conf's
  // scram-sha-256, md5 and password methods all accept.
  Status ConfirmOrRestore(PostgresSession& session, const DbCredentials& pending,
                          const DbCredentials& used, Deadline deadline) const {
    Result<PostgresSession> check = Connect(pending, deadline);
    if (check.ok()) return Status::Ok();
    if (!IsLoginRejected(check.status())) {
      // Not a refusal: a later attempt finds out whether the new password works.
      return check.status().WithContext("logging in with the new AWSPENDING password");
    }
    const std::string hint =
        config_.password_encryption == "md5"
            ? " (PASSWORD_ENCRYPTION is md5; the server's pg_hba.conf may require scram-sha-256)"
            : "";
    Result<std::string> restored =
        session.SetPassword(used.username, used.password, "scram-sha-256", deadline);
    if (!restored.ok()) {
      return Status(StatusCode::kPermissionDenied, db_error::kLoginFailed,
                    "the new password was set but the server refuses it" + hint +
                        ", and putting the old one back failed: " + restored.status().message());
    }
    return Status(StatusCode::kFailedPrecondition, db_error::kLoginFailed,
                  "the new password was set but the server refuses it" + hint +
                      "; the password that logged in before was put back. The refusal: " +
                      check.status().message());
  }
};

class AlternatingUsersStrategy final : public PostgresStrategy {
 public:
  using PostgresStrategy::PostgresStrategy;

  Result<Warnings> SetSecret(const SetSecretRequest& request, Deadline deadline) override {
    if (request.admin == nullptr) {
      return Status(StatusCode::kInvalidArgument, db_error::kInvalidSecret,
                    "alternating users need the admin credentials of the masterarn secret");
    }
    if (Status admin = CheckAdminIsNotRotated(request.admin->username, request.current.username);
        !admin.ok()) {
      return admin;
    }
    // Both names are checked before anything changes.
    Result<AlternatingRoles> roles =
        postgres::ResolveAlternatingRoles(request.current.username, request.pending.username);
    if (!roles.ok()) return roles.status();

    // Only someone who knows the current password may have the admin set
    // another one.
    if (Result<PostgresSession> current = Connect(request.current, deadline); !current.ok()) {
      return current.status().WithContext(
          "refusing to rotate: the AWSCURRENT credentials must log in first");
    }
    TargetAccountFacts facts{request.pending.username};
    Result<bool> pending_logs_in = LogsIn(request.pending, deadline, "the AWSPENDING credentials");
    if (!pending_logs_in.ok()) return pending_logs_in.status();
    facts.pending_logs_in = *pending_logs_in;
    if (!facts.pending_logs_in && request.previous != nullptr &&
        request.previous->username == request.pending.username) {
      Result<bool> previous = LogsIn(*request.previous, deadline, "the AWSPREVIOUS credentials");
      if (!previous.ok()) return previous.status();
      facts.previous_logs_in = *previous;
    }

    Result<PostgresSession> admin = Connect(*request.admin, deadline);
    if (!admin.ok()) {
      return admin.status().WithContext("logging in as the admin user of the masterarn secret");
    }
    Result<std::optional<std::string>> target =
        LookUpRole(*admin, request.pending.username, deadline);
    if (!target.ok()) return target.status();
    facts.exists = target->has_value();
    Result<TargetAccountAction> action =
        DecideTargetAccount(facts, "role " + Quoted(request.pending.username));
    if (!action.ok()) return action.status();

    Warnings warnings;
    if (*action == TargetAccountAction::kCreate) {
      // With its password in the same statement: a role this function
      // created always logs in with the AWSPENDING password, which is how a
      // later attempt recognises it.
      Result<std::string> method = admin->SetPassword(
          request.pending.username, request.pending.password, config_.password_encryption, deadline,
          PostgresSession::PasswordStatement::kCreateRole);
      if (!method.ok()) return method.status();
      WarnIfMd5(*method, request.pending.username, &warnings);
      facts.pending_logs_in = true;
    }
    if (Status clone = EnsureCloneActsAsOriginal(*admin, *roles, deadline); !clone.ok()) {
      return clone;
    }
    if (!facts.pending_logs_in) {
      Result<std::string> method =
          admin->SetPassword(request.pending.username, request.pending.password,
                             config_.password_encryption, deadline);
      if (!method.ok()) return method.status();
      WarnIfMd5(*method, request.pending.username, &warnings);
    }
    if (Status tested = TestSecret(request.pending, deadline); !tested.ok()) {
      return tested.WithContext("after setting the password, the AWSPENDING credentials");
    }
    return warnings;
  }

 private:
  // Returns true iff `credentials` log in; an error that is not a refused
  // login is returned as it is, with `who` in front.
  Result<bool> LogsIn(const DbCredentials& credentials, Deadline deadline,
                      std::string_view who) const {
    Result<PostgresSession> session = Connect(credentials, deadline);
    if (session.ok()) return true;
    if (IsLoginRejected(session.status())) return false;
    return session.status().WithContext("logging in with " + std::string(who));
  }

  // Returns "true"/"false" (the role's rolsuper), or nullopt when there is no
  // such role.
  static Result<std::optional<std::string>> LookUpRole(PostgresSession& admin,
                                                       const std::string& role, Deadline deadline) {
    return admin.Query("SELECT rolsuper::text FROM pg_catalog.pg_roles WHERE rolname = $1", {role},
                       "looking up role " + Quoted(role), deadline);
  }

  // Puts the clone's LOGIN, INHERIT, membership in the original and role
  // setting in place. Idempotent. REQUIRES: both roles exist.
  static Status EnsureCloneActsAsOriginal(PostgresSession& admin, const AlternatingRoles& roles,
                                          Deadline deadline) {
    Result<std::string> clone_name = admin.QuoteIdentifier(roles.clone);
    if (!clone_name.ok()) return clone_name.status();
    Result<std::string> original_name = admin.QuoteIdentifier(roles.original);
    if (!original_name.ok()) return original_name.status();
    Result<std::string> original_value = admin.QuoteLiteral(roles.original);
    if (!original_value.ok()) return original_value.status();
    const std::pair<std::string, std::string> statements[] = {
        {"ALTER ROLE " + *clone_name + " WITH LOGIN INHERIT",
         "keeping role " + Quoted(roles.clone) + " LOGIN INHERIT"},
        // Re-granting an existing membership is a notice, not an error.
        {"GRANT " + *original_name + " TO " + *clone_name,
         "granting role " + Quoted(roles.original) + " to " + Quoted(roles.clone)},
        {"ALTER ROLE " + *clone_name + " SET role = " + *original_value,
         "making role " + Quoted(roles.clone) + " act as " + Quoted(roles.original)},
    };
    for (const auto& [sql, what] : statements) {
      if (Status done = admin.Execute(sql, what, deadline); !done.ok()) return done;
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Strategy> NewPostgresStrategy(RotationKind kind, const StrategyConfig& config) {
  if (kind == RotationKind::kAlternatingUsers) {
    return std::make_unique<AlternatingUsersStrategy>(config);
  }
  return std::make_unique<SingleUserStrategy>(config);
}

void AddPostgresEngines(StrategyRegistry& registry) {
  for (const char* engine : {"postgres", "aurora-postgresql"}) {
    registry.Add(
        {engine, postgres::kDefaultPort, std::string(kExcludeCharacters), NewPostgresStrategy});
  }
}

}  // namespace secret_rotator::strategies
