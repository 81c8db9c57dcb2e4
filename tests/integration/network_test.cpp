// The function's HTTP through the real binaries and real sockets, all on
// loopback: a proxy (tunnels logged) and NO_PROXY; connect and DNS bounded by
// the deadline; hostile or broken Secrets Manager endpoints; the TLS trust
// rules (AWS_CA_BUNDLE, host names); and the deadline rules of the Lambda
// loop (a stalled response retried, a hung call reported before Lambda's
// deadline, odd Lambda-Runtime-Deadline-Ms values).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "base/json.h"
#include "tests/support/file_database_strategy.h"
#include "tests/support/local_aws.h"

namespace secret_rotator {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::FileDatabase;
using testing::LocalAws;
using testing::LocalAwsOptions;
using testing::ProcessResult;

constexpr char kToken[] = "11111111-2222-3333-4444-555555555555";

JsonValue Parse(const std::string& text) { return ParseJson(text, "output", "T").value(); }

// A helper server from tests/support that writes its port to a file.
class Helper {
 public:
  Helper(const std::string& dir, const std::string& name, std::vector<std::string> args) {
    const std::string port_file = dir + "/" + name + ".port";
    const std::string log = dir + "/" + name + ".log";
    std::vector<std::string> argv = {PYTHON3,
                                     std::string(SOURCE_DIR) + "/tests/support/" + name + ".py",
                                     "--port-file", port_file};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<testing::BackgroundProcess>(argv, testing::ProcessOptions{}, log);
    const auto give_up = std::chrono::steady_clock::now() + seconds(90);
    while (std::chrono::steady_clock::now() < give_up) {
      const std::string text = testing::ReadFile(port_file);
      if (!text.empty()) {
        port_ = text;
        return;
      }
      if (!process_->Running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    throw std::runtime_error(name + " did not start; its log:\n" + testing::ReadFile(log));
  }
  const std::string& port() const { return port_; }

 private:
  std::unique_ptr<testing::BackgroundProcess> process_;
  std::string port_;
};

// Runs the real bootstrap on one createSecret event with a clean environment:
// local credentials, no proxy and no AWS_CA_BUNDLE unless `env` says so.
struct FunctionRun {
  ProcessResult process;
  JsonValue output;
  std::chrono::milliseconds elapsed{0};
};

FunctionRun RunFunction(const std::string& dir, std::map<std::string, std::string> env,
                        int timeout_seconds, std::vector<std::string> prefix = {}) {
  const std::string event = dir + "/event.json";
  testing::WriteFile(event, R"({"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:)"
                            R"(secret:net-AbCdEf","ClientRequestToken":")" +
                                std::string(kToken) + R"(","Step":"createSecret"})");
  testing::ProcessOptions options;
  options.clean_env = true;
  options.env = {{"PATH", "/usr/bin:/bin"},
                 {"AWS_REGION", testing::kLocalRegion},
                 {"AWS_ACCESS_KEY_ID", testing::kLocalAccessKey},
                 {"AWS_SECRET_ACCESS_KEY", testing::kLocalSecretKey}};
  for (auto& [name, value] : env) options.env[name] = value;
  std::vector<std::string> argv = std::move(prefix);
  argv.insert(argv.end(),
              {BOOTSTRAP_PATH, "--event", event, "--timeout", std::to_string(timeout_seconds)});
  const auto started = std::chrono::steady_clock::now();
  FunctionRun run;
  run.process = testing::RunProcess(argv, options);
  run.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  Result<JsonValue> parsed = ParseJson(run.process.out, "output", "T");
  if (parsed.ok()) run.output = std::move(parsed).value();
  return run;
}

std::string ErrorType(const FunctionRun& run) {
  const JsonValue* type = JsonMember(run.output, "errorType");
  return type != nullptr && type->is_string() ? type->get<std::string>() : "(none)";
}
std::string ErrorMessage(const FunctionRun& run) {
  const JsonValue* message = JsonMember(run.output, "errorMessage");
  return message != nullptr && message->is_string() ? message->get<std::string>()
                                                    : run.process.out + run.process.err;
}

class NetworkTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("network_test"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

// ---------------------------------------------------------------- hostile endpoints

struct HostileCase {
  const char* path;
  const char* error_type;
  const char* says;     // part of the error message
  int timeout_seconds;  // generous where the limit, not the deadline, must stop it
};

TEST_F(NetworkTest, AHostileOrBrokenEndpointGivesABoundedClearError) {
  Helper server(dir_, "http_test_server", {});
  const HostileCase cases[] = {
      // One 1-byte chunk, then a chunk size that wraps a 64-bit size check.
      {"/chunk-overflow", "ConnectionError", "chunk", 60},
      {"/huge-chunk", "ConnectionError", "larger than 16 MiB", 60},
      {"/huge-length", "ConnectionError", "larger than 16 MiB", 60},
      {"/truncated", "ConnectionError", "remaining to read", 60},
      {"/garbage", "ConnectionError", "HTTP/0.9", 60},
      {"/drip", "Timeout", "time ran out", 4},
  };
  for (const HostileCase& hostile : cases) {
    SCOPED_TRACE(hostile.path);
    const FunctionRun run =
        RunFunction(dir_,
                    {{"SECRETS_MANAGER_ENDPOINT",
                      "http://127.0.0.1:" + server.port() + std::string(hostile.path)}},
                    hostile.timeout_seconds);
    EXPECT_EQ(run.process.exit_code, 1) << run.process.out << run.process.err;
    EXPECT_EQ(ErrorType(run), hostile.error_type) << ErrorMessage(run);
    EXPECT_NE(ErrorMessage(run).find("DescribeSecret"), std::string::npos) << ErrorMessage(run);
    EXPECT_NE(ErrorMessage(run).find(hostile.says), std::string::npos) << ErrorMessage(run);
    EXPECT_LT(run.elapsed, seconds(hostile.timeout_seconds + 5));
    // The body limit holds: a few copies of 16 MiB at most, not the stream.
    EXPECT_LT(run.process.max_rss_kib, 96 * 1024) << "peak RSS in KiB";
  }
}

// ---------------------------------------------------------------- connect and DNS bounds

TEST_F(NetworkTest, ABlackholedEndpointTimesOutWithinTheDeadline) {
  Helper blackhole(dir_, "unresponsive_server", {"--mode", "tcp"});
  const FunctionRun run =
      RunFunction(dir_, {{"SECRETS_MANAGER_ENDPOINT", "https://127.0.0.1:" + blackhole.port()}}, 4);
  EXPECT_EQ(run.process.exit_code, 1) << run.process.out << run.process.err;
  EXPECT_EQ(ErrorType(run), "Timeout") << ErrorMessage(run);
  EXPECT_NE(ErrorMessage(run).find("DescribeSecret: the invocation's time ran out"),
            std::string::npos)
      << ErrorMessage(run);
  EXPECT_NE(ErrorMessage(run).find("Connection timed out"), std::string::npos) << ErrorMessage(run);
  EXPECT_LT(run.elapsed, seconds(4 + 3));
}

TEST_F(NetworkTest, AResolverThatNeverAnswersTimesOutWithinTheDeadline) {
  // The function runs in its own mount namespace with a resolv.conf that names
  // a loopback address where nothing ever answers; no query leaves the machine.
  if (::geteuid() != 0 ||
      testing::RunProcess({"/usr/bin/unshare", "--mount", "/bin/true"}).exit_code != 0) {
    GTEST_SKIP() << "needs root and unshare --mount to give the function its own resolv.conf";
  }
  const std::string address = "127.53." + std::to_string(1 + ::getpid() % 250) + ".53";
  Helper resolver(dir_, "unresponsive_server", {"--mode", "dns", "--address", address});
  const std::string resolv_conf = dir_ + "/resolv.conf";
  testing::WriteFile(resolv_conf, "nameserver " + address + "\noptions timeout:30 attempts:1\n");
  const FunctionRun run = RunFunction(
      dir_, {{"SECRETS_MANAGER_ENDPOINT", "https://secretsmanager.unanswered.invalid"}}, 4,
      {"/usr/bin/unshare", "--mount", "/bin/sh", "-c",
       R"(mount --bind "$0" /etc/resolv.conf && exec "$@")", resolv_conf});
  EXPECT_EQ(run.process.exit_code, 1) << run.process.out << run.process.err;
  EXPECT_EQ(ErrorType(run), "Timeout") << ErrorMessage(run);
  EXPECT_NE(ErrorMessage(run).find("Resolving timed out"), std::string::npos) << ErrorMessage(run);
  EXPECT_LT(run.elapsed, seconds(4 + 3));
}

// ---------------------------------------------------------------- TLS trust

TEST_F(NetworkTest, ACertificateForAnotherHostNameIsRefused) {
  const std::string tls = dir_ + "/tls";
  ASSERT_EQ(testing::RunProcess(
                {"/bin/bash", std::string(SOURCE_DIR) + "/tests/servers/make_tls.sh", tls})
                .exit_code,
            0);
  ASSERT_TRUE(testing::IssueServerCertificate(tls, "wrong.example", "wrong"));
  Helper server(dir_, "http_test_server",
                {"--tls-cert", tls + "/wrong.pem", "--tls-key", tls + "/wrong.key"});
  for (const char* host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    const FunctionRun run = RunFunction(
        dir_,
        {{"SECRETS_MANAGER_ENDPOINT", "https://" + std::string(host) + ":" + server.port()},
         {"SSL_CERT_FILE", tls + "/ca.pem"}},
        4);
    EXPECT_EQ(run.process.exit_code, 1);
    EXPECT_EQ(ErrorType(run), "TlsError") << ErrorMessage(run);
    EXPECT_NE(ErrorMessage(run).find("target host name"), std::string::npos) << ErrorMessage(run);
  }
}

TEST_F(NetworkTest, AnUnreadableAwsCaBundleIsAConfigurationError) {
  const FunctionRun run = RunFunction(dir_,
                                      {{"SECRETS_MANAGER_ENDPOINT", "https://127.0.0.1:9"},
                                       {"AWS_CA_BUNDLE", dir_ + "/no-such-bundle.pem"}},
                                      4);
  EXPECT_EQ(run.process.exit_code, 2);
  EXPECT_NE(run.process.err.find("AWS_CA_BUNDLE"), std::string::npos) << run.process.err;
}

// Whole rotations through the local Lambda service and the HTTPS endpoint.
class LambdaNetworkTest : public ::testing::Test {
 protected:
  void Start(LocalAwsOptions options) {
    local_ = std::make_unique<LocalAws>(std::move(options));
    db_ = local_->dir() + "/db.json";
    ASSERT_TRUE(testing::WriteFileDatabase(db_, FileDatabase{{{"u", "pw"}}, 0}).ok());
  }
  std::string CreateSecret(const std::string& name) {
    return local_->CreateSecret(
        name, R"({"engine":"testdb","host":")" + db_ + R"(","username":"u","password":"pw"})");
  }
  int Changes() { return testing::ReadFileDatabase(db_)->changes; }

  std::unique_ptr<LocalAws> local_;
  std::string db_;
};

LocalAwsOptions HttpsOptions() {
  LocalAwsOptions options{TEST_BOOTSTRAP_PATH};
  options.https = true;
  return options;
}

TEST_F(LambdaNetworkTest, AwsCaBundleReplacesTheTrustStore) {
  LocalAwsOptions options = HttpsOptions();
  // Start first to learn the folder of the test CAs, then again with them.
  LocalAws ca_maker(options);
  const std::string tls = ca_maker.tls_dir();
  options.function_env = {{"SSL_CERT_FILE", tls + "/other-ca.pem"},
                          {"AWS_CA_BUNDLE", tls + "/ca.pem"}};
  // The endpoint of ca_maker, whose certificate ca.pem signed.
  options.function_env["SECRETS_MANAGER_ENDPOINT"] = ca_maker.secrets_manager_url();
  LocalAws function(options);
  db_ = ca_maker.dir() + "/db.json";
  ASSERT_TRUE(testing::WriteFileDatabase(db_, FileDatabase{{{"u", "pw"}}, 0}).ok());
  const std::string arn = ca_maker.CreateSecret(
      "bundle", R"({"engine":"testdb","host":")" + db_ + R"(","username":"u","password":"pw"})");
  bool function_error = true;
  const std::string response = function.Invoke(
      R"({"SecretId":")" + arn + R"(","ClientRequestToken":")" +
          ca_maker.VersionWithStage(arn, "AWSCURRENT") + R"(","Step":"createSecret"})",
      &function_error);
  // TLS held: the function got as far as Secrets Manager's answer (rotation
  // is not enabled on this secret).
  EXPECT_TRUE(function_error);
  EXPECT_EQ(Parse(response)["errorType"].get<std::string>(), "RotationNotEnabled") << response;

  options.function_env["SSL_CERT_FILE"] = tls + "/ca.pem";
  options.function_env["AWS_CA_BUNDLE"] = tls + "/other-ca.pem";
  LocalAws distrusting(options);
  const std::string refused =
      distrusting.Invoke(R"({"SecretId":")" + arn + R"(","ClientRequestToken":")" +
                             std::string(kToken) + R"(","Step":"createSecret"})",
                         &function_error);
  EXPECT_TRUE(function_error);
  EXPECT_EQ(Parse(refused)["errorType"].get<std::string>(), "TlsError") << refused;
}

