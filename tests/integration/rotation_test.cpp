// Whole rotations the way AWS runs them: the AWS CLI creates a secret and calls
// rotate-secret on the local Secrets Manager, which invokes the real bootstrap
// (with the file-backed test engine) through the local Lambda service for the
// four steps.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/json.h"
#include "base/json_text.h"
#include "tests/support/file_database_strategy.h"
#include "tests/support/local_aws.h"

namespace secret_rotator {
namespace {

using testing::FileDatabase;
using testing::LocalAws;
using testing::LocalAwsOptions;

class RotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    local_ = std::make_unique<LocalAws>(LocalAwsOptions{TEST_BOOTSTRAP_PATH});
    db_path_ = local_->dir() + "/db.json";
  }

  void WriteDb(std::map<std::string, std::string> users) {
    ASSERT_TRUE(testing::WriteFileDatabase(db_path_, FileDatabase{std::move(users), 0}).ok());
  }
  FileDatabase Db() { return testing::ReadFileDatabase(db_path_).value(); }

  std::string SecretJson(const std::string& user, const std::string& password,
                         const std::string& extra = "") {
    return R"({"engine":"testdb","host":")" + db_path_ + R"(","username":")" + user +
           R"(","password":")" + password + "\"" + extra + "}";
  }

  static JsonValue Parse(const std::string& text) { return ParseJson(text, "t", "T").value(); }

  std::string Event(const std::string& arn, const std::string& token, const std::string& step) {
    return R"({"SecretId":")" + arn + R"(","ClientRequestToken":")" + token + R"(","Step":")" +
           step + "\"}";
  }

  std::unique_ptr<LocalAws> local_;
  std::string db_path_;
};

TEST_F(RotationTest, RotateSecretRunsAllFourStepsAndMovesTheLabelsLikeAws) {
  WriteDb({{"alice", "first-password"}});
  const std::string arn = local_->CreateSecret("single", SecretJson("alice", "first-password"));
  const std::string first = local_->VersionWithStage(arn, "AWSCURRENT");

  const testing::ProcessResult rotated = local_->RotateSecret(arn);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << local_->FunctionLog();
  const std::string second = Parse(rotated.out)["VersionId"].get<std::string>();

  // AWSCURRENT on the new version, AWSPREVIOUS on the old one, as AWS leaves them.
  const auto stages = local_->Stages(arn);
  EXPECT_EQ(stages.at(second), (std::vector<std::string>{"AWSCURRENT", "AWSPENDING"}));
  EXPECT_EQ(stages.at(first), (std::vector<std::string>{"AWSPREVIOUS"}));
  const JsonValue current = Parse(local_->ValueAt(arn, "AWSCURRENT"));
  EXPECT_EQ(current["username"].get<std::string>(), "alice");
  EXPECT_EQ(Db().users["alice"], current["password"].get<std::string>());
  EXPECT_EQ(current["password"].get<std::string>().size(), 32u);

  // The four steps ran, in order, each once.
  std::vector<std::string> steps;
  const JsonValue stats = local_->LambdaStats();
  for (const JsonValue& invocation : stats["invocations"]) {
    EXPECT_TRUE(invocation["ok"].get<bool>());
    steps.push_back(invocation["requestId"].get<std::string>());
  }
  EXPECT_EQ(steps.size(), 4u);

  // A second rotation moves the labels again.
  ASSERT_EQ(local_->RotateSecret(arn).exit_code, 0);
  EXPECT_EQ(local_->VersionWithStage(arn, "AWSPREVIOUS"), second);
  EXPECT_EQ(Db().changes, 2);
}

