#include "handler/rds_endpoints.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace secret_rotator::handler {
namespace {

bool SameHost(std::string_view a, std::string_view b) {
  while (a.ends_with('.')) a.remove_suffix(1);
  while (b.ends_with('.')) b.remove_suffix(1);
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// What an endpoint is, per RDS: an instance's endpoint, or one of a cluster's.
struct Resolved {
  const aws::RdsInstance* instance = nullptr;
  const aws::RdsCluster* cluster = nullptr;  // a cluster endpoint
  // The cluster the endpoint belongs to: the cluster's own, or the instance's.
  std::string cluster_identifier;
};

std::optional<Resolved> Resolve(const HostPort& endpoint, const RdsFacts& facts) {
  for (const aws::RdsInstance& instance : facts.instances) {
    if (!instance.address.empty() && SameHost(instance.address, endpoint.host) &&
        instance.port == endpoint.port) {
      return Resolved{&instance, nullptr, instance.cluster};
    }
  }
  for (const aws::RdsCluster& cluster : facts.clusters) {
    if (cluster.port != endpoint.port) continue;
    bool found =
        (!cluster.endpoint.empty() && SameHost(cluster.endpoint, endpoint.host)) ||
        (!cluster.reader_endpoint.empty() && SameHost(cluster.reader_endpoint, endpoint.host));
    for (const std::string& custom : cluster.custom_endpoints) {
      found = found || SameHost(custom, endpoint.host);
    }
    if (found) return Resolved{nullptr, &cluster, cluster.identifier};
  }
  return std::nullopt;
}

// An instance's membership as the cluster's member list says it, when the
// instance's own DBClusterIdentifier is not in the facts.
std::string ClusterListing(const aws::RdsInstance& instance, const RdsFacts& facts) {
  if (!instance.cluster.empty()) return instance.cluster;
  for (const aws::RdsCluster& cluster : facts.clusters) {
    for (const std::string& member : cluster.members) {
      if (member == instance.identifier) return cluster.identifier;
    }
  }
  return "";
}

std::string Describe(const HostPort& endpoint, const std::optional<Resolved>& resolved) {
  std::string text = endpoint.host + ":" + std::to_string(endpoint.port);
  if (!resolved) return text + " (not an endpoint RDS described)";
  if (resolved->instance != nullptr) {
    text += " (instance " + resolved->instance->identifier;
    if (!resolved->cluster_identifier.empty()) {
      text += " of cluster " + resolved->cluster_identifier;
    }
    if (!resolved->instance->replica_source.empty()) {
      text += ", a read replica of " + resolved->instance->replica_source;
    }
    return text + ")";
  }
  return text + " (an endpoint of cluster " + resolved->cluster_identifier + ")";
}

}  // namespace

Status CheckSameDatabase(const HostPort& user, const HostPort& admin, const RdsFacts& facts) {
  if (SameHost(user.host, admin.host) && user.port == admin.port) return Status::Ok();
  std::optional<Resolved> user_at = Resolve(user, facts);
  std::optional<Resolved> admin_at = Resolve(admin, facts);
  if (user_at && user_at->instance != nullptr) {
    user_at->cluster_identifier = ClusterListing(*user_at->instance, facts);
  }
  if (admin_at && admin_at->instance != nullptr) {
    admin_at->cluster_identifier = ClusterListing(*admin_at->instance, facts);
  }
  if (user_at && admin_at) {
    if (!user_at->cluster_identifier.empty() &&
        user_at->cluster_identifier == admin_at->cluster_identifier) {
      return Status::Ok();
    }
    if (user_at->instance != nullptr && admin_at->instance != nullptr) {
      const std::string& source = user_at->instance->replica_source;
      if (!source.empty() &&
          (source == admin_at->instance->identifier ||
           (!admin_at->instance->arn.empty() && source == admin_at->instance->arn))) {
        return Status::Ok();
      }
    }
  }
  return Status(StatusCode::kFailedPrecondition, "CredentialsMismatch",
                "the secret names " + Describe(user, user_at) + " but the masterarn secret names " +
                    Describe(admin, admin_at) +
                    "; a different host is accepted only when RDS says both are endpoints of one "
                    "cluster, or the secret's host is a read replica of the master's");
}

std::string RdsIdentifierOfHost(std::string_view host) {
  const std::string_view label = host.substr(0, host.find('.'));
  if (label.empty() || !std::isalpha(static_cast<unsigned char>(label.front()))) return "";
  for (char c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return "";
  }
  return std::string(label);
}

bool SameEngineFamily(std::string_view a, std::string_view b) {
  auto postgres = [](std::string_view engine) {
    return engine.find("postgres") != std::string_view::npos;
  };
  return postgres(a) == postgres(b);
}

}  // namespace secret_rotator::handler
