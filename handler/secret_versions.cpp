#include "handler/secret_versions.h"

#include <optional>
#include <utility>

namespace secret_rotator::handler {

using strategies::DbCredentials;
using strategies::RotationKind;

namespace {

Status Precondition(std::string type, std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(type), std::move(message));
}

}  // namespace

std::string StageWhat(const std::string& arn, const char* stage) {
  return std::string("the ") + stage + " version of secret " + arn;
}

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

Result<DbCredentials> LoadAdmin(aws::SecretsManager& secrets,
                                const strategies::StrategyRegistry& engines,
                                const aws::SecretDescription& secret, const std::string& secret_id,
                                const DbCredentials& current, const std::string& master_arn,
                                Deadline deadline) {
  if (master_arn == secret.arn || master_arn == secret.name || master_arn == secret_id) {
    return Status(StatusCode::kInvalidArgument, "InvalidSecret",
                  "the masterarn field of secret " + secret.arn +
                      " names the secret itself; it must name the secret of a separate admin user "
                      "that can create and alter users");
  }
  Result<LoadedVersion> loaded =
      LoadVersion(secrets, engines, {master_arn, std::nullopt, aws::kAwsCurrent},
                  "the AWSCURRENT version of the masterarn secret " + master_arn, deadline);
  if (!loaded.ok()) return loaded.status();
  const DbCredentials& admin = loaded->credentials;
  if (admin.host != current.host || admin.port != current.port) {
    return Precondition("CredentialsMismatch", "the masterarn secret names " + admin.host + ":" +
                                                   std::to_string(admin.port) +
                                                   " but the secret names " + current.host + ":" +
                                                   std::to_string(current.port));
  }
  if (Status separate = strategies::CheckAdminIsNotRotated(admin.username, current.username);
      !separate.ok()) {
    return separate;
  }
  return std::move(loaded).value().credentials;
}

}  // namespace secret_rotator::handler
