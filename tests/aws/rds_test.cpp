// RDS's Query-protocol answers read through expat: well-formed answers,
// error answers, and hostile input (entity expansion, external entities,
// depth, size, malformed text), which must be refused, never expanded.
#include <gtest/gtest.h>

#include <string>

#include "aws/rds.h"
#include "aws/xml.h"

namespace secret_rotator::aws {
namespace {

constexpr char kInstances[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBInstancesResult>
    <DBInstances>
      <DBInstance>
        <DBInstanceIdentifier>replica-1</DBInstanceIdentifier>
        <DBInstanceArn>arn:aws:rds:eu-west-1:123456789012:db:replica-1</DBInstanceArn>
        <Engine>postgres</Engine>
        <Endpoint>
          <Address>replica-1.abc.eu-west-1.rds.amazonaws.com</Address>
          <Port>5432</Port>
          <HostedZoneId>Z29XKXDKYMONMX</HostedZoneId>
        </Endpoint>
        <ReadReplicaSourceDBInstanceIdentifier>primary</ReadReplicaSourceDBInstanceIdentifier>
        <ReadReplicaDBInstanceIdentifiers/>
      </DBInstance>
    </DBInstances>
  </DescribeDBInstancesResult>
  <ResponseMetadata><RequestId>7c4b0a3c</RequestId></ResponseMetadata>
</DescribeDBInstancesResponse>)";

constexpr char kClusters[] =
    R"(<DescribeDBClustersResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBClustersResult>
    <DBClusters>
      <DBCluster>
        <DBClusterIdentifier>shop</DBClusterIdentifier>
        <DBClusterArn>arn:aws:rds:eu-west-1:123456789012:cluster:shop</DBClusterArn>
        <Engine>aurora-mysql</Engine>
        <Endpoint>shop.cluster-abc.eu-west-1.rds.amazonaws.com</Endpoint>
        <ReaderEndpoint>shop.cluster-ro-abc.eu-west-1.rds.amazonaws.com</ReaderEndpoint>
        <CustomEndpoints><member>reports.cluster-custom-abc.eu-west-1.rds.amazonaws.com</member></CustomEndpoints>
        <Port>3306</Port>
        <DBClusterMembers>
          <DBClusterMember><DBInstanceIdentifier>shop-1</DBInstanceIdentifier><IsClusterWriter>true</IsClusterWriter></DBClusterMember>
          <DBClusterMember><DBInstanceIdentifier>shop-2</DBInstanceIdentifier><IsClusterWriter>false</IsClusterWriter></DBClusterMember>
        </DBClusterMembers>
      </DBCluster>
    </DBClusters>
  </DescribeDBClustersResult>
</DescribeDBClustersResponse>)";

TEST(RdsParse, DescribeDbInstancesReadsTheFieldsTheRotationUses) {
  Result<std::vector<RdsInstance>> instances = ParseDescribeDbInstances(kInstances);
  ASSERT_TRUE(instances.ok()) << instances.status().message();
  ASSERT_EQ(instances->size(), 1U);
  const RdsInstance& instance = instances->front();
  EXPECT_EQ(instance.identifier, "replica-1");
  EXPECT_EQ(instance.arn, "arn:aws:rds:eu-west-1:123456789012:db:replica-1");
  EXPECT_EQ(instance.engine, "postgres");
  EXPECT_EQ(instance.address, "replica-1.abc.eu-west-1.rds.amazonaws.com");
  EXPECT_EQ(instance.port, 5432);
  EXPECT_EQ(instance.cluster, "");
  EXPECT_EQ(instance.replica_source, "primary");
}

TEST(RdsParse, DescribeDbClustersReadsEndpointsAndMembers) {
  Result<std::vector<RdsCluster>> clusters = ParseDescribeDbClusters(kClusters);
  ASSERT_TRUE(clusters.ok()) << clusters.status().message();
  ASSERT_EQ(clusters->size(), 1U);
  const RdsCluster& cluster = clusters->front();
  EXPECT_EQ(cluster.identifier, "shop");
  EXPECT_EQ(cluster.engine, "aurora-mysql");
  EXPECT_EQ(cluster.endpoint, "shop.cluster-abc.eu-west-1.rds.amazonaws.com");
  EXPECT_EQ(cluster.reader_endpoint, "shop.cluster-ro-abc.eu-west-1.rds.amazonaws.com");
  EXPECT_EQ(cluster.custom_endpoints,
            std::vector<std::string>{"reports.cluster-custom-abc.eu-west-1.rds.amazonaws.com"});
  EXPECT_EQ(cluster.port, 3306);
  EXPECT_EQ(cluster.members, (std::vector<std::string>{"shop-1", "shop-2"}));
}

TEST(RdsParse, EmptyListsAreNoInstances) {
  Result<std::vector<RdsInstance>> none = ParseDescribeDbInstances(
      "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances/>"
      "</DescribeDBInstancesResult></DescribeDBInstancesResponse>");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->empty());
}

TEST(RdsParse, CharacterReferencesAndPredefinedEntitiesAreDecoded) {
  Result<std::vector<RdsCluster>> clusters = ParseDescribeDbClusters(
      "<DescribeDBClustersResponse><DescribeDBClustersResult><DBClusters><DBCluster>"
      "<DBClusterIdentifier>a&amp;b&#x41;</DBClusterIdentifier><Port>1</Port>"
      "</DBCluster></DBClusters></DescribeDBClustersResult></DescribeDBClustersResponse>");
  ASSERT_TRUE(clusters.ok()) << clusters.status().message();
  EXPECT_EQ(clusters->front().identifier, "a&bA");
}