TEST_F(RotationTest, RerunningAnyStepAfterItSucceededChangesNothing) {
  WriteDb({{"alice", "first-password"}});
  const std::string arn = local_->CreateSecret("rerun", SecretJson("alice", "first-password"));
  ASSERT_EQ(local_->RotateSecret(arn).exit_code, 0);
  const std::string token = local_->VersionWithStage(arn, "AWSCURRENT");
  const auto stages = local_->Stages(arn);
  const std::string current = local_->ValueAt(arn, "AWSCURRENT");
  const FileDatabase db = Db();

  for (const char* step : {"createSecret", "setSecret", "testSecret", "finishSecret"}) {
    local_->ClearRequests();
    bool function_error = true;
    const std::string response = local_->Invoke(Event(arn, token, step), &function_error);
    EXPECT_FALSE(function_error) << step << ": " << response;
    for (const JsonValue& request : local_->Requests()) {
      const std::string operation = request["operation"].get<std::string>();
      EXPECT_TRUE(operation == "DescribeSecret" || operation == "GetSecretValue")
          << step << " called " << operation;
    }
    EXPECT_EQ(local_->Stages(arn), stages) << step;
    EXPECT_EQ(local_->ValueAt(arn, "AWSCURRENT"), current) << step;
    EXPECT_EQ(Db().changes, db.changes) << step;
    EXPECT_EQ(Db().users, db.users) << step;
  }
}

TEST_F(RotationTest, RerunningEachStepDuringARotationIsIdempotent) {
  // Secrets Manager retries a step that failed after doing its work: run
  // every step twice, in order, within one rotation.
  WriteDb({{"alice", "first-password"}});
  const std::string arn = local_->CreateSecret("twice", SecretJson("alice", "first-password"));
  const std::string first = local_->VersionWithStage(arn, "AWSCURRENT");
  // Start a rotation that stops after creating AWSPENDING: the function's
  // setSecret fails once (the database is briefly unreachable).
  std::filesystem::rename(db_path_, db_path_ + ".away");
  ASSERT_NE(local_->RotateSecret(arn).exit_code, 0);
  std::filesystem::rename(db_path_ + ".away", db_path_);
  const std::string token = local_->VersionWithStage(arn, "AWSPENDING");
  ASSERT_NE(token, first);
  const std::string pending = local_->ValueAt(arn, "AWSPENDING");

  for (const char* step : {"createSecret", "setSecret", "testSecret", "finishSecret"}) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool function_error = true;
      const std::string response = local_->Invoke(Event(arn, token, step), &function_error);
      ASSERT_FALSE(function_error) << step << " attempt " << attempt << ": " << response;
    }
  }
  EXPECT_EQ(local_->VersionWithStage(arn, "AWSCURRENT"), token);
  EXPECT_EQ(local_->VersionWithStage(arn, "AWSPREVIOUS"), first);
  EXPECT_EQ(local_->ValueAt(arn, "AWSCURRENT"), pending) << "createSecret kept the first value";
  EXPECT_EQ(Db().changes, 1);
}

TEST_F(RotationTest, AFailedStepLeavesAwsCurrentAloneAndTheSameRotationCanResume) {
  WriteDb({{"alice", "a-different-password"}});
  const std::string arn = local_->CreateSecret("fails", SecretJson("alice", "first-password"));
  const std::string first = local_->VersionWithStage(arn, "AWSCURRENT");
  const testing::ProcessResult failed = local_->RotateSecret(arn);
  ASSERT_NE(failed.exit_code, 0);
  EXPECT_NE(failed.err.find("setSecret"), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("DatabaseLoginFailed"), std::string::npos) << failed.err;
  EXPECT_EQ(local_->VersionWithStage(arn, "AWSCURRENT"), first);
  const std::string pending = local_->VersionWithStage(arn, "AWSPENDING");
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(Db().users["alice"], "a-different-password");

  // A new rotation is refused while this one is unfinished ...
  EXPECT_NE(local_->RotateSecret(arn).exit_code, 0);
  // ... and once the database is fixed, the same rotation completes.
  WriteDb({{"alice", "first-password"}});
  const testing::ProcessResult resumed =
      local_->Aws({"secretsmanager", "rotate-secret", "--secret-id", arn, "--client-request-token",
                   pending, "--rotation-lambda-arn", testing::kFunctionArn});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(local_->VersionWithStage(arn, "AWSCURRENT"), pending);
  EXPECT_EQ(local_->VersionWithStage(arn, "AWSPREVIOUS"), first);
}

