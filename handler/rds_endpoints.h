// Whether two database endpoints are the same database as RDS describes it:
// the rule that lets an alternating-users secret on a reader endpoint or a
// read replica use a master secret on the writer or the source, as AWS's
// functions do. One pure function, with one table test.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aws/rds.h"
#include "base/status.h"

namespace secret_rotator::handler {

struct HostPort {
  std::string host;
  int port = 0;
};

// What RDS said about the instances and clusters around two endpoints.
struct RdsFacts {
  std::vector<aws::RdsInstance> instances;
  std::vector<aws::RdsCluster> clusters;
};

// Returns OK iff the user secret's endpoint `user` and the master secret's
// endpoint `admin` reach the same database:
//  - the same host (compared without regard to case) and port; or, per `facts`,
//  - both are endpoints of one cluster: its writer, reader or custom
//    endpoint, or the endpoint of an instance that is a member of it; or
//  - `user` is the endpoint of a read replica whose source
//    (ReadReplicaSourceDBInstanceIdentifier, an identifier or an ARN) is the
//    instance whose endpoint is `admin`.
// An endpoint matches an RDS endpoint only with the same host and port.
// Otherwise CredentialsMismatch (kFailedPrecondition) naming both endpoints
// and what RDS said about each.
Status CheckSameDatabase(const HostPort& user, const HostPort& admin, const RdsFacts& facts);

// The first label of a host name ("db1" of "db1.abc.eu-west-1.rds.amazonaws.com"):
// the instance or cluster identifier of an RDS endpoint, as AWS's functions
// read it; "" when the host cannot be one (an IP address, an empty label).
std::string RdsIdentifierOfHost(std::string_view host);

// Returns true iff `a` and `b` are engines of one family (MySQL/MariaDB,
// or PostgreSQL), such as "postgres" and "aurora-postgresql".
bool SameEngineFamily(std::string_view a, std::string_view b);

}  // namespace secret_rotator::handler
