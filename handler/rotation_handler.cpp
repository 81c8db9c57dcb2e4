#include "handler/rotation_handler.h"

#include <chrono>
#include <utility>

#include "aws/errors.h"
#include "base/json_text.h"
#include "base/log.h"
#include "handler/operator_commands.h"
#include "handler/secret_document.h"
#include "handler/secret_versions.h"
#include "handler/step_metrics.h"

namespace secret_rotator::handler {

using aws::kAwsCurrent;
using aws::kAwsPending;
using aws::kAwsPrevious;
using strategies::AlternateUsername;
using strategies::DbCredentials;
using strategies::RotationKind;

struct RotationHandler::StepContext {
  const RotationEvent& event;
  const aws::SecretDescription& description;
  Deadline deadline;
  const std::string& request_id;
  const StepOptions& options;
  // The secret's ARN, which every call after DescribeSecret uses.
  const std::string& arn() const { return description.arn; }
  const std::string& token() const { return event.client_request_token; }
  // Records the engine and strategy for the step's metric.
  void Note(const DbCredentials& credentials, RotationKind kind) const {
    if (options.dimensions == nullptr) return;
    options.dimensions->engine = credentials.engine;
    options.dimensions->strategy = std::string(strategies::RotationKindName(kind));
  }
};

namespace {

Status Precondition(std::string type, std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(type), std::move(message));
}

std::string PendingWhat(const std::string& arn, const std::string& token) {
  return "the AWSPENDING version " + token + " of secret " + arn;
}

// What to do when the AWSPENDING version does not fit AWSCURRENT: it is most
// often left over from an earlier rotation that failed, perhaps under
// another strategy, and every retry fails the same way until it is removed.
std::string LeftoverPendingHint(const std::string& arn, const std::string& token) {
  return ". If this AWSPENDING version is left over from an earlier rotation (for example "
         "before a change of rotation strategy), end that rotation: aws secretsmanager "
         "cancel-rotate-secret --secret-id " +
         arn +
         ", or remove the label: aws secretsmanager update-secret-version-stage --secret-id " +
         arn + " --version-stage AWSPENDING --remove-from-version-id " + token +
         "; then rotate again";
}

}  // namespace

RotationHandler::RotationHandler(aws::SecretsManager& secrets,
                                 const strategies::StrategyRegistry& engines, RotationConfig config,
                                 aws::Rds* rds)
    : secrets_(secrets), engines_(engines), config_(std::move(config)), rds_(rds) {}

Result<std::string> RotationHandler::HandlePayload(std::string_view payload, Deadline deadline,
                                                   const std::string& request_id) {
  Result<RotationEvent> event = ParseRotationEvent(payload);
  if (!event.ok()) {
    Log(LogLevel::kError, {request_id, "", ""}, "rejected the event: " + event.status().message());
    StepMetric metric;
    metric.step = "unknown";
    metric.error_type = event.status().type();
    metric.request_id = request_id;
    WriteRecord(EmfRecord(metric, std::chrono::system_clock::now()));
    return event.status();
  }
  Result<std::string> outcome = RunStep(*event, deadline, request_id);
  if (!outcome.ok()) return outcome.status();
  std::string summary = "{\"secretId\":";
  AppendJsonString(summary, event->secret_id);
  summary += ",\"clientRequestToken\":";
  AppendJsonString(summary, event->client_request_token);
  summary += ",\"step\":";
  AppendJsonString(summary, StepName(event->step));
  summary += ",\"result\":";
  AppendJsonString(summary, *outcome);
  summary += '}';
  return summary;
}

