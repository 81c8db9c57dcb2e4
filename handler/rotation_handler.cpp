#include "handler/rotation_handler.h"

#include <algorithm>
#include <utility>

#include "aws/errors.h"
#include "base/json_text.h"
#include "base/log.h"
#include "handler/secret_document.h"

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
  const aws::SecretDescription& secret = context.description;
  if (master_arn == secret.arn || master_arn == secret.name ||
      master_arn == context.event.secret_id) {
    return Status(StatusCode::kInvalidArgument, "InvalidSecret",
                  "the masterarn field of secret " + secret.arn +
                      " names the secret itself; it must name the secret of a separate admin user "
                      "that can create and alter users");
  }
  const std::string what = "the AWSCURRENT version of the masterarn secret " + master_arn;
  Result<aws::SecretValue> value =
      secrets_.GetSecretValue({master_arn, std::nullopt, kAwsCurrent}, context.deadline);
  if (!value.ok()) return value.status().WithContext("reading " + what);
  Result<SecretDocument> document = SecretDocument::Parse(value->secret_string, what);
  if (!document.ok()) return document.status();
  RdsFacts facts;
  Result<DbCredentials> loaded = [&]() -> Result<DbCredentials> {
    if (document->Has("host")) return document->Credentials(engines_);
    // An RDS-managed master secret holds only a username and a password.
    Result<SecretDocument::Endpoint> endpoint =
        RdsManagedEndpoint(master_arn, context.deadline, facts);
    if (!endpoint.ok()) return endpoint.status();
    Result<DbCredentials> credentials = document->CredentialsAt(engines_, *endpoint);
    // As AWS's functions do: the admin logs in to the secret's database.
    if (credentials.ok() && !credentials->dbname) credentials->dbname = current.dbname;
    return credentials;
  }();
  if (!loaded.ok()) return loaded.status();
  const DbCredentials& admin = *loaded;
  if (!SameEngineFamily(admin.engine, current.engine)) {
    return Precondition("CredentialsMismatch", "the masterarn secret's engine is " + admin.engine +
                                                   " but the secret's is " + current.engine);
  }
  const HostPort user_at{current.host, current.port};
  const HostPort admin_at{admin.host, admin.port};
  if (Status same = CheckSameDatabase(user_at, admin_at, {}); !same.ok()) {
    if (rds_ == nullptr) return same;
    for (const HostPort* endpoint : {&user_at, &admin_at}) {
      if (Status collected = CollectRdsFacts(*endpoint, context.deadline, facts); !collected.ok()) {
        return collected.WithContext("asking RDS whether " + current.host + " and " + admin.host +
                                     " are one database");
      }
    }
    if (Status related = CheckSameDatabase(user_at, admin_at, facts); !related.ok()) {
      return related;
    }
  }
  if (Status separate = strategies::CheckAdminIsNotRotated(admin.username, current.username);
      !separate.ok()) {
    return separate;
  }
  return std::move(loaded).value();
}

Result<SecretDocument::Endpoint> RotationHandler::RdsManagedEndpoint(const std::string& master_arn,
                                                                     Deadline deadline,
                                                                     RdsFacts& facts) {
  constexpr char kInstanceTag[] = "aws:rds:primaryDBInstanceArn";
  constexpr char kClusterTag[] = "aws:rds:primaryDBClusterArn";
  constexpr std::size_t kMaxArnLength = 256;  // as AWS's functions check
  Result<aws::SecretDescription> description = secrets_.DescribeSecret(master_arn, deadline);
  if (!description.ok()) {
    return description.status().WithContext("describing the masterarn secret " + master_arn);
  }
  const std::optional<std::string> instance_arn = description->Tag(kInstanceTag);
  const std::optional<std::string> cluster_arn = description->Tag(kClusterTag);
  const std::string names = std::string(kInstanceTag) + " or " + kClusterTag;
  if (!instance_arn == !cluster_arn) {
    return Status(StatusCode::kInvalidArgument, "InvalidSecret",
                  "the masterarn secret " + master_arn + " has no field 'host' and " +
                      (instance_arn ? "has both tags " : "is not an RDS-managed secret (no tag ") +
                      names + (instance_arn ? "" : ")") +
                      "; give it engine, host and port, or name an RDS-managed secret");
  }
  const std::string& arn = instance_arn ? *instance_arn : *cluster_arn;
  if (arn.empty() || arn.size() > kMaxArnLength) {
    return Status(StatusCode::kInvalidArgument, "InvalidSecret",
                  "the tag " + std::string(instance_arn ? kInstanceTag : kClusterTag) +
                      " of the masterarn secret " + master_arn + " is not an ARN");
  }
  if (rds_ == nullptr) {
    return Status(
        StatusCode::kFailedPrecondition, "ConfigurationError",
        "the masterarn secret " + master_arn + " is RDS-managed, and no RDS client is set");
  }
  auto inconsistent = [&](const std::string& what) {
    return Precondition("CredentialsMismatch", "RDS describes " + arn +
                                                   " (from the tags of the masterarn secret " +
                                                   master_arn + ") " + what);
  };
  SecretDocument::Endpoint endpoint;
  if (instance_arn) {
    Result<std::vector<aws::RdsInstance>> found = rds_->DescribeDbInstances(arn, deadline);
    if (!found.ok()) return found.status().WithContext("describing the RDS instance " + arn);
    if (found->size() != 1)
      return inconsistent("as " + std::to_string(found->size()) + " instances");
    const aws::RdsInstance& instance = found->front();
    if (!instance.arn.empty() && instance.arn != arn) return inconsistent("as " + instance.arn);
    if (instance.address.empty() || instance.port == 0) return inconsistent("without an endpoint");
    endpoint = {instance.engine, instance.address, instance.port};
    facts.instances.push_back(instance);
  } else {
    Result<std::vector<aws::RdsCluster>> found = rds_->DescribeDbClusters(arn, deadline);
    if (!found.ok()) return found.status().WithContext("describing the RDS cluster " + arn);
    if (found->size() != 1)
      return inconsistent("as " + std::to_string(found->size()) + " clusters");
    const aws::RdsCluster& cluster = found->front();
    if (!cluster.arn.empty() && cluster.arn != arn) return inconsistent("as " + cluster.arn);
    if (cluster.endpoint.empty() || cluster.port == 0) return inconsistent("without an endpoint");
    endpoint = {cluster.engine, cluster.endpoint, cluster.port};
    facts.clusters.push_back(cluster);
  }
  if (endpoint.engine.empty()) return inconsistent("without an engine");
  return endpoint;
}

