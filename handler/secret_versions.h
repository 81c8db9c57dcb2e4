// Reading a rotated secret's versions, for the rotation steps and the
// operator commands (check, status, rotate): one implementation of how a
// version is loaded, which strategy a secret asks for, and which admin
// secret alternating users may use. Internal to handler/.
#pragma once

#include <string>

#include "aws/rds.h"
#include "aws/secrets_manager.h"
#include "base/deadline.h"
#include "base/status.h"
#include "handler/rds_endpoints.h"
#include "handler/secret_document.h"
#include "strategies/registry.h"

namespace secret_rotator::handler {

// A parsed version of a secret: its document and the credentials it names.
struct LoadedVersion {
  SecretDocument document;
  strategies::DbCredentials credentials;
};

// Reads and parses one version of a secret. `what` names it in errors.
Result<LoadedVersion> LoadVersion(aws::SecretsManager& secrets,
                                  const strategies::StrategyRegistry& engines,
                                  const aws::GetSecretValueRequest& request, std::string what,
                                  Deadline deadline);

// The rotation style: the secret's own "rotationStrategy" field, else
// `default_kind`.
Result<strategies::RotationKind> ResolveKind(const SecretDocument& current,
                                             strategies::RotationKind default_kind);

// The admin secret's name or ARN from "masterarn", required for alternating
// users.
Result<std::string> MasterArn(const SecretDocument& current);

// The masterarn secret's AWSCURRENT credentials for alternating users,
// checked against `current` (of the secret `secret`, which the caller named
// `secret_id`): not the secret itself, the same database (CheckSameDatabase:
// the same host and port, or endpoints RDS says are one cluster, or a read
// replica of the master's instance), the same engine family, not the
// rotated user or its alternate (CheckAdminIsNotRotated). A master secret
// without "host" is RDS-managed: its engine, host and port come from RDS,
// for the instance or cluster its tag aws:rds:primaryDBInstanceArn or
// aws:rds:primaryDBClusterArn names. Without `rds` (null), those two cases
// are refused.
Result<strategies::DbCredentials> LoadAdmin(aws::SecretsManager& secrets,
                                            const strategies::StrategyRegistry& engines,
                                            aws::Rds* rds, const aws::SecretDescription& secret,
                                            const std::string& secret_id,
                                            const strategies::DbCredentials& current,
                                            const std::string& master_arn, Deadline deadline);

// "the AWSCURRENT version of secret ARN", for messages.
std::string StageWhat(const std::string& arn, const char* stage);

}  // namespace secret_rotator::handler
