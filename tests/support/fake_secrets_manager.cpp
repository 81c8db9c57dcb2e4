#include "tests/support/fake_secrets_manager.h"

#include "aws/errors.h"

namespace secret_rotator::testing {
namespace {

Status NotFound(const std::string& message) {
  return Status(StatusCode::kNotFound, std::string(aws::kResourceNotFound), message);
}

Status InvalidParameter(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, std::string(aws::kInvalidParameter), message);
}

}  // namespace

std::string FakeSecretsManager::AddSecret(const std::string& name, const std::string& value,
                                          const std::string& version_id) {
  Secret secret;
  secret.name = name;
  secret.arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf";
  secret.versions[version_id] = Version{value, {aws::kAwsCurrent}};
  const std::string arn = secret.arn;
  secrets_[arn] = std::move(secret);
  return arn;
}

void FakeSecretsManager::StartRotation(const std::string& secret_id, const std::string& token) {
  Secret& secret = Get(secret_id);
  secret.versions[token] = Version{std::nullopt, {}};
  MoveStage(secret, aws::kAwsPending, token);
}

void FakeSecretsManager::FailNext(const std::string& operation, Status status) {
  failures_[operation].push_back(std::move(status));
}

FakeSecretsManager::Secret* FakeSecretsManager::Find(const std::string& secret_id) {
  for (auto& [arn, secret] : secrets_) {
    if (arn == secret_id || secret.name == secret_id) return &secret;
  }
  return nullptr;
}

FakeSecretsManager::Secret& FakeSecretsManager::Get(const std::string& secret_id) {
  return *Find(secret_id);
}

std::optional<std::string> FakeSecretsManager::ValueAt(const std::string& secret_id,
                                                       const std::string& stage) {
  for (const auto& [id, version] : Get(secret_id).versions) {
    if (version.stages.count(stage) != 0) return version.value;
  }
  return std::nullopt;
}

int FakeSecretsManager::mutating_calls() const {
  int count = 0;
  for (const std::string& call : calls_) {
    count += (call == "PutSecretValue" || call == "UpdateSecretVersionStage") ? 1 : 0;
  }
  return count;
}

std::optional<Status> FakeSecretsManager::Begin(const std::string& operation) {
  calls_.push_back(operation);
  auto& queue = failures_[operation];
  if (queue.empty()) return std::nullopt;
  Status status = queue.front();
  queue.pop_front();
  if (status.ok()) return std::nullopt;
  return status;
}

Status FakeSecretsManager::Answer(const std::string& operation, Status result) {
  if (result.ok() && lost_answers_[operation] > 0) {
    --lost_answers_[operation];
    return Status(StatusCode::kUnavailable, "ConnectionError", "the connection was reset");
  }
  return result;
}

void FakeSecretsManager::MoveStage(Secret& secret, const std::string& stage,
                                   const std::string& to) {
  std::string old_holder;
  for (auto& [id, version] : secret.versions) {
    if (version.stages.erase(stage) != 0) old_holder = id;
  }
  secret.versions[to].stages.insert(stage);
  if (stage == aws::kAwsCurrent && !old_holder.empty() && old_holder != to) {
    for (auto& [id, version] : secret.versions) version.stages.erase(aws::kAwsPrevious);
    secret.versions[old_holder].stages.insert(aws::kAwsPrevious);
  }
}

Result<aws::SecretDescription> FakeSecretsManager::DescribeSecret(const std::string& secret_id,
                                                                  Deadline) {
  if (auto failure = Begin("DescribeSecret")) return *failure;
  Secret* secret = Find(secret_id);
  if (secret == nullptr) return NotFound("Secrets Manager can't find the specified secret.");
  aws::SecretDescription description;
  description.arn = secret->arn;
  description.name = secret->name;
  description.rotation_enabled = secret->rotation_enabled;
  for (const auto& [id, version] : secret->versions) {
    if (version.stages.empty()) continue;
    description.version_stages[id] = {version.stages.begin(), version.stages.end()};
  }
  return description;
}

