// The rotation protocol against an in-memory Secrets Manager and the
// file-backed test engine.
#include "handler/rotation_handler.h"

#include <gtest/gtest.h>

#include "aws/errors.h"
#include "base/json.h"
#include "base/log.h"
#include "tests/handler/file_database_fixture.h"

namespace secret_rotator::handler {
namespace {

using testing::FakeSecretsManager;

constexpr char kToken[] = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr char kFirstVersion[] = "00000000-0000-0000-0000-000000000001";

class RotationHandlerTest : public testing::FileDatabaseFixture {
 protected:
  Result<std::string> Run(Step step, RotationConfig config = {}) {
    RotationHandler handler(secrets_, engines_, std::move(config));
    return handler.Handle({arn_, kToken, step, std::nullopt},
                          Deadline::After(std::chrono::seconds(5)));
  }

  JsonValue ValueAt(const std::string& stage) {
    return ParseJson(*secrets_.ValueAt(arn_, stage), "test", "Test").value();
  }

  std::string arn_;
};

TEST_F(RotationHandlerTest, SingleUserRotationMovesLabelsAndChangesThePassword) {
  WriteDb({{"alice", "old-pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "old-pw", R"(,"port":"7","note":"keep me")"));
  secrets_.StartRotation(arn_, kToken);

  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  const JsonValue pending = ValueAt(aws::kAwsPending);
  EXPECT_EQ(pending["username"].get<std::string>(), "alice");
  EXPECT_EQ(pending["password"].get<std::string>(), "Generated-Password-1");
  EXPECT_EQ(pending["note"].get<std::string>(), "keep me") << "unused fields are kept";
  EXPECT_EQ(pending["port"].get<std::string>(), "7") << "a string port stays a string";

  ASSERT_TRUE(Run(Step::kSetSecret).ok());
  EXPECT_EQ(Db().users["alice"], "Generated-Password-1");
  ASSERT_TRUE(Run(Step::kTestSecret).ok());
  ASSERT_TRUE(Run(Step::kFinishSecret).ok());

  const aws::SecretDescription description =
      secrets_.DescribeSecret(arn_, Deadline::After({})).value();
  EXPECT_TRUE(description.HasStage(kToken, aws::kAwsCurrent));
  EXPECT_TRUE(description.HasStage(kFirstVersion, aws::kAwsPrevious));
  EXPECT_FALSE(description.HasStage(kFirstVersion, aws::kAwsCurrent));
}

TEST_F(RotationHandlerTest, RerunningAnyStepAfterItSucceededChangesNothing) {
  WriteDb({{"alice", "old-pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "old-pw"));
  secrets_.StartRotation(arn_, kToken);
  for (Step step :
       {Step::kCreateSecret, Step::kSetSecret, Step::kTestSecret, Step::kFinishSecret}) {
    ASSERT_TRUE(Run(step).ok()) << StepName(step);
    const int mutations = secrets_.mutating_calls();
    const int changes = Db().changes;
    const auto pending = secrets_.ValueAt(arn_, aws::kAwsPending);
    Result<std::string> again = Run(step);
    ASSERT_TRUE(again.ok()) << StepName(step) << ": " << again.status().message();
    EXPECT_EQ(secrets_.mutating_calls(), mutations) << StepName(step);
    EXPECT_EQ(Db().changes, changes) << StepName(step);
    EXPECT_EQ(secrets_.ValueAt(arn_, aws::kAwsPending), pending) << StepName(step);
  }
  EXPECT_EQ(Db().changes, 1);
}

TEST_F(RotationHandlerTest, AlternatingUsersClonesTheUserThroughTheAdmin) {
  WriteDb({{"app", "app-pw"}, {"admin", "admin-pw"}});
  const std::string master = secrets_.AddSecret("master", SecretJson("admin", "admin-pw"));
  arn_ = secrets_.AddSecret("db", SecretJson("app", "app-pw", R"(,"masterarn":")" + master + "\""));
  secrets_.StartRotation(arn_, kToken);
  RotationConfig config;
  config.default_kind = strategies::RotationKind::kAlternatingUsers;
  for (Step step :
       {Step::kCreateSecret, Step::kSetSecret, Step::kTestSecret, Step::kFinishSecret}) {
    Result<std::string> result = Run(step, config);
    ASSERT_TRUE(result.ok()) << StepName(step) << ": " << result.status().message();
  }
  EXPECT_EQ(ValueAt(aws::kAwsCurrent)["username"].get<std::string>(), "app_clone");
  EXPECT_EQ(ValueAt(aws::kAwsPrevious)["username"].get<std::string>(), "app");
  EXPECT_EQ(Db().users["app_clone"], "Generated-Password-1");
  EXPECT_EQ(Db().users["app"], "app-pw") << "the previous user keeps working";
}

TEST_F(RotationHandlerTest, SecretFieldRotationStrategyOverridesTheDefault) {
  WriteDb({{"app_clone", "pw"}, {"admin", "admin-pw"}});
  const std::string master = secrets_.AddSecret("master", SecretJson("admin", "admin-pw"));
  arn_ = secrets_.AddSecret("db", SecretJson("app_clone", "pw",
                                             R"(,"masterarn":")" + master +
                                                 R"(","rotationStrategy":"alternating-users")"));
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  EXPECT_EQ(ValueAt(aws::kAwsPending)["username"].get<std::string>(), "app") << "_clone is removed";
}

TEST_F(RotationHandlerTest, AlternatingUsersWithoutMasterarnFailsBeforeCreatingAnything) {
  arn_ = secrets_.AddSecret("db", SecretJson("app", "pw"));
  secrets_.StartRotation(arn_, kToken);
  RotationConfig config;
  config.default_kind = strategies::RotationKind::kAlternatingUsers;
  Result<std::string> result = Run(Step::kCreateSecret, config);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "InvalidSecret");
  EXPECT_NE(result.status().message().find("field 'masterarn' is missing"), std::string::npos);
  EXPECT_EQ(secrets_.mutating_calls(), 0);
}

TEST_F(RotationHandlerTest, MasterarnNamingAMissingSecretIsAClearErrorAndChangesNothing) {
  WriteDb({{"app", "pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("app", "pw", R"(,"masterarn":"no-such-secret")"));
  secrets_.StartRotation(arn_, kToken);
  RotationConfig config;
  config.default_kind = strategies::RotationKind::kAlternatingUsers;
  Result<std::string> result = Run(Step::kCreateSecret, config);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), aws::kResourceNotFound);
  EXPECT_NE(result.status().message().find("masterarn secret no-such-secret"), std::string::npos);
  EXPECT_EQ(secrets_.mutating_calls(), 0);
  EXPECT_EQ(Db().changes, 0);
}

// The admin of masterarn must be neither the rotated user nor its clone:
// refused in createSecret, before anything is stored or changed.
TEST_F(RotationHandlerTest, AdminThatIsTheRotatedUserOrItsCloneIsRefusedAtCreateSecret) {
  struct Case {
    const char* user;
    const char* admin;
  };
  for (const Case& c : {Case{"app", "app"}, Case{"app", "app_clone"}, Case{"app_clone", "app"}}) {
    SCOPED_TRACE(std::string(c.user) + " with admin " + c.admin);
    WriteDb({{c.user, "pw"}, {c.admin, "pw"}});
    const std::string master =
        secrets_.AddSecret(std::string("master-") + c.user + c.admin, SecretJson(c.admin, "pw"));
    arn_ = secrets_.AddSecret(std::string("db-") + c.user + c.admin,
                              SecretJson(c.user, "pw", R"(,"masterarn":")" + master + "\""));
    secrets_.StartRotation(arn_, kToken);
    const int mutations = secrets_.mutating_calls();
    RotationConfig config;
    config.default_kind = strategies::RotationKind::kAlternatingUsers;
    Result<std::string> result = Run(Step::kCreateSecret, config);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().type(), "AccountMismatch");
    EXPECT_NE(result.status().message().find("masterarn"), std::string::npos);
    EXPECT_EQ(secrets_.mutating_calls(), mutations);
    EXPECT_EQ(Db().changes, 0);
  }
}

TEST_F(RotationHandlerTest, MasterarnNamingTheSecretItselfIsRefusedClearly) {
  WriteDb({{"app", "pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("app", "pw", R"(,"masterarn":"db")"));
  secrets_.StartRotation(arn_, kToken);
  RotationConfig config;
  config.default_kind = strategies::RotationKind::kAlternatingUsers;
  Result<std::string> result = Run(Step::kCreateSecret, config);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "InvalidSecret");
  EXPECT_NE(result.status().message().find("names the secret itself"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(secrets_.mutating_calls(), 0);
}

// finishSecret right after createSecret (a replayed or manual invocation):
// the database never received the pending password, so AWSCURRENT stays.
TEST_F(RotationHandlerTest, FinishSecretRefusesCredentialsThatDoNotLogIn) {
  WriteDb({{"alice", "pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  const int mutations = secrets_.mutating_calls();
  Result<std::string> result = Run(Step::kFinishSecret);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "DatabaseLoginFailed");
  EXPECT_NE(result.status().message().find("refusing to move AWSCURRENT"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(secrets_.mutating_calls(), mutations);
  EXPECT_TRUE(secrets_.DescribeSecret(arn_, Deadline::After({}))
                  ->HasStage(kFirstVersion, aws::kAwsCurrent));
}

TEST_F(RotationHandlerTest, PreChecksRefuseDisabledRotationUnknownAndNonPendingVersions) {
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  Result<std::string> unknown = Run(Step::kCreateSecret);
  EXPECT_EQ(unknown.status().type(), "UnknownVersion");

  secrets_.Get(arn_).versions[kToken] = {std::string("{}"), {"SOMELABEL"}};
  EXPECT_EQ(Run(Step::kSetSecret).status().type(), "VersionNotPending");

  secrets_.StartRotation(arn_, kToken);
  secrets_.Get(arn_).rotation_enabled = false;
  EXPECT_EQ(Run(Step::kCreateSecret).status().type(), "RotationNotEnabled");
  EXPECT_EQ(secrets_.mutating_calls(), 0);
  for (const std::string& call : secrets_.calls()) EXPECT_EQ(call, "DescribeSecret");
}

TEST_F(RotationHandlerTest, AStepForTheCurrentVersionIsANoOp) {
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"), kToken);
  Result<std::string> result = Run(Step::kSetSecret);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, "version is already AWSCURRENT; nothing to do");
  EXPECT_EQ(secrets_.calls(), std::vector<std::string>{"DescribeSecret"});
}

TEST_F(RotationHandlerTest, CreateSecretUsesTheEnginesExcludedCharactersUnlessConfigured) {
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  engines_.Add({"testdb", 1, "/@", engines_.Find("testdb")->make});
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  EXPECT_EQ(secrets_.last_password_request->exclude_characters, "/@");
  EXPECT_EQ(secrets_.last_password_request->password_length, 32);
  EXPECT_TRUE(secrets_.last_password_request->require_each_included_type);

  const std::string other = "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee";
  secrets_.StartRotation(arn_, other);
  RotationConfig config;
  config.password.length = 20;
  config.password.exclude_characters = "xyz";
  config.password.exclude_punctuation = true;
  RotationHandler handler(secrets_, engines_, config);
  ASSERT_TRUE(handler
                  .Handle({arn_, other, Step::kCreateSecret, std::nullopt},
                          Deadline::After(std::chrono::seconds(5)))
                  .ok());
  EXPECT_EQ(secrets_.last_password_request->exclude_characters, "xyz");
  EXPECT_EQ(secrets_.last_password_request->password_length, 20);
  EXPECT_TRUE(secrets_.last_password_request->exclude_punctuation);
}

TEST_F(RotationHandlerTest, BadCurrentSecretsAreRefusedBeforeAnythingChanges) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "is not valid JSON"},
      {"[1]", "must be a JSON object, not an array"},
      {R"({"host":"h","username":"u","password":"p"})", "field 'engine' is missing or empty"},
      {R"({"engine":"oracle","host":"h","username":"u","password":"p"})",
       "engine 'oracle' is not supported; supported engines: testdb"},
      {R"({"engine":"testdb","username":"u","password":"p"})", "field 'host' is missing or empty"},
      {R"({"engine":"testdb","host":"h","password":"p"})", "field 'username' is missing or empty"},
      {R"({"engine":"testdb","host":"h","username":"u"})", "field 'password' is missing"},
      {R"({"engine":"testdb","host":"h","username":"u","password":5})",
       "field 'password' must be a string, not a number"},
      {R"({"engine":"testdb","host":"h","username":"u","password":"p","port":"x1"})",
       "field 'port' must be a number from 1 to 65535"},
      {R"({"engine":"testdb","host":"h","username":"u","password":"p","port":70000})",
       "field 'port' must be a number from 1 to 65535"},
      {R"({"engine":"testdb","host":"h","username":"u","password":"p","ssl":"maybe"})",
       "field 'ssl' must be true, false, \"true\" or \"false\""},
      {R"({"engine":"testdb","host":"h","username":"u","password":"p","rotationStrategy":"x"})",
       "the secret's rotationStrategy must be single-user or alternating-users, not 'x'"},
  };
  for (const auto& [value, expected] : cases) {
    FakeSecretsManager secrets;
    const std::string arn = secrets.AddSecret("db", value);
    secrets.StartRotation(arn, kToken);
    RotationHandler handler(secrets, engines_, RotationConfig{});
    Result<std::string> result = handler.Handle({arn, kToken, Step::kCreateSecret, std::nullopt},
                                                Deadline::After(std::chrono::seconds(5)));
    ASSERT_FALSE(result.ok()) << value;
    EXPECT_EQ(result.status().type(), "InvalidSecret") << value;
    EXPECT_NE(result.status().message().find(expected), std::string::npos)
        << value << " -> " << result.status().message();
    EXPECT_NE(result.status().message().find("the AWSCURRENT version of secret " + arn),
              std::string::npos);
    EXPECT_EQ(secrets.mutating_calls(), 0) << value;
    EXPECT_EQ(std::count(secrets.calls().begin(), secrets.calls().end(), "GetRandomPassword"), 0);
  }
}

TEST_F(RotationHandlerTest, SetSecretRefusesAPendingVersionForAnotherHostOrUser) {
  WriteDb({{"alice", "pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(
      secrets_
          .PutSecretValue({arn_, kToken, Secret(SecretJson("mallory", "x")), {"AWSPENDING"}, {}},
                          Deadline::After({}))
          .ok());
  Result<std::string> result = Run(Step::kSetSecret);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "CredentialsMismatch");
  EXPECT_EQ(Db().changes, 0);
  EXPECT_EQ(Db().users.count("mallory"), 0u);
}

TEST_F(RotationHandlerTest, SetSecretRecoversWithThePreviousPassword) {
  // A crash after an earlier finishSecret-less rotation: the database has the
  // password of AWSPREVIOUS, not AWSCURRENT.
  WriteDb({{"alice", "previous-pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "previous-pw"));
  const std::string second = "cccccccc-bbbb-cccc-dddd-eeeeeeeeeeee";
  ASSERT_TRUE(secrets_
                  .PutSecretValue(
                      {arn_, second, Secret(SecretJson("alice", "never-set")), {"AWSCURRENT"}, {}},
                      Deadline::After({}))
                  .ok());
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  Result<std::string> set = Run(Step::kSetSecret);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(Db().users["alice"], "Generated-Password-1");
}

TEST_F(RotationHandlerTest, SetSecretFailsWhenNoKnownPasswordLogsIn) {
  WriteDb({{"alice", "something-else"}});
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  Result<std::string> set = Run(Step::kSetSecret);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().type(), "DatabaseLoginFailed");
  EXPECT_EQ(Db().users["alice"], "something-else");
}

TEST_F(RotationHandlerTest, CreateSecretDoesNotOverwriteAnExistingPendingValue) {
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  const auto first = secrets_.ValueAt(arn_, aws::kAwsPending);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  EXPECT_EQ(secrets_.ValueAt(arn_, aws::kAwsPending), first);
  EXPECT_EQ(std::count(secrets_.calls().begin(), secrets_.calls().end(), "GetRandomPassword"), 1);
}

TEST_F(RotationHandlerTest, CreateSecretKeepsEveryOtherByteOfTheSecret) {
  const std::string extra =
      ",\n \"big\": 123456789012345678901234567890, \"min\": -9223372036854775809, \"f\": 0.10,"
      R"( "url": "https:\/\/h\/", "e": "\u00e9\u2028", "n": {"password": "inner"})";
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw", extra));
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  EXPECT_EQ(*secrets_.ValueAt(arn_, aws::kAwsPending),
            SecretJson("alice", "Generated-Password-1", extra));
}

TEST_F(RotationHandlerTest, CreateSecretStoresNothingWhenTheSecretCannotBeEditedExactly) {
  // Accepted when read (nlohmann reads 0e400 as 0), refused by the rewrite.
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw", R"(,"x":0e400)"));
  secrets_.StartRotation(arn_, kToken);
  Result<std::string> result = Run(Step::kCreateSecret);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "InvalidSecret");
  EXPECT_NE(result.status().message().find("the AWSCURRENT version of secret " + arn_ +
                                           " is not valid JSON"),
            std::string::npos)
      << result.status().message();
  EXPECT_EQ(secrets_.mutating_calls(), 0);
}

TEST_F(RotationHandlerTest, CreateSecretStopsOnAnUnexpectedErrorReadingPending) {
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  secrets_.StartRotation(arn_, kToken);
  // The first GetSecretValue (AWSCURRENT) passes; the pending read is denied.
  secrets_.FailNext("GetSecretValue", Status());
  secrets_.FailNext("GetSecretValue",
                    Status(StatusCode::kPermissionDenied, "AccessDeniedException", "denied"));
  Result<std::string> result = Run(Step::kCreateSecret);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "AccessDeniedException");
  EXPECT_EQ(secrets_.mutating_calls(), 0);
  EXPECT_EQ(std::count(secrets_.calls().begin(), secrets_.calls().end(), "GetRandomPassword"), 0);
}

TEST_F(RotationHandlerTest, FinishSecretSucceedsWhenAnEarlierAttemptAlreadyMovedTheLabel) {
  WriteDb({{"alice", "pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  ASSERT_TRUE(Run(Step::kSetSecret).ok());
  // The label moves, but the answer is lost on the way back.
  secrets_.LoseAnswerOfNext("UpdateSecretVersionStage");
  Result<std::string> result = Run(Step::kFinishSecret);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, "AWSCURRENT is already on this version");
  EXPECT_TRUE(
      secrets_.DescribeSecret(arn_, Deadline::After({}))->HasStage(kToken, aws::kAwsCurrent));
}

TEST_F(RotationHandlerTest, FinishSecretReportsAFailureThatDidNotMoveTheLabel) {
  WriteDb({{"alice", "pw"}});
  arn_ = secrets_.AddSecret("db", SecretJson("alice", "pw"));
  secrets_.StartRotation(arn_, kToken);
  ASSERT_TRUE(Run(Step::kCreateSecret).ok());
  ASSERT_TRUE(Run(Step::kSetSecret).ok());
  secrets_.FailNext("UpdateSecretVersionStage",
                    Status(StatusCode::kPermissionDenied, "AccessDeniedException", "denied"));
  Result<std::string> result = Run(Step::kFinishSecret);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "AccessDeniedException");
  EXPECT_TRUE(secrets_.DescribeSecret(arn_, Deadline::After({}))
                  ->HasStage(kFirstVersion, aws::kAwsCurrent));
}

}  // namespace
}  // namespace secret_rotator::handler
