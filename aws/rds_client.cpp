#include <charconv>
#include <utility>

#include "aws/ca_trust.h"
#include "aws/errors.h"
#include "aws/rds.h"
#include "aws/signed_call.h"
#include "aws/sigv4.h"
#include "aws/xml.h"

namespace secret_rotator::aws {
namespace {

constexpr char kService[] = "rds";
constexpr char kApiVersion[] = "2014-10-31";
constexpr char kInvalidResponse[] = "InvalidResponse";

Status Malformed(std::string_view operation, std::string_view what) {
  return Status(StatusCode::kInternal, kInvalidResponse,
                std::string(operation) + " answered without a valid " + std::string(what));
}

// The answer's <OPERATION>Result element, checking the root's name.
Result<const XmlElement*> ResultElement(const XmlElement& root, std::string_view operation) {
  const std::string op(operation);
  if (root.name != op + "Response") return Malformed(operation, op + "Response element");
  const XmlElement* result = root.Child(op + "Result");
  if (result == nullptr) return Malformed(operation, op + "Result element");
  return result;
}

// A port as RDS writes it; 0 when absent, an error when not 1-65535.
Result<int> ParsePort(const std::string& text, std::string_view operation) {
  if (text.empty()) return 0;
  int port = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return Malformed(operation, "Port");
  }
  return port;
}

// Every item of list element `list` under `parent`; RDS names the items
// `item` (DBInstance, DBCluster, ...) or, for plain string lists, "member".
std::vector<const XmlElement*> Items(const XmlElement& parent, std::string_view list,
                                     std::string_view item) {
  const XmlElement* holder = parent.Child(list);
  return holder == nullptr ? std::vector<const XmlElement*>() : holder->Children(item);
}

Result<XmlElement> ParseAnswer(std::string_view xml, std::string_view operation) {
  return ParseXml(xml, std::string(operation) + "'s response", kInvalidResponse);
}

}  // namespace

Result<std::vector<RdsInstance>> ParseDescribeDbInstances(std::string_view xml) {
  constexpr std::string_view kOperation = "DescribeDBInstances";
  Result<XmlElement> root = ParseAnswer(xml, kOperation);
  if (!root.ok()) return root.status();
  Result<const XmlElement*> result = ResultElement(*root, kOperation);
  if (!result.ok()) return result.status();
  std::vector<RdsInstance> instances;
  for (const XmlElement* item : Items(**result, "DBInstances", "DBInstance")) {
    RdsInstance instance;
    instance.identifier = item->ChildText("DBInstanceIdentifier");
    if (instance.identifier.empty()) return Malformed(kOperation, "DBInstanceIdentifier");
    instance.arn = item->ChildText("DBInstanceArn");
    instance.engine = item->ChildText("Engine");
    if (const XmlElement* endpoint = item->Child("Endpoint")) {
      instance.address = endpoint->ChildText("Address");
      Result<int> port = ParsePort(endpoint->ChildText("Port"), kOperation);
      if (!port.ok()) return port.status();
      instance.port = *port;
    }
    instance.cluster = item->ChildText("DBClusterIdentifier");
    instance.replica_source = item->ChildText("ReadReplicaSourceDBInstanceIdentifier");
    instances.push_back(std::move(instance));
  }
  return instances;
}

