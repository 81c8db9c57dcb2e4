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
    return Status(StatusCode::kInternal, "DatabaseError",
                  "SELECT 1 as " + session->who() + " did not return 1");
  }
  return Status::Ok();
}

class PostgresStrategy : public Strategy {
 public:
  explicit PostgresStrategy(StrategyConfig config) : config_(std::move(config)) {}

  Status TestSecret(const DbCredentials& pending, Deadline deadline) override {
    return TestLogin(pending, config_, deadline);
  }

 protected:
  Result<PostgresSession> Connect(const DbCredentials& credentials, Deadline deadline) const {
    return PostgresSession::Connect(credentials, config_, deadline);
  }

  StrategyConfig config_;
};

class SingleUserStrategy final : public PostgresStrategy {
 public:
  using PostgresStrategy::PostgresStrategy;

  Status SetSecret(const SetSecretRequest& request, Deadline deadline) override {
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
      if (pending_login.ok()) return Status::Ok();  // an earlier attempt got this far
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
    Status changed = session->SetPassword(pending.username, pending.password,
                                          config_.password_encryption, deadline);
    if (!changed.ok()) return changed;
    return ConfirmOrRestore(*session, pending, *used, deadline);
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
    Status restored = session.SetPassword(used.username, used.password, "scram-sha-256", deadline);
    if (!restored.ok()) {
      return Status(StatusCode::kPermissionDenied, "DatabaseLoginFailed",
                    "the new password was set but the server refuses it" + hint +
                        ", and putting the old one back failed: " + restored.message());
    }
    return Status(StatusCode::kFailedPrecondition, "DatabaseLoginFailed",
                  "the new password was set but the server refuses it" + hint +
                      "; the password that logged in before was put back. The refusal: " +
                      check.status().message());
  }
};

class AlternatingUsersStrategy final : public PostgresStrategy {
 public:
  using PostgresStrategy::PostgresStrategy;

  Status SetSecret(const SetSecretRequest& request, Deadline deadline) override {
    if (request.admin == nullptr) {
      return Status(StatusCode::kInvalidArgument, "InvalidSecret",
                    "alternating users need the admin credentials of the masterarn secret");
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
    Result<PostgresSession> pending_login = Connect(request.pending, deadline);
    if (pending_login.ok()) return Status::Ok();  // an earlier attempt got this far
    if (!IsLoginRejected(pending_login.status())) {
      return pending_login.status().WithContext("logging in with the AWSPENDING credentials");
    }

    Result<PostgresSession> admin = Connect(*request.admin, deadline);
    if (!admin.ok()) {
      return admin.status().WithContext("logging in as the admin user of the masterarn secret");
    }
    if (Status clone = EnsureClone(*admin, *roles, deadline); !clone.ok()) return clone;
    // The pending user's password is set last, so that "pending logs in"
    // means every step above is done.
    return admin->SetPassword(request.pending.username, request.pending.password,
                              config_.password_encryption, deadline);
  }

 private:
  // Returns "true"/"false" (the role's rolsuper), or nullopt when there is no
  // such role.
  static Result<std::optional<std::string>> LookUpRole(PostgresSession& admin,
                                                       const std::string& role, Deadline deadline) {
    return admin.Query("SELECT rolsuper::text FROM pg_catalog.pg_roles WHERE rolname = $1", {role},
                       "looking up role " + Quoted(role), deadline);
  }

  // Creates the clone if it is missing and puts its membership, INHERIT and
  // role setting in place. Idempotent.
  static Status EnsureClone(PostgresSession& admin, const AlternatingRoles& roles,
                            Deadline deadline) {
    Result<std::optional<std::string>> original = LookUpRole(admin, roles.original, deadline);
    if (!original.ok()) return original.status();
    if (!original->has_value()) {
      return Status(StatusCode::kFailedPrecondition, "DatabaseError",
                    "role " + Quoted(roles.original) + " does not exist on " + admin.who() +
                        "; the clone " + Quoted(roles.clone) + " acts as it and needs it");
    }
    Result<std::optional<std::string>> clone = LookUpRole(admin, roles.clone, deadline);
    if (!clone.ok()) return clone.status();

    Result<std::string> clone_name = admin.QuoteIdentifier(roles.clone);
    if (!clone_name.ok()) return clone_name.status();
    Result<std::string> original_name = admin.QuoteIdentifier(roles.original);
    if (!original_name.ok()) return original_name.status();
    Result<std::string> original_value = admin.QuoteLiteral(roles.original);
    if (!original_value.ok()) return original_value.status();

    if (!clone->has_value()) {
      Status created = admin.Execute("CREATE ROLE " + *clone_name + " WITH LOGIN INHERIT",
                                     "creating role " + Quoted(roles.clone), deadline);
      if (!created.ok()) {
        // Another attempt may have created it meanwhile; that is fine.
        Result<std::optional<std::string>> again = LookUpRole(admin, roles.clone, deadline);
        if (!again.ok() || !again->has_value()) return created;
      }
    } else if (**clone == "true" && **original != "true") {
      return Status(StatusCode::kFailedPrecondition, "DatabaseError",
                    "role " + Quoted(roles.clone) + " exists and is a superuser while " +
                        Quoted(roles.original) +
                        " is not; refusing to take it over as the alternate user");
    }
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