Result<std::string> RotationHandler::RunStep(const RotationEvent& event, Deadline deadline,
                                             const std::string& request_id, bool manual_rotation) {
  const LogContext log_context{request_id, event.secret_id, std::string(StepName(event.step))};
  const auto started = std::chrono::steady_clock::now();
  StepDimensions dimensions;
  StepOptions options;
  options.manual_rotation = manual_rotation;
  options.dimensions = &dimensions;
  Result<std::string> outcome = Handle(event, deadline, request_id, options);

  StepMetric metric;
  if (!dimensions.engine.empty()) metric.engine = dimensions.engine;
  if (!dimensions.strategy.empty()) metric.strategy = dimensions.strategy;
  metric.step = std::string(StepName(event.step));
  metric.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  metric.success = outcome.ok();
  if (!outcome.ok()) metric.error_type = outcome.status().type();
  metric.request_id = request_id;
  WriteRecord(EmfRecord(metric, std::chrono::system_clock::now()));

  if (!outcome.ok()) {
    Log(LogLevel::kError, log_context,
        std::string(StepName(event.step)) + " failed: " + outcome.status().message());
    return outcome.status();
  }
  Log(LogLevel::kInfo, log_context,
      std::string(StepName(event.step)) + " succeeded for version " + event.client_request_token +
          ": " + *outcome);
  return outcome;
}

Result<std::string> RotationHandler::Handle(const RotationEvent& event, Deadline deadline,
                                            const std::string& request_id,
                                            const StepOptions& options) {
  Result<aws::SecretDescription> description = secrets_.DescribeSecret(event.secret_id, deadline);
  if (!description.ok()) return description.status().WithContext("describing the secret");
  const std::string& token = event.client_request_token;
  const bool manual_create = options.manual_rotation && event.step == Step::kCreateSecret &&
                             description->version_stages.count(token) == 0 &&
                             !UnfinishedPendingVersion(*description).has_value();
  if (!description->rotation_enabled && !options.manual_rotation) {
    return Precondition("RotationNotEnabled",
                        "secret " + description->arn + " is not enabled for rotation");
  }
  if (manual_create) {
    // A rotation the operator started (bootstrap rotate): no RotateSecret
    // made the AWSPENDING version, so createSecret makes it with this token.
    const StepContext context{event, *description, deadline, request_id, options};
    return CreateSecret(context);
  }
  if (description->version_stages.count(token) == 0) {
    return Precondition("UnknownVersion", "secret " + description->arn + " has no version " +
                                              token + " with a staging label");
  }
  if (description->HasStage(token, kAwsCurrent)) {
    return std::string("version is already AWSCURRENT; nothing to do");
  }
  if (!description->HasStage(token, kAwsPending)) {
    return Precondition("VersionNotPending", "version " + token + " of secret " + description->arn +
                                                 " is not AWSPENDING");
  }

  const StepContext context{event, *description, deadline, request_id, options};
  switch (event.step) {
    case Step::kCreateSecret:
      return CreateSecret(context);
    case Step::kSetSecret:
      return SetSecret(context);
    case Step::kTestSecret:
      return TestSecret(context);
    case Step::kFinishSecret:
      return FinishSecret(context);
  }
  return Status(StatusCode::kInternal, "InternalError", "unknown step");
}

Result<std::string> RotationHandler::CreateSecret(const StepContext& context) {
  Result<LoadedVersion> current =
      LoadVersion(secrets_, engines_, {context.arn(), std::nullopt, kAwsCurrent},
                  StageWhat(context.arn(), kAwsCurrent), context.deadline);
  if (!current.ok()) return current.status();
  Result<RotationKind> kind = ResolveKind(current->document, config_.default_kind);
  if (!kind.ok()) return kind.status();
  context.Note(current->credentials, *kind);
  if (*kind == RotationKind::kAlternatingUsers) {
    // Every check of the admin happens before anything changes.
    Result<std::string> master = MasterArn(current->document);
    if (!master.ok()) return master.status();
    Result<DbCredentials> admin = LoadAdmin(context, current->credentials, *master);
    if (!admin.ok()) return admin.status();
  }

  Result<aws::SecretValue> existing =
      secrets_.GetSecretValue({context.arn(), context.token(), kAwsPending}, context.deadline);
  if (existing.ok()) return std::string("the AWSPENDING version already has a value");
  if (!existing.status().Is(aws::kResourceNotFound)) {
    return existing.status().WithContext("reading " + PendingWhat(context.arn(), context.token()));
  }

  const strategies::EngineEntry* engine = engines_.Find(current->credentials.engine);
  const PasswordPolicy& policy = config_.password;
  aws::RandomPasswordRequest request;
  request.password_length = policy.length;
  request.exclude_characters =
      policy.exclude_characters.value_or(engine->default_exclude_characters);
  request.exclude_numbers = policy.exclude_numbers;
  request.exclude_punctuation = policy.exclude_punctuation;
  request.exclude_uppercase = policy.exclude_uppercase;
  request.exclude_lowercase = policy.exclude_lowercase;
  request.require_each_included_type = policy.require_each_included_type;
  Result<Secret> password = secrets_.GetRandomPassword(request, context.deadline);
  if (!password.ok()) return password.status().WithContext("generating a password");

  std::optional<std::string> username;
  if (*kind == RotationKind::kAlternatingUsers) {
    username = AlternateUsername(current->credentials.username);
  }
  Result<Secret> pending = current->document.WithCredentials(*password, username);
  if (!pending.ok()) return pending.status();
  Status put = secrets_.PutSecretValue({context.arn(),
                                        context.token(),
                                        std::move(pending).value(),
                                        {kAwsPending},
                                        context.event.rotation_token},
                                       context.deadline);
  if (!put.ok()) return put.WithContext("storing " + PendingWhat(context.arn(), context.token()));
  return std::string("created the AWSPENDING version (") +
         std::string(strategies::RotationKindName(*kind)) + ", user '" +
         (username ? *username : current->credentials.username) + "')";
}

