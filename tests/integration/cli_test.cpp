// The command line of the real bootstrap: --help, --version, usage errors and
// local one-event mode against the local Secrets Manager.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "aws/credentials.h"
#include "base/json.h"
#include "tests/support/file_database_strategy.h"
#include "tests/support/local_aws.h"

namespace secret_rotator {
namespace {

using testing::ProcessOptions;
using testing::RunProcess;

testing::ProcessResult Bootstrap(const std::vector<std::string>& args,
                                 ProcessOptions options = {}) {
  std::vector<std::string> argv = {BOOTSTRAP_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  options.clean_env = true;
  options.env.emplace("PATH", "/usr/bin:/bin");
  return RunProcess(argv, options);
}

TEST(Cli, HelpAndVersionExitZero) {
  const auto help = Bootstrap({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: bootstrap"), std::string::npos);
  EXPECT_NE(help.out.find("ROTATION_STRATEGY"), std::string::npos);
  const auto version = Bootstrap({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("secret-rotator ", 0), 0u);
}

TEST(Cli, BadUsageExitsTwoWithAReason) {
  struct Case {
    std::vector<std::string> args;
    std::string reason;
  };
  for (const Case& c : {Case{{"--bogus"}, "unknown argument '--bogus'"},
                        Case{{"--event"}, "--event needs a file name"},
                        Case{{"--event", "/nonexistent.json"}, "cannot read event file"},
                        Case{{"--event", "-", "--timeout", "0"}, "--timeout needs a whole number"},
                        Case{{}, "AWS_LAMBDA_RUNTIME_API is not set"}}) {
    const auto result = Bootstrap(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.reason;
    EXPECT_NE(result.err.find(c.reason), std::string::npos) << result.err;
  }
}

TEST(Cli, MissingConfigurationIsBadUsage) {
  ProcessOptions options;
  options.stdin_data = "{}";
  const auto result = Bootstrap({"--event", "-"}, options);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("no AWS region"), std::string::npos) << result.err;
}

TEST(Cli, LocalEventRunsOneStepAndPrintsTheResult) {
  testing::LocalAws local(testing::LocalAwsOptions{TEST_BOOTSTRAP_PATH});
  const std::string db = local.dir() + "/db.json";
  ASSERT_TRUE(testing::WriteFileDatabase(db, {{{"u", "pw"}}, 0}).ok());
  const std::string arn = local.CreateSecret(
      "local", R"({"engine":"testdb","host":")" + db + R"(","username":"u","password":"pw"})");
  // Start a rotation whose steps the command line will run: a rotation
  // fails at setSecret while the database is away, leaving AWSPENDING.
  std::filesystem::rename(db, db + ".away");
  ASSERT_NE(local.RotateSecret(arn).exit_code, 0);
  std::filesystem::rename(db + ".away", db);
  const std::string token = local.VersionWithStage(arn, "AWSPENDING");

  ProcessOptions options;
  options.env = local.FunctionEnvironment();
  options.env.emplace("PATH", "/usr/bin:/bin");
  options.clean_env = true;
  for (const char* step : {"setSecret", "testSecret", "finishSecret"}) {
    options.stdin_data = R"({"SecretId":")" + arn + R"(","ClientRequestToken":")" + token +
                         R"(","Step":")" + step + "\"}";
    const auto result = RunProcess({TEST_BOOTSTRAP_PATH, "--event", "-"}, options);
    ASSERT_EQ(result.exit_code, 0) << step << ": " << result.out << result.err;
    const JsonValue printed = ParseJson(result.out, "output", "T").value();
    EXPECT_EQ(printed["step"].get<std::string>(), step);
    EXPECT_EQ(printed["clientRequestToken"].get<std::string>(), token);
  }
  EXPECT_EQ(local.VersionWithStage(arn, "AWSCURRENT"), token);

  options.stdin_data = R"({"SecretId":")" + arn + R"(","Step":"setSecret"})";
  const auto invalid = RunProcess({TEST_BOOTSTRAP_PATH, "--event", "-"}, options);
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(ParseJson(invalid.out, "output", "T").value()["errorType"].get<std::string>(),
            "InvalidEvent");
}

// A profile as a user has it: no keys in the environment, the region in
// ~/.aws/config and a credential_process that prints the local test keys.
TEST(Cli, LocalEventWithACredentialProcessProfileAndTheRegionFromTheConfigFile) {
  testing::LocalAws local(testing::LocalAwsOptions{BOOTSTRAP_PATH});
  // A rotation started by hand, as the README shows: rotation turned on
  // without rotating, then the AWSPENDING version put with a token.
  const std::string current =
      R"({"engine":"mysql","host":"127.0.0.1","port":1,"username":"app","password":"pw-current"})";
  const std::string arn = local.CreateSecret("profiled", current);
  local.AwsJson({"secretsmanager", "rotate-secret", "--secret-id", arn, "--rotation-lambda-arn",
                 testing::kFunctionArn, "--rotation-rules", "AutomaticallyAfterDays=30",
                 "--no-rotate-immediately"});
  const std::string token = testing::RandomHex(32);
  local.AwsJson({"secretsmanager", "put-secret-value", "--secret-id", arn, "--client-request-token",
                 token, "--version-stages", "AWSPENDING", "--secret-string",
                 R"({"engine":"mysql","host":"127.0.0.1","port":1,"username":"app",)"
                 R"("password":"pw-pending"})"});

  // The helper checks that it got its argument whole, then prints
  // whatever output.json holds.
  const std::string output = local.dir() + "/output.json";
  const std::string helper = local.dir() + "/credential helper";
  testing::WriteFile(helper,
                     "#!/bin/sh\n[ \"$1\" = 'one arg' ] || exit 9\nexec cat '" + output + "'\n");
  std::filesystem::permissions(helper, std::filesystem::perms::owner_all);
  const std::string config = local.dir() + "/config";
  testing::WriteFile(config,
                     "[default]\nregion = eu-west-3\n"
                     "[profile local]\nregion = " +
                         std::string(testing::kLocalRegion) + "\ncredential_process = \"" + helper +
                         "\" 'one arg'\n");
  auto write_output = [&](const std::string& expiration) {
    testing::WriteFile(output, R"({"Version": 1, "AccessKeyId": ")" +
                                   std::string(testing::kLocalAccessKey) +
                                   R"(", "SecretAccessKey": ")" + testing::kLocalSecretKey +
                                   R"(", "Expiration": ")" + expiration + "\"}");
  };

  ProcessOptions options;
  options.clean_env = true;
  options.env = {
      {"PATH", "/usr/bin:/bin"},   {"HOME", local.dir()},
      {"AWS_CONFIG_FILE", config}, {"AWS_SHARED_CREDENTIALS_FILE", local.dir() + "/no-credentials"},
      {"AWS_PROFILE", "local"},    {"SECRETS_MANAGER_ENDPOINT", local.secrets_manager_url()}};
  options.stdin_data = R"({"SecretId":")" + arn + R"(","ClientRequestToken":")" + token +
                       R"(","Step":"createSecret"})";

