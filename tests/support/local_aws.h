// The local AWS test bed for integration tests: the local Secrets Manager
// endpoint and the local Lambda service (which runs the real bootstrap), both
// on 127.0.0.1, plus the real AWS CLI pointed at them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "http/http_client.h"
#include "tests/support/process.h"

namespace secret_rotator::testing {

inline constexpr char kLocalAccessKey[] = "AKIDLOCALTESTKEY";
inline constexpr char kLocalSecretKey[] = "local/test+secret-access-key";
inline constexpr char kLocalRegion[] = "us-east-1";
inline constexpr char kFunctionArn[] = "arn:aws:lambda:us-east-1:123456789012:function:rotator";

struct LocalAwsOptions {
  explicit LocalAwsOptions(std::string bootstrap_path) : bootstrap(std::move(bootstrap_path)) {}

  // The executable the Lambda service runs.
  std::string bootstrap;
  // Extra environment for the function (ROTATION_STRATEGY, DB_TLS_CA_FILE, ...).
  std::map<std::string, std::string> function_env;
  // Give the function only the Lambda variables and function_env (env -i).
  bool clean_env = false;
  // Serve Secrets Manager over HTTPS with a certificate from a throwaway CA,
  // which the function (SSL_CERT_FILE) and the AWS CLI are told to trust.
  bool https = false;
  // LAMBDA_TASK_ROOT and the function's working folder; empty: the folder
  // of `bootstrap`.
  std::string task_root;
  int timeout_seconds = 30;
  // Sent as Lambda-Runtime-Deadline-Ms instead of the real deadline (odd
  // values such as INT64_MAX); empty: the real one.
  std::string deadline_header;
};

class LocalAws {
 public:
  // Starts both servers; throws std::runtime_error if either does not come up.
  explicit LocalAws(LocalAwsOptions options);
  ~LocalAws();

  const std::string& secrets_manager_url() const { return secrets_manager_url_; }
  const std::string& lambda_url() const { return lambda_url_; }
  const std::string& dir() const { return dir_; }
  // With https: the folder of ca.pem, other-ca.pem, server.pem, server.key.
  std::string tls_dir() const { return dir_ + "/tls"; }
  // The environment that points a bootstrap at the local Secrets Manager
  // and the local RDS (the same server).
  std::map<std::string, std::string> FunctionEnvironment() const;

  // Runs the real AWS CLI (Debian's awscli) against the local endpoint.
  ProcessResult Aws(const std::vector<std::string>& args) const;
  // Same, parsing stdout as JSON; throws with the CLI's stderr on failure.
  JsonValue AwsJson(const std::vector<std::string>& args) const;

  // Creates a secret with the AWS CLI; returns its ARN.
  std::string CreateSecret(const std::string& name, const std::string& secret_string) const;
  // aws secretsmanager rotate-secret with the local function.
  ProcessResult RotateSecret(const std::string& secret_id) const;
  // The SecretString of the version holding `stage`.
  std::string ValueAt(const std::string& secret_id, const std::string& stage) const;
  // The version id holding `stage`, or "" if none.
  std::string VersionWithStage(const std::string& secret_id, const std::string& stage) const;
  // version id -> sorted stages, from list-secret-version-ids.
  std::map<std::string, std::vector<std::string>> Stages(const std::string& secret_id) const;

  // Invokes the function once with `event` through the Lambda Invoke API.
  // Returns the response body; sets *function_error when Lambda reports one.
  std::string Invoke(const std::string& event, bool* function_error = nullptr) const;

  // The local Secrets Manager's request journal (operations only, no values).
  JsonValue Requests() const;
  void ClearRequests() const;
  // Queues fault answers: {"operation": ..., "responses": [...]}.
  void QueueFaults(const JsonValue& faults) const;
  // Sets the RDS instances and clusters the local RDS describes:
  // {"instances": [{"identifier", "engine", "address", "port", "cluster"?,
  // "replica_source"?}], "clusters": [{"identifier", "engine", "endpoint",
  // "reader_endpoint"?, "port", "members"?}]} (local/README.md).
  void ConfigureRds(const JsonValue& spec) const;
  // The local Lambda service's statistics.
  JsonValue LambdaStats() const;
  // Everything the function process wrote (stdout and stderr).
  std::string FunctionLog() const;
  // Everything both servers wrote.
  std::string ServerLogs() const;

 private:
  Result<http::Response> Post(const std::string& url, const std::string& body) const;
  JsonValue GetJson(const std::string& url) const;

  LocalAwsOptions options_;
  std::string dir_;
  bool keep_logs_ = false;
  std::string secrets_manager_url_;
  std::string lambda_url_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<BackgroundProcess> secrets_manager_;
  std::unique_ptr<BackgroundProcess> lambda_;
};

// The AWS CLI to use: $AWS_CLI, else /usr/bin/aws (Debian's awscli).
std::string AwsCliPath();

}  // namespace secret_rotator::testing
