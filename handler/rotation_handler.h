// The rotation protocol: validates an event, runs the pre-checks and the step
// it names, and owns every decision about versions and staging labels.
//
// Every step is idempotent: Secrets Manager retries failed steps, and a crash
// at any point must leave a state that a re-run completes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "aws/rds.h"
#include "aws/secrets_manager.h"
#include "base/deadline.h"
#include "base/status.h"
#include "handler/event.h"
#include "handler/rds_endpoints.h"
#include "handler/secret_document.h"
#include "strategies/registry.h"

namespace secret_rotator::handler {

// The GetRandomPassword settings (PASSWORD_LENGTH, EXCLUDE_* and
// REQUIRE_EACH_INCLUDED_TYPE; the same names and defaults as AWS's functions).
struct PasswordPolicy {
  int length = 32;
  // nullopt: the engine's default (see EngineEntry).
  std::optional<std::string> exclude_characters;
  bool exclude_numbers = false;
  bool exclude_punctuation = false;
  bool exclude_uppercase = false;
  bool exclude_lowercase = false;
  bool require_each_included_type = true;
};

struct RotationConfig {
  // ROTATION_STRATEGY; a secret's own "rotationStrategy" field overrides it.
  strategies::RotationKind default_kind = strategies::RotationKind::kSingleUser;
  PasswordPolicy password;
  strategies::StrategyConfig strategy;
};

class RotationHandler {
 public:
  // `secrets`, `engines` and `rds` must outlive the handler. `rds` answers
  // for RDS-managed master secrets and for master secrets on another
  // endpoint of the same database (see LoadAdmin); without it, those are
  // refused.
  RotationHandler(aws::SecretsManager& secrets, const strategies::StrategyRegistry& engines,
                  RotationConfig config, aws::Rds* rds = nullptr);

  // Runs one event. Returns a JSON summary (never a secret value) on success.
  // Writes one log line for the event, tagged with `request_id`.
  Result<std::string> HandlePayload(std::string_view payload, Deadline deadline,
                                    const std::string& request_id);

  // Runs one parsed event; returns a short description of what was done.
  // `request_id` tags any log line written on the way.
  Result<std::string> Handle(const RotationEvent& event, Deadline deadline,
                             const std::string& request_id = "");

 private:
  struct StepContext;

  Result<std::string> CreateSecret(const StepContext& context);
  Result<std::string> SetSecret(const StepContext& context);
  Result<std::string> TestSecret(const StepContext& context);
  Result<std::string> FinishSecret(const StepContext& context);

  // Logs in with the token's AWSPENDING credentials (testSecret, and
  // finishSecret before it moves AWSCURRENT); returns them.
  Result<strategies::DbCredentials> LogInWithPending(const StepContext& context);

  // The masterarn secret's AWSCURRENT credentials for alternating users,
  // checked against `current` (of secret `arn`): not the secret itself, the
  // same database (CheckSameDatabase: the same host and port, or endpoints
  // RDS says are one cluster, or a read replica of the master's instance),
  // the same engine family, not the rotated user or its alternate. A master
  // secret without "host" is RDS-managed: its engine, host and port come
  // from RDS, for the instance or cluster its tag aws:rds:primaryDBInstanceArn
  // or aws:rds:primaryDBClusterArn names.
  Result<strategies::DbCredentials> LoadAdmin(const StepContext& context,
                                              const strategies::DbCredentials& current,
                                              const std::string& master_arn);

  // The endpoint of an RDS-managed master secret; what RDS said goes into `facts`.
  Result<SecretDocument::Endpoint> RdsManagedEndpoint(const std::string& master_arn,
                                                      Deadline deadline, RdsFacts& facts);
  // Adds to `facts` what RDS says about `endpoint`'s host (the instance or
  // cluster its first label names) and about the clusters around it.
  Status CollectRdsFacts(const HostPort& endpoint, Deadline deadline, RdsFacts& facts);

  aws::SecretsManager& secrets_;
  const strategies::StrategyRegistry& engines_;
  RotationConfig config_;
  aws::Rds* rds_;
};

}  // namespace secret_rotator::handler