TEST_F(RotationTest, AlternatingUsersSwitchesBetweenTheUserAndItsClone) {
  WriteDb({{"app", "app-password"}, {"admin", "admin-password"}});
  const std::string master = local_->CreateSecret("master", SecretJson("admin", "admin-password"));
  const std::string arn = local_->CreateSecret(
      "alternating",
      SecretJson("app", "app-password",
                 R"(,"masterarn":")" + master + R"(","rotationStrategy":"alternating-users")"));
  ASSERT_EQ(local_->RotateSecret(arn).exit_code, 0) << local_->FunctionLog();
  EXPECT_EQ(Parse(local_->ValueAt(arn, "AWSCURRENT"))["username"].get<std::string>(), "app_clone");
  EXPECT_EQ(Parse(local_->ValueAt(arn, "AWSPREVIOUS"))["username"].get<std::string>(), "app");
  ASSERT_EQ(local_->RotateSecret(arn).exit_code, 0) << local_->FunctionLog();
  const JsonValue current = Parse(local_->ValueAt(arn, "AWSCURRENT"));
  EXPECT_EQ(current["username"].get<std::string>(), "app");
  EXPECT_EQ(Db().users["app"], current["password"].get<std::string>());
  EXPECT_EQ(Db().users["app_clone"],
            Parse(local_->ValueAt(arn, "AWSPREVIOUS"))["password"].get<std::string>());
}

TEST_F(RotationTest, RotationKeepsEveryOtherByteOfTheSecret) {
  // Fields a re-serialising JSON library would change: numbers beyond int64
  // and double precision, a trailing zero, escapes, raw UTF-8 (U+2028 too),
  // key order, whitespace, a nested "password".
  const std::string kept_head = "{\n  \"zeta\": 1.0,\n  \"password\" : ";
  const std::string kept_middle =
      ",\n  \"big\": 123456789012345678901234567890, \"min\": -9223372036854775809,"
      " \"f\": 0.10,\n  \"url\": \"https:\\/\\/db.example\\/x\", \"e\": \"\\u00e9\\u2028\","
      " \"raw\": \"\xc3\xa9\xe2\x80\xa8\",\n  \"nested\": {\"password\": \"inner\", \"list\":"
      " [18446744073709551616, {\"deep\": -1.5e-400}]},\n  \"engine\": \"testdb\","
      " \"host\": \"" +
      db_path_ + "\",\n  \"username\":";
  const std::string kept_tail = "\n}\n";
  auto secret_text = [&](const std::string& user, const std::string& password,
                         const std::string& extra) {
    return kept_head + JsonString(password) + kept_middle + JsonString(user) + extra + kept_tail;
  };

  struct Case {
    const char* name;
    std::string extra;  // more members after "username"
    std::vector<std::string> users;
  };
  WriteDb({{"app", "app-password"}, {"admin", "admin-password"}});
  const std::string master = local_->CreateSecret("master", SecretJson("admin", "admin-password"));
  const std::vector<Case> cases = {
      {"single-user", "", {"app", "app"}},
      {"alternating-users",
       R"(, "masterarn": ")" + master + R"(", "rotationStrategy": "alternating-users")",
       {"app_clone", "app"}},
  };
  for (const Case& c : cases) {
    WriteDb({{"app", "app-password"}, {"admin", "admin-password"}});
    const std::string arn = local_->CreateSecret(std::string("exact-") + c.name,
                                                 secret_text("app", "app-password", c.extra));
    for (const std::string& user : c.users) {
      const testing::ProcessResult rotated = local_->RotateSecret(arn);
      ASSERT_EQ(rotated.exit_code, 0) << c.name << ": " << rotated.err << local_->FunctionLog();
      const std::string current = local_->ValueAt(arn, "AWSCURRENT");
      const std::string password = Parse(current)["password"].get<std::string>();
      EXPECT_EQ(password.size(), 32u) << c.name;
      EXPECT_EQ(Db().users[user], password) << c.name;
      // Byte for byte: only the password and username values differ.
      EXPECT_EQ(current, secret_text(user, password, c.extra)) << c.name;
      EXPECT_EQ(local_->ValueAt(arn, "AWSPENDING"), current) << c.name;
    }
  }
}

