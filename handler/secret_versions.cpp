#include "handler/secret_versions.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace secret_rotator::handler {

using strategies::DbCredentials;
using strategies::RotationKind;

namespace {

Status Precondition(std::string type, std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(type), std::move(message));
}

// The endpoint of an RDS-managed master secret; what RDS said goes into `facts`.
Result<SecretDocument::Endpoint> RdsManagedEndpoint(aws::SecretsManager& secrets, aws::Rds* rds,
                                                    const std::string& master_arn,
                                                    Deadline deadline, RdsFacts& facts) {
  constexpr char kInstanceTag[] = "aws:rds:primaryDBInstanceArn";
  constexpr char kClusterTag[] = "aws:rds:primaryDBClusterArn";
  constexpr std::size_t kMaxArnLength = 256;  // as AWS's functions check
  Result<aws::SecretDescription> description = secrets.DescribeSecret(master_arn, deadline);
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
  if (rds == nullptr) {
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
    Result<std::vector<aws::RdsInstance>> found = rds->DescribeDbInstances(arn, deadline);
    if (!found.ok()) return found.status().WithContext("describing the RDS instance " + arn);
    if (found->size() != 1)
      return inconsistent("as " + std::to_string(found->size()) + " instances");
    const aws::RdsInstance& instance = found->front();
    if (!instance.arn.empty() && instance.arn != arn) return inconsistent("as " + instance.arn);
    if (instance.address.empty() || instance.port == 0) return inconsistent("without an endpoint");
    endpoint = {instance.engine, instance.address, instance.port};
    facts.instances.push_back(instance);
  } else {
    Result<std::vector<aws::RdsCluster>> found = rds->DescribeDbClusters(arn, deadline);
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

// Adds to `facts` what RDS says about `endpoint`'s host (the instance or
// cluster its first label names) and about the clusters around it.
Status CollectRdsFacts(aws::Rds& rds, const HostPort& endpoint, Deadline deadline,
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
    Result<std::vector<aws::RdsInstance>> found = rds.DescribeDbInstances(id, deadline);
    if (!found.ok())
      return found.status().Is(aws::kDbInstanceNotFound) ? Status::Ok() : found.status();
    facts.instances.insert(facts.instances.end(), found->begin(), found->end());
    return Status::Ok();
  };
  auto add_cluster = [&](const std::string& id) -> Status {
    if (id.empty() || has_cluster(id)) return Status::Ok();
    Result<std::vector<aws::RdsCluster>> found = rds.DescribeDbClusters(id, deadline);
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
                                const strategies::StrategyRegistry& engines, aws::Rds* rds,
                                const aws::SecretDescription& secret, const std::string& secret_id,
                                const DbCredentials& current, const std::string& master_arn,
                                Deadline deadline) {
  if (master_arn == secret.arn || master_arn == secret.name || master_arn == secret_id) {
    return Status(StatusCode::kInvalidArgument, "InvalidSecret",
                  "the masterarn field of secret " + secret.arn +
                      " names the secret itself; it must name the secret of a separate admin user "
                      "that can create and alter users");
  }
  const std::string what = "the AWSCURRENT version of the masterarn secret " + master_arn;
  Result<aws::SecretValue> value =
      secrets.GetSecretValue({master_arn, std::nullopt, aws::kAwsCurrent}, deadline);
  if (!value.ok()) return value.status().WithContext("reading " + what);
  Result<SecretDocument> document = SecretDocument::Parse(value->secret_string, what);
  if (!document.ok()) return document.status();
  RdsFacts facts;
  Result<DbCredentials> loaded = [&]() -> Result<DbCredentials> {
    if (document->Has("host")) return document->Credentials(engines);
    // An RDS-managed master secret holds only a username and a password.
    Result<SecretDocument::Endpoint> endpoint =
        RdsManagedEndpoint(secrets, rds, master_arn, deadline, facts);
    if (!endpoint.ok()) return endpoint.status();
    Result<DbCredentials> credentials = document->CredentialsAt(engines, *endpoint);
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
    if (rds == nullptr) return same;
    for (const HostPort* endpoint : {&user_at, &admin_at}) {
      if (Status collected = CollectRdsFacts(*rds, *endpoint, deadline, facts); !collected.ok()) {
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

}  // namespace secret_rotator::handler
