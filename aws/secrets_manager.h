// The Secrets Manager operations the rotation uses, behind an interface so
// that tests can put a fake in its place.
//
// Every call is bounded by `deadline`. Errors are Status values whose type()
// is the service's __type (see aws/errors.h).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/config.h"
#include "aws/retry.h"
#include "base/deadline.h"
#include "base/secret.h"
#include "base/status.h"
#include "http/http_client.h"

namespace secret_rotator::aws {

inline constexpr char kAwsCurrent[] = "AWSCURRENT";
inline constexpr char kAwsPending[] = "AWSPENDING";
inline constexpr char kAwsPrevious[] = "AWSPREVIOUS";

struct SecretDescription {
  std::string arn;
  std::string name;
  bool rotation_enabled = false;
  // RotationLambdaARN; empty when none.
  std::string rotation_lambda_arn;
  // RotationRules, for people: e.g. "every 30 days", "rate(4 hours), window
  // 2h"; empty when none.
  std::string rotation_schedule;
  // LastRotatedDate and LastChangedDate (seconds since the epoch), if given.
  std::optional<double> last_rotated_date;
  std::optional<double> last_changed_date;
  // Version id -> its staging labels.
  std::map<std::string, std::vector<std::string>> version_stages;
  // The secret's tags (Key, Value), in the answer's order.
  std::vector<std::pair<std::string, std::string>> tags;

  // Returns true iff version `version_id` carries label `stage`.
  bool HasStage(const std::string& version_id, const std::string& stage) const;
  // The version that carries label `stage`, if any.
  std::optional<std::string> VersionWithStage(const std::string& stage) const;
  // The value of the tag whose key is `key`, compared without regard to
  // case (as AWS's functions read aws:rds:* tags), if any.
  std::optional<std::string> Tag(std::string_view key) const;
};

struct GetSecretValueRequest {
  std::string secret_id;
  std::optional<std::string> version_id;
  std::optional<std::string> version_stage;
};

struct SecretValue {
  std::string arn;
  std::string name;
  std::string version_id;
  std::vector<std::string> version_stages;
  // The SecretString; a version that holds only SecretBinary is an error.
  Secret secret_string;
};

struct PutSecretValueRequest {
  std::string secret_id;
  std::string client_request_token;
  Secret secret_string;
  std::vector<std::string> version_stages;
  std::optional<std::string> rotation_token;
};

struct UpdateSecretVersionStageRequest {
  std::string secret_id;
  std::string version_stage;
  std::optional<std::string> move_to_version_id;
  std::optional<std::string> remove_from_version_id;
};

struct RandomPasswordRequest {
  int password_length = 32;
  std::string exclude_characters;
  bool exclude_numbers = false;
  bool exclude_punctuation = false;
  bool exclude_uppercase = false;
  bool exclude_lowercase = false;
  bool include_space = false;
  bool require_each_included_type = true;
};

class SecretsManager {
 public:
  virtual ~SecretsManager() = default;

  virtual Result<SecretDescription> DescribeSecret(const std::string& secret_id,
                                                   Deadline deadline) = 0;
  virtual Result<SecretValue> GetSecretValue(const GetSecretValueRequest& request,
                                             Deadline deadline) = 0;
  virtual Status PutSecretValue(const PutSecretValueRequest& request, Deadline deadline) = 0;
  virtual Status UpdateSecretVersionStage(const UpdateSecretVersionStageRequest& request,
                                          Deadline deadline) = 0;
  virtual Result<Secret> GetRandomPassword(const RandomPasswordRequest& request,
                                           Deadline deadline) = 0;
};

// The real client: JSON 1.1 protocol over `http`, signed with SigV4, with
// retries per `retry`. Thread-safety: one thread at a time.
std::unique_ptr<SecretsManager> NewSecretsManagerClient(std::unique_ptr<http::Client> http,
                                                        AwsConfig config, RetryPolicy retry = {});

// The operation names the client calls, e.g. "GetSecretValue"; the deployment
// template must grant exactly these (plus nothing else) and a test checks it.
const std::vector<std::string>& SecretsManagerOperations();

}  // namespace secret_rotator::aws