TEST_F(LambdaNetworkTest, SecretsManagerGoesThroughTheProxyAndTheRuntimeApiNever) {
  const std::string proxy_dir = testing::MakeTempDir("proxy");
  Helper proxy(proxy_dir, "connect_proxy", {"--log", proxy_dir + "/tunnels.log"});
  LocalAwsOptions options = HttpsOptions();
  const std::string proxy_url = "http://127.0.0.1:" + proxy.port();
  // http_proxy would catch the Runtime API's plain HTTP if the runtime
  // honoured it; the proxy refuses such requests and logs them.
  options.function_env = {{"HTTPS_PROXY", proxy_url}, {"http_proxy", proxy_url}, {"NO_PROXY", ""}};
  Start(options);
  const std::string arn = CreateSecret("proxied");
  const ProcessResult rotated = local_->RotateSecret(arn);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << local_->FunctionLog();
  EXPECT_EQ(Changes(), 1);
  const std::string tunnels = testing::ReadFile(proxy_dir + "/tunnels.log");
  const std::string sm_port =
      local_->secrets_manager_url().substr(local_->secrets_manager_url().rfind(':') + 1);
  EXPECT_NE(tunnels.find("CONNECT 127.0.0.1:" + sm_port), std::string::npos) << tunnels;
  EXPECT_EQ(tunnels.find("GET "), std::string::npos) << tunnels;
  EXPECT_EQ(tunnels.find("POST "), std::string::npos) << tunnels;
  fs::remove_all(proxy_dir);
}

