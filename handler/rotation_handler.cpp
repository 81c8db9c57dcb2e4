#include "handler/rotation_handler.h"

#include <utility>

#include "aws/errors.h"
#include "base/json_text.h"
#include "base/log.h"
#include "handler/secret_document.h"

namespace secret_rotator::handler {

using aws::kAwsCurrent;
using aws::kAwsPending;
using aws::kAwsPrevious;
using strategies::DbCredentials;
using strategies::RotationKind;

struct RotationHandler::StepContext {
  const RotationEvent& event;
  const aws::SecretDescription& description;
  Deadline deadline;
  const std::string& request_id;
  // The secret's ARN, which every call after DescribeSecret uses.
  const std::string& arn() const { return description.arn; }
  const std::string& token() const { return event.client_request_token; }
};

namespace {

Status Precondition(std::string type, std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(type), std::move(message));
}

// A parsed version of a secret: its document and the credentials it names.
struct LoadedVersion {
  SecretDocument document;
  DbCredentials credentials;
};

std::string PendingWhat(const std::string& arn, const std::string& token) {
  return "the AWSPENDING version " + token + " of secret " + arn;
}

std::string StageWhat(const std::string& arn, const char* stage) {
  return std::string("the ") + stage + " version of secret " + arn;
}

}  // namespace

std::string AlternateUsername(std::string_view username) {
  if (username.size() > kCloneSuffix.size() && username.ends_with(kCloneSuffix)) {
    return std::string(username.substr(0, username.size() - kCloneSuffix.size()));
  }
  return std::string(username) + std::string(kCloneSuffix);
}

RotationHandler::RotationHandler(aws::SecretsManager& secrets,
                                 const strategies::StrategyRegistry& engines, RotationConfig config)
    : secrets_(secrets), engines_(engines), config_(std::move(config)) {}

namespace {

// Reads and parses one version of a secret. `what` names it in errors.
Result<LoadedVersion> LoadVersion(aws::SecretsManager& secrets,
                                  const strategies::StrategyRegistry& engines,
                                  const aws::GetSecretValueRequest& request, std::string what,
                                  Deadline deadline) {
  Result<aws::SecretValue> value = secrets.GetSecretValue(request, deadline);
  if (!value.ok()) return value.status().WithContext("reading " + what);
  Result<SecretDocument> document = SecretDocument::Parse(value->secret_string, std::move(what));
  if (!document.ok()) return document.status();
  Result<DbCredentials> credentials = document->Credentials(engines);
  if (!credentials.ok()) return credentials.status();
  return LoadedVersion{std::move(document).value(), std::move(credentials).value()};
}

// The rotation style: the secret's own "rotationStrategy" field, else the
// function's default.
Result<RotationKind> ResolveKind(const SecretDocument& current, RotationKind default_kind) {
  Result<std::optional<std::string>> field = current.OptionalString("rotationStrategy");
  if (!field.ok()) return field.status();
  if (!field->has_value()) return default_kind;
  Result<RotationKind> kind =
      strategies::ParseRotationKind("the secret's rotationStrategy", **field);
  if (!kind.ok()) {
    return Status(StatusCode::kInvalidArgument, "InvalidSecret",
                  current.what() + ": " + kind.status().message());
  }
  return kind;
}

// The admin secret's name or ARN from "masterarn", required for alternating users.
Result<std::string> MasterArn(const SecretDocument& current) {
  Result<std::optional<std::string>> field = current.OptionalString("masterarn");
  if (!field.ok()) return field.status();
  if (!field->has_value() || (*field)->empty()) {
    return Status(StatusCode::kInvalidArgument, "InvalidSecret",
                  current.what() +
                      ": field 'masterarn' is missing; the alternating-users strategy needs it to "
                      "name the secret of a user that can create and alter users");
  }
  return **field;
}

}  // namespace

