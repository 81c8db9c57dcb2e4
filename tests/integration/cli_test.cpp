// The command line of the real bootstrap: --help, --version, usage errors and
// local one-event mode against the local Secrets Manager.
#include <gtest/gtest.h>

#include <filesystem>

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

}  // namespace
}  // namespace secret_rotator
