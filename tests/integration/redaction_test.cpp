// No password or secret string ever appears in anything the function writes:
// full rotations (successful and failing, both strategies, text and JSON logs
// at the most verbose level), then a search of every byte of output for every
// password involved.
#include <gtest/gtest.h>

#include <set>

#include "base/json.h"
#include "base/json_text.h"
#include "tests/support/file_database_strategy.h"
#include "tests/support/local_aws.h"

namespace secret_rotator {
namespace {

using testing::LocalAws;
using testing::LocalAwsOptions;

class RedactionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RedactionTest, NoPasswordAppearsInAnyOutput) {
  LocalAwsOptions options{TEST_BOOTSTRAP_PATH};
  options.function_env = {{"AWS_LAMBDA_LOG_LEVEL", "TRACE"}, {"AWS_LAMBDA_LOG_FORMAT", GetParam()}};
  LocalAws local(options);
  const std::string db = local.dir() + "/db.json";
  std::string outputs;
  std::set<std::string> passwords = {"Initial-Pa55word!", "Admin-Pa55word!", "Stale-Pa55word!"};
  auto secret_json = [&](const std::string& user, const std::string& password,
                         const std::string& extra = "") {
    return R"({"engine":"testdb","host":")" + db + R"(","username":")" + user +
           R"(","password":")" + password + "\"" + extra + "}";
  };
  auto record = [&](const testing::ProcessResult& result) { outputs += result.out + result.err; };
  ASSERT_TRUE(testing::WriteFileDatabase(db, {{{"app", "Initial-Pa55word!"},
                                               {"admin", "Admin-Pa55word!"},
                                               {"single", "Initial-Pa55word!"}},
                                              0})
                  .ok());

  const std::string master = local.CreateSecret("master", secret_json("admin", "Admin-Pa55word!"));
  const std::string alternating = local.CreateSecret(
      "alternating",
      secret_json("app", "Initial-Pa55word!",
                  R"(,"masterarn":")" + master + R"(","rotationStrategy":"alternating-users")"));
  const std::string single =
      local.CreateSecret("single", secret_json("single", "Initial-Pa55word!"));
  for (int i = 0; i < 2; ++i) {
    record(local.RotateSecret(alternating));
    record(local.RotateSecret(single));
  }
  // A failing rotation: the database no longer knows the current password.
  const std::string stale = local.CreateSecret("stale", secret_json("nobody", "Stale-Pa55word!"));
  record(local.RotateSecret(stale));
  // Direct invocations that fail in the middle of a step.
  const std::string pending = local.VersionWithStage(stale, "AWSPENDING");
  bool error = false;
  for (const char* step : {"setSecret", "testSecret", "finishSecret"}) {
    outputs += local.Invoke(R"({"SecretId":")" + stale + R"(","ClientRequestToken":")" + pending +
                                R"(","Step":")" + step + "\"}",
                            &error);
  }

  // Every password any version of any secret ever held.
  for (const std::string& id : {master, alternating, single, stale}) {
    for (const auto& [version, stages] : local.Stages(id)) {
      const JsonValue value =
          ParseJson(local
                        .AwsJson({"secretsmanager", "get-secret-value", "--secret-id", id,
                                  "--version-id", version})["SecretString"]
                        .get<std::string>(),
                    "secret", "T")
              .value();
      passwords.insert(value["password"].get<std::string>());
    }
  }
  ASSERT_GE(passwords.size(), 8u) << "rotations should have produced new passwords";

  outputs += local.FunctionLog() + local.ServerLogs();
  ASSERT_NE(local.FunctionLog().find("succeeded"), std::string::npos) << "the function logged";
  ASSERT_NE(local.FunctionLog().find("failed"), std::string::npos) << "failures were logged";
  for (const std::string& password : passwords) {
    ASSERT_FALSE(password.empty());
    EXPECT_EQ(outputs.find(password), std::string::npos)
        << "a password appears in the output (" << password.size() << " characters)";
    // Also as it would look escaped inside JSON.
    EXPECT_EQ(outputs.find(JsonString(password).substr(1, password.size())), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(LogFormats, RedactionTest, ::testing::Values("Text", "JSON"));

}  // namespace
}  // namespace secret_rotator