Result<aws::SecretValue> FakeSecretsManager::GetSecretValue(
    const aws::GetSecretValueRequest& request, Deadline) {
  if (auto failure = Begin("GetSecretValue")) return *failure;
  Secret* secret = Find(request.secret_id);
  if (secret == nullptr) return NotFound("Secrets Manager can't find the specified secret.");
  const std::string stage =
      request.version_stage.value_or(request.version_id ? "" : aws::kAwsCurrent);
  for (const auto& [id, version] : secret->versions) {
    if (request.version_id && id != *request.version_id) continue;
    if (!stage.empty() && version.stages.count(stage) == 0) continue;
    if (!version.value) return NotFound("Secrets Manager can't find the specified secret value.");
    aws::SecretValue value;
    value.arn = secret->arn;
    value.name = secret->name;
    value.version_id = id;
    value.version_stages = {version.stages.begin(), version.stages.end()};
    value.secret_string = ::secret_rotator::Secret(*version.value);
    return value;
  }
  return NotFound("Secrets Manager can't find the specified secret value.");
}

Status FakeSecretsManager::PutSecretValue(const aws::PutSecretValueRequest& request, Deadline) {
  if (auto failure = Begin("PutSecretValue")) return *failure;
  Secret* secret = Find(request.secret_id);
  if (secret == nullptr) return NotFound("Secrets Manager can't find the specified secret.");
  const std::string value(request.secret_string.reveal());
  auto existing = secret->versions.find(request.client_request_token);
  if (existing != secret->versions.end() && existing->second.value) {
    if (*existing->second.value == value) return Status::Ok();
    return Status(StatusCode::kAlreadyExists, std::string(aws::kResourceExists),
                  "You can't modify an existing version, you can only create a new version.");
  }
  secret->versions[request.client_request_token].value = value;
  for (const std::string& stage : request.version_stages) {
    MoveStage(*secret, stage, request.client_request_token);
  }
  return Status::Ok();
}

Status FakeSecretsManager::UpdateSecretVersionStage(
    const aws::UpdateSecretVersionStageRequest& request, Deadline) {
  if (auto failure = Begin("UpdateSecretVersionStage")) return *failure;
  Secret* secret = Find(request.secret_id);
  if (secret == nullptr) return NotFound("Secrets Manager can't find the specified secret.");
  std::string holder;
  for (const auto& [id, version] : secret->versions) {
    if (version.stages.count(request.version_stage) != 0) holder = id;
  }
  if (!request.move_to_version_id) {
    // Removing a label (not AWSCURRENT) from the version that holds it, as AWS allows.
    if (!request.remove_from_version_id || holder != *request.remove_from_version_id ||
        request.version_stage == aws::kAwsCurrent) {
      return InvalidParameter("the staging label is not attached to RemoveFromVersionId");
    }
    secret->versions[holder].stages.erase(request.version_stage);
    return Answer("UpdateSecretVersionStage", Status::Ok());
  }
  if (secret->versions.count(*request.move_to_version_id) == 0) {
    return NotFound("no version " + *request.move_to_version_id);
  }
  if (!holder.empty() && holder != *request.move_to_version_id &&
      request.remove_from_version_id != holder) {
    return InvalidParameter("the staging label is attached to " + holder +
                            " but RemoveFromVersionId does not name it");
  }
  MoveStage(*secret, request.version_stage, *request.move_to_version_id);
  return Answer("UpdateSecretVersionStage", Status::Ok());
}

Result<::secret_rotator::Secret> FakeSecretsManager::GetRandomPassword(
    const aws::RandomPasswordRequest& request, Deadline) {
  if (auto failure = Begin("GetRandomPassword")) return *failure;
  last_password_request = request;
  ++password_counter_;
  return ::secret_rotator::Secret("Generated-Password-" + std::to_string(password_counter_));
}

}  // namespace secret_rotator::testing