TEST(RdsParse, WrongOrIncompleteAnswersAreInvalidResponses) {
  for (const std::string& xml : {
           // another operation's answer
           std::string(kClusters),
           // no result element
           std::string("<DescribeDBInstancesResponse/>"),
           // an instance without an identifier
           std::string("<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances>"
                       "<DBInstance><Engine>mysql</Engine></DBInstance></DBInstances>"
                       "</DescribeDBInstancesResult></DescribeDBInstancesResponse>"),
           // a port out of range, and one that is not a number
           std::string("<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances>"
                       "<DBInstance><DBInstanceIdentifier>a</DBInstanceIdentifier><Endpoint>"
                       "<Port>70000</Port></Endpoint></DBInstance></DBInstances>"
                       "</DescribeDBInstancesResult></DescribeDBInstancesResponse>"),
           std::string("<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances>"
                       "<DBInstance><DBInstanceIdentifier>a</DBInstanceIdentifier><Endpoint>"
                       "<Port>5432x</Port></Endpoint></DBInstance></DBInstances>"
                       "</DescribeDBInstancesResult></DescribeDBInstancesResponse>"),
       }) {
    Result<std::vector<RdsInstance>> parsed = ParseDescribeDbInstances(xml);
    ASSERT_FALSE(parsed.ok()) << xml;
    EXPECT_EQ(parsed.status().type(), "InvalidResponse") << xml;
  }
}

TEST(RdsParse, HostileXmlIsRefusedNotExpanded) {
  const std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
      "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
      "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances><DBInstance>"
      "<DBInstanceIdentifier>&lol3;</DBInstanceIdentifier></DBInstance></DBInstances>"
      "</DescribeDBInstancesResult></DescribeDBInstancesResponse>";
  const std::string external =
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
      "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances><DBInstance>"
      "<DBInstanceIdentifier>&xxe;</DBInstanceIdentifier></DBInstance></DBInstances>"
      "</DescribeDBInstancesResult></DescribeDBInstancesResponse>";
  const std::string doctype_only =
      "<!DOCTYPE DescribeDBInstancesResponse SYSTEM \"http://example.com/x.dtd\">"
      "<DescribeDBInstancesResponse/>";
  const std::string undefined_entity =
      "<DescribeDBInstancesResponse>&nope;</DescribeDBInstancesResponse>";
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "<a>";
  std::string wide = "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances>";
  while (wide.size() < kMaxXmlBytes + 10) wide += "<DBInstance/>";
  std::string many = "<r>";
  for (std::size_t i = 0; i <= kMaxXmlElements; ++i) many += "<a/>";
  many += "</r>";
  const std::string cases[] = {laughs,
                               external,
                               doctype_only,
                               undefined_entity,
                               deep,
                               wide,
                               many,
                               "",
                               "not xml",
                               "<a>",
                               "<a></b>",
                               "<a/><b/>",
                               std::string("<a>\xff\xfe</a>"),
                               std::string("<a>\0</a>", 8)};
  for (const std::string& xml : cases) {
    Result<std::vector<RdsInstance>> parsed = ParseDescribeDbInstances(xml);
    ASSERT_FALSE(parsed.ok()) << xml.substr(0, 80);
    EXPECT_EQ(parsed.status().type(), "InvalidResponse");
    EXPECT_LT(parsed.status().message().size(), 300U) << "the message must not quote the input";
  }
}

TEST(RdsParse, DoctypeIsNamedInTheRefusal) {
  Result<XmlElement> parsed =
      ParseXml("<!DOCTYPE a [<!ENTITY b \"c\">]><a>&b;</a>", "the answer", "InvalidResponse");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("document type declaration"), std::string::npos)
      << parsed.status().message();
}

TEST(RdsErrors, ErrorResponsesBecomeTheirCode) {
  const Status not_found = StatusFromRdsErrorResponse(
      404,
      "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error><Type>Sender"
      "</Type><Code>DBInstanceNotFound</Code><Message>DBInstance db1 not found.</Message>"
      "</Error><RequestId>x</RequestId></ErrorResponse>");
  EXPECT_EQ(not_found.type(), kDbInstanceNotFound);
  EXPECT_EQ(not_found.code(), StatusCode::kNotFound);
  EXPECT_EQ(not_found.message(), "DBInstanceNotFound: DBInstance db1 not found.");

  const Status throttled = StatusFromRdsErrorResponse(
      400,
      "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message>"
      "</Error></ErrorResponse>");
  EXPECT_EQ(throttled.code(), StatusCode::kUnavailable);
  const Status denied = StatusFromRdsErrorResponse(
      403,
      "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error>"
      "</ErrorResponse>");
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);

  const Status garbage = StatusFromRdsErrorResponse(503, "<html>busy</html>");
  EXPECT_EQ(garbage.type(), "InternalFailure");
  EXPECT_EQ(garbage.code(), StatusCode::kUnavailable);
  const Status empty = StatusFromRdsErrorResponse(400, "");
  EXPECT_EQ(empty.type(), "UnknownError");
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace secret_rotator::aws