Result<std::vector<RdsCluster>> ParseDescribeDbClusters(std::string_view xml) {
  constexpr std::string_view kOperation = "DescribeDBClusters";
  Result<XmlElement> root = ParseAnswer(xml, kOperation);
  if (!root.ok()) return root.status();
  Result<const XmlElement*> result = ResultElement(*root, kOperation);
  if (!result.ok()) return result.status();
  std::vector<RdsCluster> clusters;
  for (const XmlElement* item : Items(**result, "DBClusters", "DBCluster")) {
    RdsCluster cluster;
    cluster.identifier = item->ChildText("DBClusterIdentifier");
    if (cluster.identifier.empty()) return Malformed(kOperation, "DBClusterIdentifier");
    cluster.arn = item->ChildText("DBClusterArn");
    cluster.engine = item->ChildText("Engine");
    cluster.endpoint = item->ChildText("Endpoint");
    cluster.reader_endpoint = item->ChildText("ReaderEndpoint");
    for (const XmlElement* custom : Items(*item, "CustomEndpoints", "member")) {
      cluster.custom_endpoints.push_back(custom->text);
    }
    Result<int> port = ParsePort(item->ChildText("Port"), kOperation);
    if (!port.ok()) return port.status();
    cluster.port = *port;
    for (const XmlElement* member : Items(*item, "DBClusterMembers", "DBClusterMember")) {
      std::string identifier = member->ChildText("DBInstanceIdentifier");
      if (identifier.empty()) return Malformed(kOperation, "DBClusterMember");
      cluster.members.push_back(std::move(identifier));
    }
    clusters.push_back(std::move(cluster));
  }
  return clusters;
}

Status StatusFromRdsErrorResponse(long http_status, std::string_view body) {
  std::string type;
  std::string message;
  if (Result<XmlElement> root = ParseXml(body, "the error response", kInvalidResponse);
      root.ok() && root->name == "ErrorResponse") {
    if (const XmlElement* error = root->Child("Error")) {
      type = error->ChildText("Code");
      message = error->ChildText("Message");
    }
  }
  if (type.empty()) type = http_status >= 500 ? "InternalFailure" : "UnknownError";
  if (message.empty()) message = "HTTP " + std::to_string(http_status);
  return Status(CodeForErrorType(type, http_status), type, type + ": " + message);
}

namespace {

class RdsClient final : public Rds {
 public:
  RdsClient(std::unique_ptr<http::Client> http, const AwsConfig& config, RetryPolicy retry)
      : caller_(std::move(http), {kService, config.region, config.rds_endpoint}, config.credentials,
                retry) {}

  Result<std::vector<RdsInstance>> DescribeDbInstances(const std::string& identifier,
                                                       Deadline deadline) override {
    Result<std::string> xml =
        Call("DescribeDBInstances", "&DBInstanceIdentifier=" + PercentEncode(identifier), deadline);
    if (!xml.ok()) return xml.status();
    return ParseDescribeDbInstances(*xml);
  }

  Result<std::vector<RdsCluster>> DescribeDbClusters(const std::string& identifier,
                                                     Deadline deadline) override {
    Result<std::string> xml =
        Call("DescribeDBClusters", "&DBClusterIdentifier=" + PercentEncode(identifier), deadline);
    if (!xml.ok()) return xml.status();
    return ParseDescribeDbClusters(*xml);
  }

 private:
  // One Query-protocol action; `parameters` is "&Name=value..." already
  // encoded. Returns the answer's XML text.
  Result<std::string> Call(std::string_view action, const std::string& parameters,
                           Deadline deadline) {
    static const std::vector<http::Header> kHeaders = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    std::string body = "Action=" + std::string(action) + "&Version=" + kApiVersion + parameters;
    std::string answer;
    const Status status = caller_.Call(
        action, kHeaders, std::move(body),
        [&](http::Response& response) -> Status {
          if (response.status != 200) {
            return StatusFromRdsErrorResponse(response.status, response.body);
          }
          answer = std::move(response.body);
          return Status::Ok();
        },
        deadline);
    if (!status.ok()) return status;
    return answer;
  }

  SignedCaller caller_;
};

}  // namespace

std::unique_ptr<Rds> NewRdsClient(std::unique_ptr<http::Client> http, const AwsConfig& config,
                                  RetryPolicy retry) {
  return std::make_unique<RdsClient>(std::move(http), config, retry);
}

const std::vector<std::string>& RdsOperations() {
  static const std::vector<std::string> kOperations = {"DescribeDBInstances", "DescribeDBClusters"};
  return kOperations;
}

}  // namespace secret_rotator::aws
