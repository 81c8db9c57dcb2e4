// An in-memory SecretsManager for unit tests: keeps AWS's staging-label rules
// (one version per label; moving AWSCURRENT puts AWSPREVIOUS on the old
// holder; PutSecretValue idempotent per token) and records every call.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aws/secrets_manager.h"

namespace secret_rotator::testing {

class FakeSecretsManager : public aws::SecretsManager {
 public:
  struct Version {
    std::optional<std::string> value;  // nullopt: created by RotateSecret, no value yet
    std::set<std::string> stages;
  };
  struct Secret {
    std::string arn;
    std::string name;
    bool rotation_enabled = true;
    std::map<std::string, Version> versions;
  };

  // Adds a secret whose version `version_id` holds `value` with AWSCURRENT.
  // Returns its ARN.
  std::string AddSecret(const std::string& name, const std::string& value,
                        const std::string& version_id = "00000000-0000-0000-0000-000000000001");
  // What RotateSecret does before invoking the function: an empty AWSPENDING
  // version `token`.
  void StartRotation(const std::string& secret_id, const std::string& token);
  // Queues an outcome for the next call of `operation`: a non-OK `status`
  // fails it without effect; an OK status lets it through. In order.
  void FailNext(const std::string& operation, Status status);
  // The next call of `operation` takes effect but reports a lost connection.
  void LoseAnswerOfNext(const std::string& operation) { ++lost_answers_[operation]; }

  Secret& Get(const std::string& secret_id);
  // The value of the version holding `stage`, or nullopt.
  std::optional<std::string> ValueAt(const std::string& secret_id, const std::string& stage);

  // Operation names in call order.
  const std::vector<std::string>& calls() const { return calls_; }
  // Names of calls that change state (PutSecretValue, UpdateSecretVersionStage).
  int mutating_calls() const;
  void ClearCalls() { calls_.clear(); }

  Result<aws::SecretDescription> DescribeSecret(const std::string& secret_id,
                                                Deadline deadline) override;
  Result<aws::SecretValue> GetSecretValue(const aws::GetSecretValueRequest& request,
                                          Deadline deadline) override;
  Status PutSecretValue(const aws::PutSecretValueRequest& request, Deadline deadline) override;
  Status UpdateSecretVersionStage(const aws::UpdateSecretVersionStageRequest& request,
                                  Deadline deadline) override;
  Result<::secret_rotator::Secret> GetRandomPassword(const aws::RandomPasswordRequest& request,
                                                     Deadline deadline) override;

  // The last GetRandomPassword request.
  std::optional<aws::RandomPasswordRequest> last_password_request;

 private:
  Secret* Find(const std::string& secret_id);
  std::optional<Status> Begin(const std::string& operation);
  // `result`, or a lost-connection error if the answer is to be lost.
  Status Answer(const std::string& operation, Status result);
  void MoveStage(Secret& secret, const std::string& stage, const std::string& to);

  std::map<std::string, Secret> secrets_;  // by ARN
  std::vector<std::string> calls_;
  std::map<std::string, std::deque<Status>> failures_;
  std::map<std::string, int> lost_answers_;
  int password_counter_ = 0;
};

}  // namespace secret_rotator::testing