  // The AWS CLI reads the same file the same way.
  write_output("2200-01-01T00:00:00Z");
  const auto exported = RunProcess({testing::AwsCliPath(), "configure", "export-credentials",
                                    "--profile", "local", "--format", "process"},
                                   options);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(ParseJson(exported.out, "aws output", "T").value()["AccessKeyId"], "AKIDLOCALTESTKEY");
  const auto region = RunProcess(
      {testing::AwsCliPath(), "configure", "get", "region", "--profile", "local"}, options);
  EXPECT_EQ(region.out, std::string(testing::kLocalRegion) + "\n");

  local.ClearRequests();
  const auto result = RunProcess({BOOTSTRAP_PATH, "--event", "-"}, options);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const JsonValue printed = ParseJson(result.out, "output", "T").value();
  EXPECT_EQ(printed["result"].get<std::string>(), "the AWSPENDING version already has a value");
  // Every request reached the local Secrets Manager, which checks each
  // signature against the local test keys in us-east-1.
  EXPECT_GE(local.Requests().size(), 2u);
  for (const std::string& text : {result.out, result.err, local.ServerLogs()}) {
    EXPECT_EQ(text.find(testing::kLocalSecretKey), std::string::npos);
  }

  // Credentials that will not last the run are refused before any request.
  struct Case {
    std::string expiration;
    std::vector<std::string> args;
    std::string reason;
  };
  const auto soon = std::chrono::system_clock::now() + std::chrono::seconds(20);
  const Case refused[] = {
      {"2001-02-03T04:05:06Z", {}, "the credentials it printed expired at 2001-02-03T04:05:06Z"},
      {aws::FormatUtcTime(soon), {"--timeout", "300"}, "before this invocation's time is up"},
  };
  for (const Case& c : refused) {
    write_output(c.expiration);
    local.ClearRequests();
    std::vector<std::string> argv = {BOOTSTRAP_PATH, "--event", "-"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto failed = RunProcess(argv, options);
    EXPECT_EQ(failed.exit_code, 2) << failed.out << failed.err;
    EXPECT_NE(failed.err.find(c.reason), std::string::npos) << failed.err;
    EXPECT_EQ(failed.err.find(testing::kLocalSecretKey), std::string::npos);
    EXPECT_EQ(local.Requests().size(), 0u);
  }
  // And the shorter run those credentials do last is allowed.
  write_output(aws::FormatUtcTime(soon));
  const auto shorter = RunProcess({BOOTSTRAP_PATH, "--event", "-", "--timeout", "5"}, options);
  EXPECT_EQ(shorter.exit_code, 0) << shorter.out << shorter.err;
}

}  // namespace
}  // namespace secret_rotator
