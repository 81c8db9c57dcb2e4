#include "handler/operator_commands.h"

#include <algorithm>
#include <utility>

#include "aws/errors.h"
#include "base/random.h"
#include "handler/event.h"
#include "handler/secret_versions.h"

namespace secret_rotator::handler {

using aws::kAwsCurrent;
using aws::kAwsPending;
using aws::kAwsPrevious;
using strategies::DbCredentials;
using strategies::RotationKind;

std::optional<std::string> UnfinishedPendingVersion(const aws::SecretDescription& description) {
  for (const auto& [version_id, stages] : description.version_stages) {
    const bool pending = std::find(stages.begin(), stages.end(), kAwsPending) != stages.end();
    const bool current = std::find(stages.begin(), stages.end(), kAwsCurrent) != stages.end();
    if (pending && !current) return version_id;
  }
  return std::nullopt;
}

std::optional<std::string> OwnPasswordBlocker(const strategies::UserFacts& user) {
  if (!user.read_only || user.may_bypass_read_only) return std::nullopt;
  return user.read_only_reason + ", so the user cannot set its own password";
}

std::vector<std::string> PrivilegesAdminCannotGrant(const strategies::UserFacts& user,
                                                    const strategies::AdminFacts& admin) {
  std::vector<std::string> missing;
  if (admin.grants_everything) return missing;
  for (const std::string& privilege : user.privileges) {
    if (std::find(admin.grantable.begin(), admin.grantable.end(), privilege) ==
        admin.grantable.end()) {
      missing.push_back(privilege);
    }
  }
  return missing;
}

bool NextNameFits(const strategies::UserFacts& user) {
  return user.next_name_length <= user.max_name_length;
}

RepairDecision DecideRepair(LoginState pending, LoginState current) {
  if (current == LoginState::kLogsIn) {
    return {true, "the AWSCURRENT password still logs in, so applications keep working"};
  }
  if (pending == LoginState::kRefused) {
    return {true, "the database refuses the AWSPENDING password, so it holds nothing of it"};
  }
  if (pending == LoginState::kLogsIn) {
    return {false,
            "the database already holds the AWSPENDING password and AWSCURRENT no longer logs "
            "in: removing AWSPENDING would lose the only password that works. Finish the "
            "rotation instead (aws secretsmanager rotate-secret retries it)"};
  }
  return {false,
          "neither password could be tried (see above), so it is not known which one the "
          "database holds"};
}

std::string_view CheckOutcomeName(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kOk:
      return "ok";
    case CheckOutcome::kInfo:
      return "info";
    case CheckOutcome::kFail:
      return "FAIL";
  }
  return "?";
}

bool CheckReport::Ready() const {
  return std::none_of(items.begin(), items.end(),
                      [](const CheckItem& item) { return item.outcome == CheckOutcome::kFail; });
}

bool RotateReport::Succeeded() const {
  return steps.size() == 4 &&
         std::all_of(steps.begin(), steps.end(), [](const RotateStep& s) { return s.ok; });
}