Status RotationHandler::CollectRdsFacts(const HostPort& endpoint, Deadline deadline,
                                        RdsFacts& facts) {
  auto has_instance = [&](const std::string& id) {
    return std::any_of(facts.instances.begin(), facts.instances.end(),
                       [&](const aws::RdsInstance& known) { return known.identifier == id; });
  };
  auto has_cluster = [&](const std::string& id) {
    return std::any_of(facts.clusters.begin(), facts.clusters.end(),
                       [&](const aws::RdsCluster& known) { return known.identifier == id; });
  };
  auto add_instance = [&](const std::string& id) -> Status {
    if (id.empty() || has_instance(id)) return Status::Ok();
    Result<std::vector<aws::RdsInstance>> found = rds_->DescribeDbInstances(id, deadline);
    if (!found.ok())
      return found.status().Is(aws::kDbInstanceNotFound) ? Status::Ok() : found.status();
    facts.instances.insert(facts.instances.end(), found->begin(), found->end());
    return Status::Ok();
  };
  auto add_cluster = [&](const std::string& id) -> Status {
    if (id.empty() || has_cluster(id)) return Status::Ok();
    Result<std::vector<aws::RdsCluster>> found = rds_->DescribeDbClusters(id, deadline);
    if (!found.ok())
      return found.status().Is(aws::kDbClusterNotFound) ? Status::Ok() : found.status();
    facts.clusters.insert(facts.clusters.end(), found->begin(), found->end());
    return Status::Ok();
  };
  const std::string id = RdsIdentifierOfHost(endpoint.host);
  if (Status added = add_instance(id); !added.ok()) return added;
  if (Status added = add_cluster(id); !added.ok()) return added;
  // The clusters of the instances found, and the members of every cluster
  // (an Aurora cluster has at most 16 instances), bounded all the same.
  constexpr std::size_t kMaxDescribed = 40;
  for (std::size_t i = 0; i < facts.instances.size() && i < kMaxDescribed; ++i) {
    const std::string cluster = facts.instances[i].cluster;
    if (Status added = add_cluster(cluster); !added.ok()) return added;
  }
  for (std::size_t c = 0; c < facts.clusters.size() && c < kMaxDescribed; ++c) {
    const std::vector<std::string> members = facts.clusters[c].members;
    for (const std::string& member : members) {
      if (facts.instances.size() >= kMaxDescribed) break;
      if (Status added = add_instance(member); !added.ok()) return added;
    }
  }
  return Status::Ok();
}

Result<DbCredentials> RotationHandler::LogInWithPending(const StepContext& context) {
  Result<LoadedVersion> pending =
      LoadVersion(secrets_, engines_, {context.arn(), context.token(), kAwsPending},
                  PendingWhat(context.arn(), context.token()), context.deadline);
  if (!pending.ok()) return pending.status();
  // The pending version carries the current one's rotationStrategy field.
  Result<RotationKind> kind = ResolveKind(pending->document, config_.default_kind);
  if (!kind.ok()) return kind.status();
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