Result<std::string> RotationHandler::SetSecret(const StepContext& context) {
  Result<LoadedVersion> current =
      LoadVersion(secrets_, engines_, {context.arn(), std::nullopt, kAwsCurrent},
                  StageWhat(context.arn(), kAwsCurrent), context.deadline);
  if (!current.ok()) return current.status();
  Result<LoadedVersion> pending =
      LoadVersion(secrets_, engines_, {context.arn(), context.token(), kAwsPending},
                  PendingWhat(context.arn(), context.token()), context.deadline);
  if (!pending.ok()) return pending.status();
  Result<RotationKind> kind = ResolveKind(current->document, config_.default_kind);
  if (!kind.ok()) return kind.status();
  context.Note(current->credentials, *kind);

  const DbCredentials& now = current->credentials;
  const DbCredentials& next = pending->credentials;
  if (now.engine != next.engine || now.host != next.host || now.port != next.port) {
    return Precondition("CredentialsMismatch",
                        "the AWSPENDING version names engine/host/port " + next.engine + " " +
                            next.host + ":" + std::to_string(next.port) + " but AWSCURRENT names " +
                            now.engine + " " + now.host + ":" + std::to_string(now.port) +
                            "; refusing to change another server" +
                            LeftoverPendingHint(context.arn(), context.token()));
  }
  if (*kind == RotationKind::kSingleUser &&
      (now.username != next.username || now.dbname != next.dbname)) {
    return Precondition("CredentialsMismatch",
                        "single-user rotation: the AWSPENDING version names user '" +
                            next.username + "' but AWSCURRENT names '" + now.username +
                            "' (or another dbname); refusing to change another user" +
                            LeftoverPendingHint(context.arn(), context.token()));
  }
  if (*kind == RotationKind::kAlternatingUsers &&
      next.username != AlternateUsername(now.username)) {
    return Precondition("CredentialsMismatch",
                        "alternating-users rotation: the AWSPENDING user must be '" +
                            AlternateUsername(now.username) + "', not '" + next.username + "'" +
                            LeftoverPendingHint(context.arn(), context.token()));
  }

  // AWSPREVIOUS helps single-user rotation recover from a half-finished
  // earlier rotation, and shows alternating users which account an earlier
  // rotation left; it is used only on the same server (and, single user,
  // for the same user).
  std::optional<LoadedVersion> previous;
  {
    Result<LoadedVersion> loaded =
        LoadVersion(secrets_, engines_, {context.arn(), std::nullopt, kAwsPrevious},
                    StageWhat(context.arn(), kAwsPrevious), context.deadline);
    if (loaded.ok() && loaded->credentials.host == next.host &&
        loaded->credentials.port == next.port &&
        (*kind == RotationKind::kAlternatingUsers ||
         loaded->credentials.username == next.username)) {
      previous = std::move(loaded).value();
    } else if (!loaded.ok() && !loaded.status().Is(aws::kResourceNotFound)) {
      Log(LogLevel::kWarn, {context.request_id, context.event.secret_id, "setSecret"},
          "ignoring the AWSPREVIOUS version: " + loaded.status().message());
    }
  }

  std::optional<DbCredentials> admin;
  if (*kind == RotationKind::kAlternatingUsers) {
    Result<std::string> master_arn = MasterArn(current->document);
    if (!master_arn.ok()) return master_arn.status();
    Result<DbCredentials> loaded = LoadAdmin(context, now, *master_arn);
    if (!loaded.ok()) return loaded.status();
    admin = std::move(loaded).value();
  }

  const strategies::EngineEntry* engine = engines_.Find(now.engine);
  std::unique_ptr<strategies::Strategy> strategy = engine->make(*kind, config_.strategy);
  Result<strategies::Warnings> set = strategy->SetSecret(
      {now, next, previous ? &previous->credentials : nullptr, admin ? &*admin : nullptr},
      context.deadline);
  if (!set.ok()) return set.status();
  std::string outcome =
      "the database accepts the AWSPENDING credentials of " + strategies::Describe(next);
  for (const std::string& warning : *set) {
    Log(LogLevel::kWarn, {context.request_id, context.event.secret_id, "setSecret"}, warning);
    outcome += "; warning: " + warning;
  }
  return outcome;
}

