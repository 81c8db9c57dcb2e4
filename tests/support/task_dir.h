// A Lambda task folder made from the built bootstrap, for the tests of the
// database CA bundle's default position: the function trusts
// <folder of the executable>/db-ca-bundle.pem when DB_TLS_CA_FILE is unset
// (app/config.h), and the package puts Amazon RDS's bundle there; a test puts
// its own CA there instead.
#pragma once

#include <iterator>
#include <string>
#include <vector>

namespace secret_rotator::testing {

// The RDS endpoint shapes the test servers' certificate names
// (tests/servers/make_tls.sh), and one it does not: instance, cluster
// (writer), cluster reader, custom cluster endpoint, and an RDS Proxy
// endpoint that its wildcard name covers.
inline constexpr const char* kRdsEndpointNames[] = {
    "mydb.abc123xyz.eu-west-1.rds.amazonaws.com",
    "mydb.cluster-abc123xyz.eu-west-1.rds.amazonaws.com",
    "mydb.cluster-ro-abc123xyz.eu-west-1.rds.amazonaws.com",
    "reporting.cluster-custom-abc123xyz.eu-west-1.rds.amazonaws.com",
    "myproxy.proxy-abc123xyz.eu-west-1.rds.amazonaws.com",
};
inline constexpr char kUnlistedRdsName[] =
    "otherdb.cluster-ro-abc123xyz.eu-west-1.rds.amazonaws.com";

// Every name of kRdsEndpointNames, then kUnlistedRdsName.
inline std::vector<std::string> RdsEndpointNamesAndAnUnlistedOne() {
  std::vector<std::string> names(std::begin(kRdsEndpointNames), std::end(kRdsEndpointNames));
  names.emplace_back(kUnlistedRdsName);
  return names;
}

struct TaskDir {
  std::string dir;        // the task folder: bootstrap and db-ca-bundle.pem
  std::string bootstrap;  // what the Lambda service runs (see MakeTaskDir)
};

// Makes a task folder under `parent` with a copy of `bootstrap` and
// `ca_bundle` as its db-ca-bundle.pem. With `loopback_names`, the function
// runs through a wrapper that gives it a private mount namespace whose
// /etc/hosts also maps those names to 127.0.0.1 (unshare -rm), so that it
// connects to the local servers under those names and checks the servers'
// certificates against them. Throws std::runtime_error on failure.
TaskDir MakeTaskDir(const std::string& parent, const std::string& bootstrap,
                    const std::string& ca_bundle,
                    const std::vector<std::string>& loopback_names = {});

// Whether this machine lets an unprivileged process have its own mount
// namespace (unshare -rm), which MakeTaskDir's loopback_names need; `why`
// says what failed.
bool CanMapNamesToLoopback(std::string* why);

}  // namespace secret_rotator::testing
