// The RDS operations the rotation uses (DescribeDBInstances,
// DescribeDBClusters), behind an interface so that tests can put a fake in
// its place. Only the fields the rotation needs are read.
//
// Every call is bounded by `deadline`. Errors are Status values whose type()
// is RDS's error Code (DBInstanceNotFound, AccessDenied, ...; see
// aws/errors.h for the codes).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aws/config.h"
#include "aws/retry.h"
#include "base/deadline.h"
#include "base/status.h"
#include "http/http_client.h"

namespace secret_rotator::aws {

inline constexpr std::string_view kDbInstanceNotFound = "DBInstanceNotFound";
inline constexpr std::string_view kDbClusterNotFound = "DBClusterNotFoundFault";

struct RdsInstance {
  std::string identifier;  // DBInstanceIdentifier
  std::string arn;         // DBInstanceArn
  std::string engine;      // Engine: "mysql", "postgres", "aurora-mysql", ...
  std::string address;     // Endpoint/Address; "" while the instance has none
  int port = 0;            // Endpoint/Port; 0 when absent
  std::string cluster;     // DBClusterIdentifier; "" when not in a cluster
  // ReadReplicaSourceDBInstanceIdentifier: the source's identifier (an ARN
  // for a replica in another region); "" when not a read replica.
  std::string replica_source;
};

struct RdsCluster {
  std::string identifier;  // DBClusterIdentifier
  std::string arn;         // DBClusterArn
  std::string engine;
  std::string endpoint;         // the writer (cluster) endpoint
  std::string reader_endpoint;  // ReaderEndpoint; "" when none
  std::vector<std::string> custom_endpoints;
  int port = 0;
  // DBClusterMembers: the member instances' identifiers.
  std::vector<std::string> members;
};

class Rds {
 public:
  virtual ~Rds() = default;
  // DescribeDBInstances with DBInstanceIdentifier `identifier` (an
  // identifier or an ARN). A missing instance is DBInstanceNotFound.
  virtual Result<std::vector<RdsInstance>> DescribeDbInstances(const std::string& identifier,
                                                               Deadline deadline) = 0;
  // DescribeDBClusters with DBClusterIdentifier `identifier` (an identifier
  // or an ARN). A missing cluster is DBClusterNotFoundFault.
  virtual Result<std::vector<RdsCluster>> DescribeDbClusters(const std::string& identifier,
                                                             Deadline deadline) = 0;
};

// The real client: the Query protocol (form-encoded POST, Version
// 2014-10-31) at config.rds_endpoint over `http`, signed with SigV4 (service
// "rds"), with retries per `retry`. Thread-safety: one thread at a time.
std::unique_ptr<Rds> NewRdsClient(std::unique_ptr<http::Client> http, const AwsConfig& config,
                                  RetryPolicy retry = {});

// The operation names the client calls; the template must grant them.
const std::vector<std::string>& RdsOperations();

// The answers' parsers, for tests. Errors: "InvalidResponse".
Result<std::vector<RdsInstance>> ParseDescribeDbInstances(std::string_view xml);
Result<std::vector<RdsCluster>> ParseDescribeDbClusters(std::string_view xml);
// The Status for an RDS error answer (<ErrorResponse><Error><Code>...): its
// type is the Code, its message "Code: Message"; the code follows the type
// (throttling is kUnavailable, retryable) and, for unknown codes, the HTTP
// status. A body that is not such XML still gives a Status from the HTTP status.
Status StatusFromRdsErrorResponse(long http_status, std::string_view body);

}  // namespace secret_rotator::aws