TEST_F(RotationTest, ABadSecretFailsCreateSecretAndChangesNothing) {
  const std::string arn =
      local_->CreateSecret("bad", R"({"engine":"testdb","username":"u","password":"p"})");
  const testing::ProcessResult failed = local_->RotateSecret(arn);
  ASSERT_NE(failed.exit_code, 0);
  EXPECT_NE(failed.err.find("createSecret"), std::string::npos);
  EXPECT_NE(failed.err.find("field 'host' is missing or empty"), std::string::npos) << failed.err;
  for (const JsonValue& request : local_->Requests()) {
    EXPECT_NE(request["operation"].get<std::string>(), "PutSecretValue");
  }
}

TEST(HttpsRotation, TheFunctionVerifiesTheSecretsManagerCertificate) {
  LocalAwsOptions options{TEST_BOOTSTRAP_PATH};
  options.https = true;
  LocalAws local(options);
  ASSERT_EQ(local.secrets_manager_url().rfind("https://", 0), 0u);
  const std::string db = local.dir() + "/db.json";
  ASSERT_TRUE(testing::WriteFileDatabase(db, FileDatabase{{{"u", "pw"}}, 0}).ok());
  const std::string arn = local.CreateSecret(
      "https", R"({"engine":"testdb","host":")" + db + R"(","username":"u","password":"pw"})");
  const testing::ProcessResult rotated = local.RotateSecret(arn);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << local.FunctionLog();
  EXPECT_EQ(testing::ReadFileDatabase(db)->changes, 1);
}

TEST(HttpsRotation, AnUntrustedSecretsManagerCertificateStopsTheRotation) {
  LocalAwsOptions options{TEST_BOOTSTRAP_PATH};
  options.https = true;
  LocalAws trusted(options);
  // The function trusts another CA than the one that signed the endpoint's
  // certificate: every call fails with a TLS error and nothing changes.
  options.function_env["SSL_CERT_FILE"] = trusted.tls_dir() + "/other-ca.pem";
  options.function_env["SECRETS_MANAGER_ENDPOINT"] = trusted.secrets_manager_url();
  LocalAws function_only(options);
  const std::string db = trusted.dir() + "/db.json";
  ASSERT_TRUE(testing::WriteFileDatabase(db, FileDatabase{{{"u", "pw"}}, 0}).ok());
  const std::string arn = trusted.CreateSecret(
      "untrusted", R"({"engine":"testdb","host":")" + db + R"(","username":"u","password":"pw"})");
  trusted.ClearRequests();
  bool function_error = false;
  const std::string response = function_only.Invoke(
      R"({"SecretId":")" + arn +
          R"(","ClientRequestToken":"11111111-2222-3333-4444-555555555555","Step":"createSecret"})",
      &function_error);
  EXPECT_TRUE(function_error);
  const JsonValue error = ParseJson(response, "error", "T").value();
  EXPECT_EQ(error["errorType"].get<std::string>(), "TlsError");
  EXPECT_NE(error["errorMessage"].get<std::string>().find("did not verify"), std::string::npos);
  EXPECT_EQ(trusted.Requests().size(), 0u) << "no request got through";
}

}  // namespace
}  // namespace secret_rotator
