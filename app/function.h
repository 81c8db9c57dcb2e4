// What the function and the operators' commands need, built once per process
// from the environment: the Secrets Manager and RDS clients and the rotation
// handler.
// Internal to app/.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "aws/rds.h"
#include "aws/secrets_manager.h"
#include "base/deadline.h"
#include "base/status.h"
#include "handler/rotation_handler.h"
#include "strategies/registry.h"

namespace secret_rotator::app {

struct Function {
  std::unique_ptr<aws::SecretsManager> secrets;
  // Used only for RDS-managed master secrets and replica or cluster endpoints.
  std::unique_ptr<aws::Rds> rds;
  std::unique_ptr<handler::RotationHandler> handler;
  // When the AWS credentials stop working, if their source says
  // (credential_process); they are read once, at start-up.
  std::optional<std::chrono::system_clock::time_point> credentials_expiration;
};

// Returns OK iff credentials that expire at `expiration` (if ever) still
// work when `deadline` is reached.
Status CheckCredentialsLast(const std::optional<std::chrono::system_clock::time_point>& expiration,
                            Deadline deadline);

// Reads the AWS and rotation settings from the environment (see --help).
Result<Function> Initialize(const strategies::StrategyRegistry& engines);

}  // namespace secret_rotator::app