Result<std::string> RotationHandler::HandlePayload(std::string_view payload, Deadline deadline,
                                                   const std::string& request_id) {
  Result<RotationEvent> event = ParseRotationEvent(payload);
  if (!event.ok()) {
    Log(LogLevel::kError, {request_id, "", ""}, "rejected the event: " + event.status().message());
    return event.status();
  }
  const LogContext log_context{request_id, event->secret_id, std::string(StepName(event->step))};
  Result<std::string> outcome = Handle(*event, deadline, request_id);
  if (!outcome.ok()) {
    Log(LogLevel::kError, log_context,
        std::string(StepName(event->step)) + " failed: " + outcome.status().message());
    return outcome.status();
  }
  Log(LogLevel::kInfo, log_context,
      std::string(StepName(event->step)) + " succeeded for version " + event->client_request_token +
          ": " + *outcome);
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

Result<std::string> RotationHandler::Handle(const RotationEvent& event, Deadline deadline,
                                            const std::string& request_id) {
  Result<aws::SecretDescription> description = secrets_.DescribeSecret(event.secret_id, deadline);
  if (!description.ok()) return description.status().WithContext("describing the secret");
  const std::string& token = event.client_request_token;
  if (!description->rotation_enabled) {
    return Precondition("RotationNotEnabled",
                        "secret " + description->arn + " is not enabled for rotation");
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

  const StepContext context{event, *description, deadline, request_id};
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
  if (*kind == RotationKind::kAlternatingUsers) {
    if (Result<std::string> master = MasterArn(current->document); !master.ok()) {
      return master.status();
    }
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

  const DbCredentials& now = current->credentials;
  const DbCredentials& next = pending->credentials;
  if (now.engine != next.engine || now.host != next.host || now.port != next.port) {
    return Precondition("CredentialsMismatch",
                        "the AWSPENDING version names engine/host/port " + next.engine + " " +
                            next.host + ":" + std::to_string(next.port) + " but AWSCURRENT names " +
                            now.engine + " " + now.host + ":" + std::to_string(now.port) +
                            "; refusing to change another server");
  }
  if (*kind == RotationKind::kSingleUser &&
      (now.username != next.username || now.dbname != next.dbname)) {
    return Precondition("CredentialsMismatch",
                        "single-user rotation: the AWSPENDING version names user '" +
                            next.username + "' but AWSCURRENT names '" + now.username +
                            "' (or another dbname); refusing to change another user");
  }
  if (*kind == RotationKind::kAlternatingUsers &&
      next.username != AlternateUsername(now.username)) {
    return Precondition("CredentialsMismatch",
                        "alternating-users rotation: the AWSPENDING user must be '" +
                            AlternateUsername(now.username) + "', not '" + next.username + "'");
  }

  // AWSPREVIOUS helps single-user rotation recover from a half-finished
  // earlier rotation; it is used only when it names the same user.
  std::optional<LoadedVersion> previous;
  if (*kind == RotationKind::kSingleUser) {
    Result<LoadedVersion> loaded =
        LoadVersion(secrets_, engines_, {context.arn(), std::nullopt, kAwsPrevious},
                    StageWhat(context.arn(), kAwsPrevious), context.deadline);
    if (loaded.ok() && loaded->credentials.host == next.host &&
        loaded->credentials.port == next.port && loaded->credentials.username == next.username) {
      previous = std::move(loaded).value();
    } else if (!loaded.ok() && !loaded.status().Is(aws::kResourceNotFound)) {
      Log(LogLevel::kWarn, {context.request_id, context.event.secret_id, "setSecret"},
          "ignoring the AWSPREVIOUS version: " + loaded.status().message());
    }
  }

  std::optional<LoadedVersion> admin;
  if (*kind == RotationKind::kAlternatingUsers) {
    Result<std::string> master_arn = MasterArn(current->document);
    if (!master_arn.ok()) return master_arn.status();
    Result<LoadedVersion> loaded = LoadVersion(
        secrets_, engines_, {*master_arn, std::nullopt, kAwsCurrent},
        "the AWSCURRENT version of the masterarn secret " + *master_arn, context.deadline);
    if (!loaded.ok()) return loaded.status();
    if (loaded->credentials.host != now.host || loaded->credentials.port != now.port) {
      return Precondition("CredentialsMismatch",
                          "the masterarn secret names " + loaded->credentials.host + ":" +
                              std::to_string(loaded->credentials.port) + " but the secret names " +
                              now.host + ":" + std::to_string(now.port));
    }
    admin = std::move(loaded).value();
  }

  const strategies::EngineEntry* engine = engines_.Find(now.engine);
  std::unique_ptr<strategies::Strategy> strategy = engine->make(*kind, config_.strategy);
  Status set = strategy->SetSecret({now, next, previous ? &previous->credentials : nullptr,
                                    admin ? &admin->credentials : nullptr},
                                   context.deadline);
  if (!set.ok()) return set;
  return "the database accepts the AWSPENDING credentials of " + strategies::Describe(next);
}

Result<std::string> RotationHandler::TestSecret(const StepContext& context) {
  Result<LoadedVersion> pending =
      LoadVersion(secrets_, engines_, {context.arn(), context.token(), kAwsPending},
                  PendingWhat(context.arn(), context.token()), context.deadline);
  if (!pending.ok()) return pending.status();
  // The pending version carries the current one's rotationStrategy field.
  Result<RotationKind> kind = ResolveKind(pending->document, config_.default_kind);
  if (!kind.ok()) return kind.status();
  const strategies::EngineEntry* engine = engines_.Find(pending->credentials.engine);
  std::unique_ptr<strategies::Strategy> strategy = engine->make(*kind, config_.strategy);
  Status tested = strategy->TestSecret(pending->credentials, context.deadline);
  if (!tested.ok()) return tested;
  return "logged in with the AWSPENDING credentials of " +
         strategies::Describe(pending->credentials);
}

Result<std::string> RotationHandler::FinishSecret(const StepContext& context) {
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
