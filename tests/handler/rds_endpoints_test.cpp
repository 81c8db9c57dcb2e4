// The one rule that accepts a master secret on another endpoint of the same
// database (CheckSameDatabase), as a table.
#include "handler/rds_endpoints.h"

#include <gtest/gtest.h>

namespace secret_rotator::handler {
namespace {

aws::RdsInstance Instance(std::string id, std::string address, int port, std::string cluster = "",
                          std::string source = "") {
  aws::RdsInstance instance;
  instance.identifier = id;
  instance.arn = "arn:aws:rds:eu-west-1:123456789012:db:" + id;
  instance.engine = "postgres";
  instance.address = std::move(address);
  instance.port = port;
  instance.cluster = std::move(cluster);
  instance.replica_source = std::move(source);
  return instance;
}

RdsFacts Facts() {
  RdsFacts facts;
  aws::RdsCluster shop;
  shop.identifier = "shop";
  shop.endpoint = "shop.cluster-abc.rds.example";
  shop.reader_endpoint = "shop.cluster-ro-abc.rds.example";
  shop.custom_endpoints = {"reports.cluster-custom-abc.rds.example"};
  shop.port = 5432;
  shop.members = {"shop-1", "shop-2", "shop-3"};
  facts.clusters.push_back(shop);
  facts.instances = {
      Instance("shop-1", "shop-1.abc.rds.example", 5432, "shop"),
      Instance("shop-2", "shop-2.abc.rds.example", 5432, "shop"),
      // listed by the cluster, its own DBClusterIdentifier not given
      Instance("shop-3", "shop-3.abc.rds.example", 5432),
      Instance("primary", "primary.abc.rds.example", 5432),
      Instance("replica", "replica.abc.rds.example", 5432, "", "primary"),
      Instance("far-replica", "far-replica.xyz.rds.example", 5432, "",
               "arn:aws:rds:eu-west-1:123456789012:db:primary"),
      Instance("other", "other.abc.rds.example", 5432),
      Instance("other-replica", "other-replica.abc.rds.example", 5432, "", "other"),
  };
  return facts;
}

struct Case {
  const char* name;
  HostPort user;
  HostPort admin;
  bool accepted;
};

TEST(CheckSameDatabase, Table) {
  const Case cases[] = {
      {"same host and port", {"db.example", 5432}, {"db.example", 5432}, true},
      {"same host, other case", {"DB.example.", 5432}, {"db.example", 5432}, true},
      {"same host, other port", {"db.example", 5433}, {"db.example", 5432}, false},
      {"unknown hosts", {"a.example", 5432}, {"b.example", 5432}, false},
      {"reader endpoint, writer master",
       {"shop.cluster-ro-abc.rds.example", 5432},
       {"shop.cluster-abc.rds.example", 5432},
       true},
      {"custom endpoint, writer master",
       {"reports.cluster-custom-abc.rds.example", 5432},
       {"shop.cluster-abc.rds.example", 5432},
       true},
      {"member instance, writer master",
       {"shop-2.abc.rds.example", 5432},
       {"shop.cluster-abc.rds.example", 5432},
       true},
      {"member listed only by the cluster",
       {"shop-3.abc.rds.example", 5432},
       {"shop.cluster-abc.rds.example", 5432},
       true},
      {"two members", {"shop-2.abc.rds.example", 5432}, {"shop-1.abc.rds.example", 5432}, true},
      {"reader endpoint, wrong port",
       {"shop.cluster-ro-abc.rds.example", 3306},
       {"shop.cluster-abc.rds.example", 5432},
       false},
      {"read replica of the master's instance",
       {"replica.abc.rds.example", 5432},
       {"primary.abc.rds.example", 5432},
       true},
      {"cross-region replica (source as ARN)",
       {"far-replica.xyz.rds.example", 5432},
       {"primary.abc.rds.example", 5432},
       true},
      {"master on the replica, user on the source",
       {"primary.abc.rds.example", 5432},
       {"replica.abc.rds.example", 5432},
       false},
      {"replica of another instance",
       {"other-replica.abc.rds.example", 5432},
       {"primary.abc.rds.example", 5432},
       false},
      {"an unrelated instance",
       {"other.abc.rds.example", 5432},
       {"shop.cluster-abc.rds.example", 5432},
       false},
      {"a foreign host, master on the cluster",
       {"evil.example", 5432},
       {"shop.cluster-abc.rds.example", 5432},
       false},
      {"cluster reader, master on an unknown host",
       {"shop.cluster-ro-abc.rds.example", 5432},
       {"evil.example", 5432},
       false},
  };
  const RdsFacts facts = Facts();
  for (const Case& c : cases) {
    const Status status = CheckSameDatabase(c.user, c.admin, facts);
    EXPECT_EQ(status.ok(), c.accepted) << c.name << ": " << status.message();
    if (!status.ok()) {
      EXPECT_EQ(status.type(), "CredentialsMismatch") << c.name;
      EXPECT_NE(status.message().find(c.user.host), std::string::npos) << status.message();
      EXPECT_NE(status.message().find(c.admin.host), std::string::npos) << status.message();
    }
  }
}

TEST(CheckSameDatabase, NothingKnownMeansOnlyTheSameHost) {
  EXPECT_TRUE(CheckSameDatabase({"h", 1}, {"h", 1}, {}).ok());
  EXPECT_FALSE(
      CheckSameDatabase({"replica.abc.rds.example", 5432}, {"primary.abc.rds.example", 5432}, {})
          .ok());
}

TEST(RdsIdentifierOfHost, FirstLabelWhenItCanBeAnIdentifier) {
  EXPECT_EQ(RdsIdentifierOfHost("db-1.abc.eu-west-1.rds.amazonaws.com"), "db-1");
  EXPECT_EQ(RdsIdentifierOfHost("shop.cluster-ro-abc.eu-west-1.rds.amazonaws.com"), "shop");
  EXPECT_EQ(RdsIdentifierOfHost("localhost"), "localhost");
  EXPECT_EQ(RdsIdentifierOfHost("127.0.0.1"), "");
  EXPECT_EQ(RdsIdentifierOfHost("[::1]"), "");
  EXPECT_EQ(RdsIdentifierOfHost(""), "");
  EXPECT_EQ(RdsIdentifierOfHost("a_b.example"), "");
}

TEST(SameEngineFamily, PostgresOrNot) {
  EXPECT_TRUE(SameEngineFamily("postgres", "aurora-postgresql"));
  EXPECT_TRUE(SameEngineFamily("mysql", "aurora-mysql"));
  EXPECT_TRUE(SameEngineFamily("mariadb", "mysql"));
  EXPECT_FALSE(SameEngineFamily("mysql", "postgres"));
}

}  // namespace
}  // namespace secret_rotator::handler