std::string NewClientRequestToken() {
  std::string hex = RandomHex(32);
  hex[12] = '4';                                              // version 4
  hex[16] = "89ab"[static_cast<unsigned char>(hex[16]) % 4];  // RFC 4122 variant
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

OperatorCommands::OperatorCommands(aws::SecretsManager& secrets,
                                   const strategies::StrategyRegistry& engines,
                                   RotationHandler& handler)
    : secrets_(secrets), engines_(engines), handler_(handler) {}

namespace {

CheckItem Item(std::string name, CheckOutcome outcome, std::string detail) {
  return CheckItem{std::move(name), outcome, std::move(detail), ""};
}

CheckItem Failed(std::string name, const Status& status) {
  return CheckItem{std::move(name), CheckOutcome::kFail, status.message(), status.type()};
}

std::string TlsText(const strategies::SessionFacts& session) {
  if (session.tls_version.empty() && session.tls_cipher.empty()) {
    return "none (plaintext); " + session.tls_mode;
  }
  return session.tls_version + ", " + session.tls_cipher + "; " + session.tls_mode;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

}  // namespace

LoginState OperatorCommands::TryLogin(const std::string& arn,
                                      const std::optional<std::string>& version_id,
                                      const char* stage, Deadline deadline, std::string* detail) {
  Result<LoadedVersion> loaded =
      LoadVersion(secrets_, engines_, {arn, version_id, stage}, StageWhat(arn, stage), deadline);
  if (!loaded.ok()) {
    *detail = loaded.status().message();
    return LoginState::kUnknown;
  }
  Result<RotationKind> kind = ResolveKind(loaded->document, handler_.config().default_kind);
  if (!kind.ok()) {
    *detail = kind.status().message();
    return LoginState::kUnknown;
  }
  const strategies::EngineEntry* engine = engines_.Find(loaded->credentials.engine);
  std::unique_ptr<strategies::Strategy> strategy = engine->make(*kind, handler_.config().strategy);
  Status login = strategy->TestSecret(loaded->credentials, deadline);
  if (login.ok()) {
    *detail = "logs in as " + strategies::Describe(loaded->credentials);
    return LoginState::kLogsIn;
  }
  if (login.Is(strategies::db_error::kLoginFailed)) {
    // The strategy's message names the credentials as AWSPENDING's whatever
    // they are; the type says all that matters here.
    *detail = login.type() + " for " + strategies::Describe(loaded->credentials);
    return LoginState::kRefused;
  }
  *detail = login.type() + ": " + login.message();
  return LoginState::kUnknown;
}

Result<CheckReport> OperatorCommands::Check(const std::string& secret_id, Deadline deadline) {
  Result<aws::SecretDescription> description = secrets_.DescribeSecret(secret_id, deadline);
  if (!description.ok()) return description.status().WithContext("describing the secret");
  CheckReport report;
  report.arn = description->arn;
  JsonValue& facts = report.facts;
  facts["secretArn"] = description->arn;
  facts["rotationEnabled"] = description->rotation_enabled;
  facts["rotationLambdaArn"] = description->rotation_lambda_arn;
  facts["rotationSchedule"] = description->rotation_schedule;
  const std::optional<std::string> unfinished = UnfinishedPendingVersion(*description);
  facts["unfinishedPendingVersion"] = unfinished ? JsonValue(*unfinished) : JsonValue(nullptr);

  std::string rotation = description->rotation_enabled ? "enabled" : "not enabled";
  if (!description->rotation_lambda_arn.empty()) {
    rotation += "; function " + description->rotation_lambda_arn;
  }
  if (!description->rotation_schedule.empty()) {
    rotation += "; schedule " + description->rotation_schedule;
  }
  report.items.push_back(Item("rotation configuration", CheckOutcome::kInfo, rotation));
  if (unfinished) {
    report.items.push_back(
        Item("pending versions", CheckOutcome::kFail,
             "version " + *unfinished +
                 " is AWSPENDING but not AWSCURRENT: a previous rotation isn't complete, and "
                 "rotate-secret fails until it is finished or removed (bootstrap status " +
                 secret_id + " --repair)"));
  } else {
    report.items.push_back(Item("pending versions", CheckOutcome::kOk, "no unfinished rotation"));
  }

  Result<LoadedVersion> current =
      LoadVersion(secrets_, engines_, {description->arn, std::nullopt, kAwsCurrent},
                  StageWhat(description->arn, kAwsCurrent), deadline);
  if (!current.ok()) {
    report.items.push_back(Failed("AWSCURRENT secret", current.status()));
    return report;
  }
  const DbCredentials& credentials = current->credentials;
  Result<RotationKind> kind = ResolveKind(current->document, handler_.config().default_kind);
  if (!kind.ok()) {
    report.items.push_back(Failed("rotation strategy", kind.status()));
    return report;
  }
  facts["engine"] = credentials.engine;
  facts["strategy"] = strategies::RotationKindName(*kind);
  facts["host"] = credentials.host;
  facts["port"] = credentials.port;
  facts["username"] = credentials.username;
  report.items.push_back(Item("secret", CheckOutcome::kOk,
                              credentials.engine + ", " +
                                  std::string(strategies::RotationKindName(*kind)) + ", " +
                                  strategies::Describe(credentials)));

  const bool alternating = *kind == RotationKind::kAlternatingUsers;
  const std::string next_user =
      alternating ? strategies::AlternateUsername(credentials.username) : credentials.username;
  const strategies::EngineEntry* engine = engines_.Find(credentials.engine);
  std::unique_ptr<strategies::Strategy> strategy = engine->make(*kind, handler_.config().strategy);
  Result<strategies::UserFacts> user = strategy->InspectUser(credentials, next_user, deadline);
  if (!user.ok()) {
    report.items.push_back(Failed("AWSCURRENT login", user.status()));
    return report;
  }
  facts["account"] = user->account;
  facts["serverVersion"] = user->session.server_version;
  facts["tlsVersion"] = user->session.tls_version;
  facts["tlsCipher"] = user->session.tls_cipher;
  facts["tlsMode"] = user->session.tls_mode;
  facts["authentication"] = user->session.authentication;
  facts["nextUsername"] = next_user;
  facts["usernameLength"] = user->next_name_length;
  facts["maxUsernameLength"] = user->max_name_length;
  facts["privileges"] = user->privileges;
  report.items.push_back(
      Item("AWSCURRENT login", CheckOutcome::kOk, "logged in as " + user->account));
  report.items.push_back(Item("server", CheckOutcome::kInfo, user->session.server_version));
  report.items.push_back(Item("TLS", CheckOutcome::kInfo, TlsText(user->session)));
  report.items.push_back(Item("authentication", CheckOutcome::kInfo,
                              user->session.authentication.empty()
                                  ? "unknown (the account's definition is not visible)"
                                  : user->session.authentication));
  const std::string length_text = "'" + next_user + "': " + std::to_string(user->next_name_length) +
                                  " of at most " + std::to_string(user->max_name_length);
  report.items.push_back(Item("user name length",
                              NextNameFits(*user) ? CheckOutcome::kOk : CheckOutcome::kFail,
                              NextNameFits(*user) ? length_text : length_text + ": too long"));

  if (!alternating) {
    const std::optional<std::string> blocker = OwnPasswordBlocker(*user);
    report.items.push_back(Item("can change own password",
                                blocker ? CheckOutcome::kFail : CheckOutcome::kOk,
                                blocker.value_or("yes: a user may set its own password")));
    return report;
  }

  Result<std::string> master = MasterArn(current->document);
  if (!master.ok()) {
    report.items.push_back(Failed("admin secret", master.status()));
    return report;
  }
  Result<DbCredentials> admin = LoadAdmin(secrets_, engines_, handler_.rds(), *description,
                                          secret_id, credentials, *master, deadline);
  if (!admin.ok()) {
    report.items.push_back(Failed("admin secret", admin.status()));
    return report;
  }
  report.items.push_back(
      Item("admin secret", CheckOutcome::kOk, *master + ": " + strategies::Describe(*admin)));
  Result<strategies::AdminFacts> admin_facts = strategy->InspectAdmin(*admin, next_user, deadline);
  if (!admin_facts.ok()) {
    report.items.push_back(Failed("admin login", admin_facts.status()));
    return report;
  }
  facts["adminAccount"] = admin_facts->account;
  facts["adminCanCreateUsers"] = admin_facts->can_create_users;
  report.items.push_back(
      Item("admin login", CheckOutcome::kOk,
           "logged in as " + admin_facts->account + "; " + TlsText(admin_facts->session)));
  report.items.push_back(Item(
      "admin can create users",
      admin_facts->can_create_users ? CheckOutcome::kOk : CheckOutcome::kFail,
      admin_facts->can_create_users
          ? "yes"
          : "no: " + admin_facts->account + " lacks the privilege to create and alter users (" +
                (credentials.engine.find("postgres") != std::string::npos ? "CREATEROLE"
                                                                          : "CREATE USER") +
                ")"));
  const std::vector<std::string> missing = PrivilegesAdminCannotGrant(*user, *admin_facts);
  facts["privilegesAdminCannotGrant"] = missing;
  report.items.push_back(Item("admin can grant the user's privileges",
                              missing.empty() ? CheckOutcome::kOk : CheckOutcome::kFail,
                              missing.empty()
                                  ? (user->privileges.empty() ? "the user has no privileges to copy"
                                                              : "yes: " + Joined(user->privileges))
                                  : "no: " + admin_facts->account + " cannot grant " +
                                        Joined(missing) + " (it needs them WITH GRANT OPTION)"));

  // The alternate account: the same rule as setSecret (DecideTargetAccount).
  strategies::TargetAccountFacts target{next_user};
  if (!admin_facts->target_exists) {
    report.items.push_back(Item("alternate user", CheckOutcome::kInfo,
                                "the admin cannot see whether '" + next_user + "' exists"));
    return report;
  }
  target.exists = *admin_facts->target_exists;
  std::string evidence;
  if (target.exists) {
    if (unfinished) {
      Result<LoadedVersion> pending =
          LoadVersion(secrets_, engines_, {description->arn, *unfinished, kAwsPending},
                      StageWhat(description->arn, kAwsPending), deadline);
      if (pending.ok() && pending->credentials.username == next_user) {
        std::string detail;
        target.pending_logs_in = TryLogin(description->arn, *unfinished, kAwsPending, deadline,
                                          &detail) == LoginState::kLogsIn;
        if (target.pending_logs_in) evidence = "the AWSPENDING password logs in";
      }
    }
    if (!target.pending_logs_in) {
      Result<LoadedVersion> previous =
          LoadVersion(secrets_, engines_, {description->arn, std::nullopt, kAwsPrevious},
                      StageWhat(description->arn, kAwsPrevious), deadline);
      if (previous.ok() && previous->credentials.username == next_user &&
          previous->credentials.host == credentials.host &&
          previous->credentials.port == credentials.port) {
        std::string detail;
        target.previous_logs_in = TryLogin(description->arn, std::nullopt, kAwsPrevious, deadline,
                                           &detail) == LoginState::kLogsIn;
        if (target.previous_logs_in) evidence = "the AWSPREVIOUS password logs in";
      }
    }
  }
  facts["alternateExists"] = target.exists;
  Result<strategies::TargetAccountAction> action =
      strategies::DecideTargetAccount(target, "'" + next_user + "'");
  if (!action.ok()) {
    report.items.push_back(Failed("alternate user", action.status()));
  } else if (*action == strategies::TargetAccountAction::kCreate) {
    report.items.push_back(Item("alternate user", CheckOutcome::kOk,
                                "'" + next_user + "' does not exist; rotation creates it"));
  } else {
    report.items.push_back(
        Item("alternate user", CheckOutcome::kOk,
             "'" + next_user + "' exists and is this function's (" + evidence + ")"));
  }
  return report;
}

Result<StatusReport> OperatorCommands::SecretStatus(const std::string& secret_id, bool repair,
                                                    Deadline deadline) {
  Result<aws::SecretDescription> description = secrets_.DescribeSecret(secret_id, deadline);
  if (!description.ok()) return description.status().WithContext("describing the secret");
  StatusReport report;
  report.description = *description;
  for (const auto& [version_id, stages] : description->version_stages) {
    report.versions.push_back({version_id, stages});
  }
  report.unfinished_pending = UnfinishedPendingVersion(*description);
  report.repair_asked = repair;
  if (!repair) return report;
  if (!report.unfinished_pending) {
    report.not_done.push_back("nothing to repair: no version is AWSPENDING without AWSCURRENT");
    return report;
  }
  const std::string& pending_id = *report.unfinished_pending;
  std::string pending_detail;
  std::string current_detail;
  const LoginState pending =
      TryLogin(description->arn, pending_id, kAwsPending, deadline, &pending_detail);
  const LoginState current =
      TryLogin(description->arn, std::nullopt, kAwsCurrent, deadline, &current_detail);
  auto state_text = [](LoginState state) {
    switch (state) {
      case LoginState::kLogsIn:
        return "logs in";
      case LoginState::kRefused:
        return "is refused";
      case LoginState::kUnknown:
        return "could not be tried";
    }
    return "?";
  };
  report.done.push_back("tried the AWSPENDING password of version " + pending_id + ": " +
                        state_text(pending) + " (" + pending_detail + ")");
  report.done.push_back(std::string("tried the AWSCURRENT password: ") + state_text(current) +
                        " (" + current_detail + ")");
  const RepairDecision decision = DecideRepair(pending, current);
  if (!decision.remove) {
    report.repair_refused = true;
    report.not_done.push_back("did not remove AWSPENDING from version " + pending_id + ": " +
                              decision.reason);
    return report;
  }
  aws::UpdateSecretVersionStageRequest request{description->arn, kAwsPending, std::nullopt,
                                               pending_id};
  if (Status removed = secrets_.UpdateSecretVersionStage(request, deadline); !removed.ok()) {
    return removed.WithContext("removing AWSPENDING from version " + pending_id);
  }
  report.done.push_back("removed AWSPENDING from version " + pending_id + ": " + decision.reason);
  report.not_done.push_back(
      "did not change the database, AWSCURRENT or any other label; the next rotation starts "
      "afresh");
  return report;
}

Result<RotateReport> OperatorCommands::Rotate(const std::string& secret_id, Deadline deadline,
                                              const std::string& request_id) {
  Result<aws::SecretDescription> description = secrets_.DescribeSecret(secret_id, deadline);
  if (!description.ok()) return description.status().WithContext("describing the secret");
  if (const std::optional<std::string> unfinished = UnfinishedPendingVersion(*description)) {
    return Status(
        StatusCode::kFailedPrecondition, "RotationInProgress",
        "version " + *unfinished + " of secret " + description->arn +
            " is AWSPENDING but not AWSCURRENT: a rotation is in progress or did not finish. "
            "Nothing was changed. See bootstrap status " +
            secret_id + " (--repair removes a stuck AWSPENDING when that is safe)");
  }
  RotateReport report;
  report.arn = description->arn;
  report.token = NewClientRequestToken();
  for (Step step :
       {Step::kCreateSecret, Step::kSetSecret, Step::kTestSecret, Step::kFinishSecret}) {
    RotationEvent event;
    event.secret_id = description->arn;
    event.client_request_token = report.token;
    event.step = step;
    Result<std::string> outcome = handler_.RunStep(event, deadline, request_id, true);
    RotateStep done{std::string(StepName(step)), outcome.ok(), "", ""};
    if (outcome.ok()) {
      done.outcome = *outcome;
    } else {
      done.outcome = outcome.status().message();
      done.error_type = outcome.status().type();
    }
    report.steps.push_back(std::move(done));
    if (!outcome.ok()) break;
  }
  return report;
}

}  // namespace secret_rotator::handler