TEST_F(LambdaNetworkTest, NoProxyBypassesTheProxy) {
  const std::string proxy_dir = testing::MakeTempDir("proxy");
  Helper proxy(proxy_dir, "connect_proxy", {"--log", proxy_dir + "/tunnels.log"});
  LocalAwsOptions options = HttpsOptions();
  options.function_env = {{"HTTPS_PROXY", "http://127.0.0.1:" + proxy.port()},
                          {"NO_PROXY", "example.com,127.0.0.1"}};
  Start(options);
  const std::string arn = CreateSecret("bypassed");
  const ProcessResult rotated = local_->RotateSecret(arn);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << local_->FunctionLog();
  EXPECT_EQ(testing::ReadFile(proxy_dir + "/tunnels.log"), "");
  fs::remove_all(proxy_dir);
}

// ---------------------------------------------------------------- deadlines

TEST_F(LambdaNetworkTest, ASingleStalledResponseIsRetriedWhileTimeRemains) {
  LocalAwsOptions options{TEST_BOOTSTRAP_PATH};
  options.timeout_seconds = 10;  // the handler gets 8.5 s, the first attempt half of it
  Start(options);
  const std::string arn = CreateSecret("stalled");
  local_->QueueFaults(Parse(R"({"operation":"DescribeSecret","responses":[{"stall":7}]})"));
  const ProcessResult rotated = local_->RotateSecret(arn);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << local_->FunctionLog();
  EXPECT_EQ(Changes(), 1);
  const std::string log = local_->FunctionLog();
  EXPECT_NE(log.find("DescribeSecret failed, retrying"), std::string::npos) << log;
  EXPECT_NE(log.find("timed out"), std::string::npos) << log;
}

