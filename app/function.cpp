#include "app/function.h"

#include <utility>

#include "app/config.h"
#include "aws/ca_trust.h"
#include "aws/config.h"

namespace secret_rotator::app {

// Returns OK iff credentials that expire at `expiration`
// (if ever) still work when `deadline` is reached.
Status CheckCredentialsLast(const std::optional<std::chrono::system_clock::time_point>& expiration,
                            Deadline deadline) {
  if (!expiration || *expiration >= std::chrono::system_clock::now() + deadline.Remaining()) {
    return Status::Ok();
  }
  return Status(StatusCode::kFailedPrecondition, "ConfigurationError",
                "the AWS credentials expire at " + aws::FormatUtcTime(*expiration) +
                    ", before this invocation's time is up");
}

Result<Function> Initialize(const strategies::StrategyRegistry& engines) {
  Result<aws::AwsConfig> aws_config = aws::AwsConfigFromEnvironment();
  if (!aws_config.ok()) return aws_config.status();
  Result<handler::RotationConfig> rotation_config = RotationConfigFromEnvironment(ExecutableDir());
  if (!rotation_config.ok()) return rotation_config.status();
  Result<std::unique_ptr<http::Client>> http =
      http::NewClient(aws::SecretsManagerHttpOptions(*aws_config));
  if (!http.ok()) return http.status();
  // RDS has its own connection (another host, its own trusted CAs).
  Result<std::unique_ptr<http::Client>> rds_http =
      http::NewClient(aws::RdsHttpOptions(*aws_config));
  if (!rds_http.ok()) return rds_http.status();
  Function function;
  function.credentials_expiration = aws_config->credentials.expiration;
  function.rds = aws::NewRdsClient(std::move(rds_http).value(), *aws_config);
  function.secrets =
      aws::NewSecretsManagerClient(std::move(http).value(), std::move(aws_config).value());
  function.handler = std::make_unique<handler::RotationHandler>(
      *function.secrets, engines, std::move(rotation_config).value(), function.rds.get());
  return function;
}

}  // namespace secret_rotator::app
