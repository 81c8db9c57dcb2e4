#include "tests/support/local_aws.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "base/json.h"

namespace secret_rotator::testing {
namespace {

// How long a local server may take to start: generous, because CI machines
// run two test processes per core and Python's start-up alone can take
// seconds there.
constexpr std::chrono::seconds kServerStartTimeout{90};

// Waits until `path` holds a port number written by a server; returns it.
int WaitForPortFile(const std::string& path, BackgroundProcess& process, const std::string& log) {
  const auto give_up = std::chrono::steady_clock::now() + kServerStartTimeout;
  while (std::chrono::steady_clock::now() < give_up) {
    const std::string text = ReadFile(path);
    if (!text.empty()) return std::stoi(text);
    if (!process.Running()) {
      throw std::runtime_error("server exited during start-up; its log:\n" + ReadFile(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  throw std::runtime_error("server did not write its port file within " +
                           std::to_string(kServerStartTimeout.count()) + " s; its log:\n" +
                           ReadFile(log));
}

}  // namespace

std::string AwsCliPath() {
  if (const char* configured = std::getenv("AWS_CLI"); configured != nullptr && *configured) {
    return configured;
  }
  return "/usr/bin/aws";
}

LocalAws::LocalAws(LocalAwsOptions options) : options_(std::move(options)) {
  // Under ctest the logs are kept in the run's test output folder for the leak scan
  // (tests/adversarial/leak_scan.py); the local Secrets Manager started below also journals
  // every secret value there for it.
  const char* output = std::getenv("SECRET_ROTATOR_TEST_OUTPUT_DIR");
  keep_logs_ = output != nullptr && *output != '\0';
  dir_ = keep_logs_ ? MakeTempDirIn(output, "local_aws") : MakeTempDir("local_aws");

  // The function must know the Secrets Manager port before the Lambda
  // service starts it, and Secrets Manager must know the Lambda service's
  // address: pick Secrets Manager's port first.
  const int secrets_manager_port = FreeLoopbackPort();
  secrets_manager_url_ = std::string(options_.https ? "https" : "http") +
                         "://127.0.0.1:" + std::to_string(secrets_manager_port);
  if (options_.https) {
    const ProcessResult made = RunProcess(
        {"/bin/bash", std::string(SOURCE_DIR) + "/tests/servers/make_tls.sh", tls_dir()});
    if (made.exit_code != 0) throw std::runtime_error("make_tls.sh failed: " + made.err);
  }
  http::ClientOptions client_options;
  if (options_.https) client_options.ca_file = tls_dir() + "/ca.pem";
  client_options.proxy_from_environment = false;
  Result<std::unique_ptr<http::Client>> http = http::NewClient(client_options);
  if (!http.ok()) throw std::runtime_error(http.status().message());
  http_ = std::move(http).value();

  std::vector<std::string> lambda_args = {
      PYTHON3,       std::string(SOURCE_DIR) + "/local/lambda_runtime_server.py",
      "--bootstrap", options_.bootstrap,
      "--port-file", dir_ + "/lambda.port",
      "--child-log", dir_ + "/function.log",
      "--timeout",   std::to_string(options_.timeout_seconds),
      "--region",    kLocalRegion};
  if (options_.clean_env) lambda_args.push_back("--clean-env");
  if (!options_.deadline_header.empty()) {
    lambda_args.push_back("--deadline-header");
    lambda_args.push_back(options_.deadline_header);
  }
  if (!options_.task_root.empty()) {
    lambda_args.push_back("--cwd");
    lambda_args.push_back(options_.task_root);
  }
  for (const auto& [name, value] : FunctionEnvironment()) {
    lambda_args.push_back("--env");
    lambda_args.push_back(name + "=" + value);
  }
  lambda_ = std::make_unique<BackgroundProcess>(lambda_args, ProcessOptions{},
                                                dir_ + "/lambda_server.log");
  lambda_url_ =
      "http://127.0.0.1:" +
      std::to_string(WaitForPortFile(dir_ + "/lambda.port", *lambda_, dir_ + "/lambda_server.log"));

  std::vector<std::string> secrets_manager_args = {
      PYTHON3,
      std::string(SOURCE_DIR) + "/local/secretsmanager_server.py",
      "--port",
      std::to_string(secrets_manager_port),
      "--port-file",
      dir_ + "/secretsmanager.port",
      "--region",
      kLocalRegion,
      "--credentials",
      std::string(kLocalAccessKey) + ":" + kLocalSecretKey,
      "--lambda-endpoint",
      lambda_url_};
  if (options_.https) {
    secrets_manager_args.insert(
        secrets_manager_args.end(),
        {"--tls-cert", tls_dir() + "/server.pem", "--tls-key", tls_dir() + "/server.key"});
  }
  secrets_manager_ = std::make_unique<BackgroundProcess>(secrets_manager_args, ProcessOptions{},
                                                         dir_ + "/secretsmanager_server.log");
  WaitForPortFile(dir_ + "/secretsmanager.port", *secrets_manager_,
                  dir_ + "/secretsmanager_server.log");
}

LocalAws::~LocalAws() {
  secrets_manager_.reset();
  lambda_.reset();
  std::error_code ignored;
  if (std::getenv("KEEP_TEST_DIRS") != nullptr) return;
  if (!keep_logs_) {
    std::filesystem::remove_all(dir_, ignored);
    return;
  }
  // Only the logs stay: the tests' own files (a file database, certificates) are no output.
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ignored)) {
    if (!(entry.is_regular_file(ignored) && entry.path().extension() == ".log")) {
      std::filesystem::remove_all(entry.path(), ignored);
    }
  }
}

std::map<std::string, std::string> LocalAws::FunctionEnvironment() const {
  std::map<std::string, std::string> env = {
      {"AWS_ACCESS_KEY_ID", kLocalAccessKey}, {"AWS_SECRET_ACCESS_KEY", kLocalSecretKey},
      {"AWS_REGION", kLocalRegion},           {"SECRETS_MANAGER_ENDPOINT", secrets_manager_url_},
      {"RDS_ENDPOINT", secrets_manager_url_},
  };
  if (options_.https) env["SSL_CERT_FILE"] = tls_dir() + "/ca.pem";
  // The machine's own AWS_CA_BUNDLE would replace the function's trust store
  // (aws/ca_trust.h); empty counts as unset.
  env["AWS_CA_BUNDLE"] = "";
  for (const auto& [name, value] : options_.function_env) env[name] = value;
  return env;
}

ProcessResult LocalAws::Aws(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {AwsCliPath(), "--endpoint-url", secrets_manager_url_, "--output",
                                   "json",       "--region",       kLocalRegion};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.env = {{"AWS_ACCESS_KEY_ID", kLocalAccessKey},
                 {"AWS_SECRET_ACCESS_KEY", kLocalSecretKey},
                 {"AWS_CONFIG_FILE", "/nonexistent"},
                 {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"},
                 {"AWS_PAGER", ""},
                 {"AWS_MAX_ATTEMPTS", "1"}};
  if (options_.https) options.env["AWS_CA_BUNDLE"] = tls_dir() + "/ca.pem";
  return RunProcess(argv, options);
}

JsonValue LocalAws::AwsJson(const std::vector<std::string>& args) const {
  const ProcessResult result = Aws(args);
  if (result.exit_code != 0) {
    throw std::runtime_error("aws " + args.at(0) + " " + args.at(1) + " failed (" +
                             std::to_string(result.exit_code) + "): " + result.err);
  }
  if (result.out.empty()) return JsonValue();
  return ParseJson(result.out, "aws output", "Test").value();
}

std::string LocalAws::CreateSecret(const std::string& name,
                                   const std::string& secret_string) const {
  return AwsJson({"secretsmanager", "create-secret", "--name", name, "--secret-string",
                  secret_string})["ARN"]
      .get<std::string>();
}

ProcessResult LocalAws::RotateSecret(const std::string& secret_id) const {
  return Aws({"secretsmanager", "rotate-secret", "--secret-id", secret_id, "--rotation-lambda-arn",
              kFunctionArn});
}

std::string LocalAws::ValueAt(const std::string& secret_id, const std::string& stage) const {
  return AwsJson({"secretsmanager", "get-secret-value", "--secret-id", secret_id, "--version-stage",
                  stage})["SecretString"]
      .get<std::string>();
}

std::map<std::string, std::vector<std::string>> LocalAws::Stages(
    const std::string& secret_id) const {
  const JsonValue versions =
      AwsJson({"secretsmanager", "list-secret-version-ids", "--secret-id", secret_id})["Versions"];
  std::map<std::string, std::vector<std::string>> stages;
  for (const JsonValue& version : versions) {
    std::vector<std::string>& labels = stages[version["VersionId"].get<std::string>()];
    for (const JsonValue& label : version["VersionStages"])
      labels.push_back(label.get<std::string>());
    std::sort(labels.begin(), labels.end());
  }
  return stages;
}

std::string LocalAws::VersionWithStage(const std::string& secret_id,
                                       const std::string& stage) const {
  for (const auto& [version, labels] : Stages(secret_id)) {
    if (std::find(labels.begin(), labels.end(), stage) != labels.end()) return version;
  }
  return "";
}

Result<http::Response> LocalAws::Post(const std::string& url, const std::string& body) const {
  http::Request request;
  request.method = "POST";
  request.url = url;
  request.body = body;
  request.timeout = std::chrono::seconds(options_.timeout_seconds + 30);
  request.headers = {{"Content-Type", "application/json"}};
  return http_->Send(request);
}

JsonValue LocalAws::GetJson(const std::string& url) const {
  http::Request request;
  request.url = url;
  request.timeout = std::chrono::seconds(10);
  Result<http::Response> response = http_->Send(request);
  if (!response.ok()) throw std::runtime_error(response.status().message());
  return ParseJson(response->body, url, "Test").value();
}

std::string LocalAws::Invoke(const std::string& event, bool* function_error) const {
  Result<http::Response> response =
      Post(lambda_url_ + "/2015-03-31/functions/rotator/invocations", event);
  if (!response.ok()) throw std::runtime_error("invoke failed: " + response.status().message());
  if (function_error != nullptr) {
    *function_error = response->FindHeader("X-Amz-Function-Error") != nullptr;
  }
  return response->body;
}

JsonValue LocalAws::Requests() const { return GetJson(secrets_manager_url_ + "/_test/requests"); }

void LocalAws::ClearRequests() const {
  (void)Post(secrets_manager_url_ + "/_test/requests/clear", "");
}

void LocalAws::QueueFaults(const JsonValue& faults) const {
  (void)Post(secrets_manager_url_ + "/_test/faults", WriteJson(faults));
}

void LocalAws::ConfigureRds(const JsonValue& spec) const {
  Result<http::Response> response = Post(secrets_manager_url_ + "/_test/rds", WriteJson(spec));
  if (!response.ok() || response->status != 200) {
    throw std::runtime_error("configuring the local RDS failed: " +
                             (response.ok() ? response->body : response.status().message()));
  }
}

JsonValue LocalAws::LambdaStats() const { return GetJson(lambda_url_ + "/_test/stats"); }

std::string LocalAws::FunctionLog() const { return ReadFile(dir_ + "/function.log"); }

std::string LocalAws::ServerLogs() const {
  return ReadFile(dir_ + "/lambda_server.log") + ReadFile(dir_ + "/secretsmanager_server.log");
}

}  // namespace secret_rotator::testing