Result<DbCredentials> RotationHandler::LoadAdmin(const StepContext& context,
                                                 const DbCredentials& current,
                                                 const std::string& master_arn) {
  return handler::LoadAdmin(secrets_, engines_, rds_, context.description, context.event.secret_id,
                            current, master_arn, context.deadline);
}

Result<DbCredentials> RotationHandler::LogInWithPending(const StepContext& context) {
  Result<LoadedVersion> pending =
      LoadVersion(secrets_, engines_, {context.arn(), context.token(), kAwsPending},
                  PendingWhat(context.arn(), context.token()), context.deadline);
  if (!pending.ok()) return pending.status();
  // The pending version carries the current one's rotationStrategy field.
  Result<RotationKind> kind = ResolveKind(pending->document, config_.default_kind);
  if (!kind.ok()) return kind.status();
  context.Note(pending->credentials, *kind);
  const strategies::EngineEntry* engine = engines_.Find(pending->credentials.engine);
  std::unique_ptr<strategies::Strategy> strategy = engine->make(*kind, config_.strategy);
  if (Status tested = strategy->TestSecret(pending->credentials, context.deadline); !tested.ok()) {
    return tested;
  }
  return std::move(pending).value().credentials;
}

Result<std::string> RotationHandler::TestSecret(const StepContext& context) {
  Result<DbCredentials> pending = LogInWithPending(context);
  if (!pending.ok()) return pending.status();
  return "logged in with the AWSPENDING credentials of " + strategies::Describe(*pending);
}

Result<std::string> RotationHandler::FinishSecret(const StepContext& context) {
  // AWSCURRENT moves only to credentials that log in: finishSecret may come
  // without a successful setSecret (a replayed or manual invocation).
  if (Result<DbCredentials> pending = LogInWithPending(context); !pending.ok()) {
    return pending.status().WithContext("refusing to move AWSCURRENT to version " +
                                        context.token() +
                                        ", whose credentials do not log in (has setSecret run "
                                        "for it?)");
  }

  const std::optional<std::string> holder = context.description.VersionWithStage(kAwsCurrent);
  aws::UpdateSecretVersionStageRequest request{context.arn(), kAwsCurrent, context.token(), holder};
  Status moved = secrets_.UpdateSecretVersionStage(request, context.deadline);
  if (moved.ok()) {
    return "moved AWSCURRENT to this version from " + holder.value_or("no version");
  }
  // An earlier attempt may have moved the label before its answer was lost.
  Result<aws::SecretDescription> now = secrets_.DescribeSecret(context.arn(), context.deadline);
  if (now.ok() && now->HasStage(context.token(), kAwsCurrent)) {
    return std::string("AWSCURRENT is already on this version");
  }
  return moved.WithContext("moving AWSCURRENT to version " + context.token());
}

}  // namespace secret_rotator::handler
