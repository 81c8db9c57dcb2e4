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

// What a step found out about the secret, for its metric; empty when the
// step did not get as far.
struct StepDimensions {
  std::string engine;
  std::string strategy;  // "single-user" / "alternating-users"
};

struct StepOptions {
  // A rotation the operator started by hand (bootstrap rotate), not
  // Secrets Manager: rotation need not be turned on for the secret, and
  // createSecret with a token that is no version of the secret, while no
  // version is AWSPENDING, stores the AWSPENDING version under that token.
  // Every other rule and check is the same. Never set for Lambda events.
  bool manual_rotation = false;
  // Filled in as the step reads the secret, if not null.
  StepDimensions* dimensions = nullptr;
};

class RotationHandler {
 public:
  // `secrets`, `engines` and `rds` must outlive the handler. `rds` answers
  // for RDS-managed master secrets and for master secrets on another
  // endpoint of the same database (see LoadAdmin); without it, those are
  // refused.
  RotationHandler(aws::SecretsManager& secrets, const strategies::StrategyRegistry& engines,
                  RotationConfig config, aws::Rds* rds = nullptr);

  // The RDS client the handler was given, or null.
  aws::Rds* rds() const { return rds_; }

  // Runs one event. Returns a JSON summary (never a secret value) on success.
  // Writes one log line and one metric record (step_metrics.h) for the
  // event, tagged with `request_id`.
  Result<std::string> HandlePayload(std::string_view payload, Deadline deadline,
                                    const std::string& request_id);

  // Runs one parsed event as HandlePayload does (one log line, one metric
  // record); returns a short description of what was done.
  Result<std::string> RunStep(const RotationEvent& event, Deadline deadline,
                              const std::string& request_id, bool manual_rotation = false);

  // Runs one parsed event; returns a short description of what was done.
  // `request_id` tags any log line written on the way.
  Result<std::string> Handle(const RotationEvent& event, Deadline deadline,
                             const std::string& request_id = "", const StepOptions& options = {});

  const RotationConfig& config() const { return config_; }

 private:
  struct StepContext;

  Result<std::string> CreateSecret(const StepContext& context);
  Result<std::string> SetSecret(const StepContext& context);
  Result<std::string> TestSecret(const StepContext& context);
  Result<std::string> FinishSecret(const StepContext& context);

  // Logs in with the token's AWSPENDING credentials (testSecret, and
  // finishSecret before it moves AWSCURRENT); returns them.
  Result<strategies::DbCredentials> LogInWithPending(const StepContext& context);

  // LoadAdmin() of secret_versions.h for this step's secret.
  Result<strategies::DbCredentials> LoadAdmin(const StepContext& context,
                                              const strategies::DbCredentials& current,
                                              const std::string& master_arn);

  aws::SecretsManager& secrets_;
  const strategies::StrategyRegistry& engines_;
  RotationConfig config_;
  aws::Rds* rds_;
};

}  // namespace secret_rotator::handler