TEST_F(LambdaNetworkTest, AHungCallEndsInAClearErrorBeforeLambdasDeadline) {
  LocalAwsOptions options{TEST_BOOTSTRAP_PATH};
  options.timeout_seconds = 5;
  Start(options);
  const std::string arn = CreateSecret("hung");
  local_->QueueFaults(Parse(
      R"({"operation":"*","responses":[{"stall":30},{"stall":30},{"stall":30},{"stall":30}]})"));
  bool function_error = false;
  const std::string response =
      local_->Invoke(R"({"SecretId":")" + arn + R"(","ClientRequestToken":")" +
                         std::string(kToken) + R"(","Step":"createSecret"})",
                     &function_error);
  EXPECT_TRUE(function_error);
  const JsonValue error = Parse(response);
  EXPECT_EQ(error["errorType"].get<std::string>(), "Timeout") << response;
  EXPECT_NE(error["errorMessage"].get<std::string>().find(
                "DescribeSecret: the invocation's time ran out"),
            std::string::npos)
      << response;
  const std::string log = local_->FunctionLog();
  EXPECT_NE(log.find("createSecret failed: describing the secret: DescribeSecret"),
            std::string::npos)
      << log;
  const JsonValue stats = local_->LambdaStats();
  EXPECT_EQ(stats["starts"].get<int>(), 1) << "the function was not killed for a timeout";
}

TEST_F(LambdaNetworkTest, AnOddDeadlineHeaderIsCappedNotTakenAsExpired) {
  for (const char* header : {"9223372036854775807", "99999999999999999999"}) {
    SCOPED_TRACE(header);
    LocalAwsOptions options{TEST_BOOTSTRAP_PATH};
    options.deadline_header = header;
    Start(options);
    const std::string arn = CreateSecret("odd-deadline");
    const ProcessResult rotated = local_->RotateSecret(arn);
    EXPECT_EQ(rotated.exit_code, 0) << rotated.err << local_->FunctionLog();
    EXPECT_EQ(Changes(), 1);
    EXPECT_NE(local_->FunctionLog().find("allowing 15 minutes"), std::string::npos)
        << local_->FunctionLog();
  }
}

}  // namespace
}  // namespace secret_rotator
