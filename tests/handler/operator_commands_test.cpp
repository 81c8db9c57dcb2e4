// The operators' commands and the step metrics against an in-memory Secrets
// Manager and the file-backed test engine, and the pure decisions they share
// with every engine.
#include "handler/operator_commands.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/log.h"
#include "handler/rotation_handler.h"
#include "handler/step_metrics.h"
#include "tests/handler/file_database_fixture.h"
#include "tests/support/emf.h"

namespace secret_rotator::handler {
namespace {

constexpr char kToken[] = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- EMF records ----

TEST(StepMetrics, RecordHasEveryMemberEmfRequires) {
  StepMetric metric;
  metric.engine = "mariadb";
  metric.strategy = "single-user";
  metric.step = "setSecret";
  metric.duration = std::chrono::milliseconds(42);
  metric.success = true;
  const std::string line = EmfRecord(metric, std::chrono::system_clock::now());
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one record, one line";
  EXPECT_EQ(testing::EmfProblems(line), std::vector<std::string>{}) << line;
  const JsonValue record = ParseJson(line, "record", "Test").value();
  const JsonValue& directive = record["_aws"]["CloudWatchMetrics"][0];
  EXPECT_EQ(directive["Namespace"], "secret-rotator");
  EXPECT_EQ(directive["Dimensions"], JsonValue::parse(R"([["engine","strategy","step"]])"));
  EXPECT_EQ(record["engine"], "mariadb");
  EXPECT_EQ(record["strategy"], "single-user");
  EXPECT_EQ(record["step"], "setSecret");
  EXPECT_EQ(record["Duration"], 42);
  EXPECT_EQ(record["Success"], 1);
  EXPECT_FALSE(record.contains("errorType"));
}

TEST(StepMetrics, FailureCarriesItsErrorTypeAsAProperty) {
  StepMetric metric;
  metric.step = "createSecret";
  metric.success = false;
  metric.error_type = "DatabaseTlsError";
  const std::string line = EmfRecord(metric, std::chrono::system_clock::now());
  EXPECT_EQ(testing::EmfProblems(line), std::vector<std::string>{}) << line;
  const JsonValue record = ParseJson(line, "record", "Test").value();
  EXPECT_EQ(record["Success"], 0);
  EXPECT_EQ(record["errorType"], "DatabaseTlsError");
  EXPECT_EQ(record["engine"], "unknown");
  for (const JsonValue& dimension : record["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) {
    EXPECT_NE(dimension, "errorType") << "an error type is not a dimension";
  }
}

TEST(StepMetrics, TheCheckerCatchesWhatEmfForbids) {
  EXPECT_FALSE(testing::EmfProblems("not json").empty());
  EXPECT_FALSE(testing::EmfProblems(R"({"_aws":{"CloudWatchMetrics":[]}})").empty());
  EXPECT_FALSE(testing::EmfProblems(
                   R"({"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"n",)"
                   R"("Dimensions":[["step"]],"Metrics":[{"Name":"Duration"}]}]},"Duration":1})")
                   .empty())
      << "a dimension without its member";
  EXPECT_FALSE(
      testing::EmfProblems(
          R"({"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"n",)"
          R"("Dimensions":[],"Metrics":[{"Name":"Duration","Unit":"ms"}]}]},"Duration":1})")
          .empty())
      << "an unknown unit";
}

// ---- Decisions shared by every engine ----

TEST(OperatorDecisions, RepairOnlyWhenNoWorkingPasswordIsLost) {
  struct Case {
    LoginState pending;
    LoginState current;
    bool remove;
  };
  const Case cases[] = {
      {LoginState::kRefused, LoginState::kLogsIn, true},
      {LoginState::kRefused, LoginState::kRefused, true},
      {LoginState::kRefused, LoginState::kUnknown, true},
      {LoginState::kLogsIn, LoginState::kLogsIn, true},
      {LoginState::kUnknown, LoginState::kLogsIn, true},
      {LoginState::kLogsIn, LoginState::kRefused, false},
      {LoginState::kLogsIn, LoginState::kUnknown, false},
      {LoginState::kUnknown, LoginState::kRefused, false},
      {LoginState::kUnknown, LoginState::kUnknown, false},
  };
  for (const Case& c : cases) {
    const RepairDecision decision = DecideRepair(c.pending, c.current);
    EXPECT_EQ(decision.remove, c.remove)
        << static_cast<int>(c.pending) << "/" << static_cast<int>(c.current);
    EXPECT_FALSE(decision.reason.empty());
  }
}

// One policy, both engines: the facts each engine reports lead to the same
// decisions.
TEST(OperatorDecisions, PrivilegePolicyIsTheSameForEveryEngine) {
  struct Case {
    const char* what;
    strategies::UserFacts user;
    strategies::AdminFacts admin;
    std::vector<std::string> missing;
  };
  auto user = [](std::vector<std::string> privileges) {
    strategies::UserFacts facts;
    facts.privileges = std::move(privileges);
    return facts;
  };
  auto admin = [](bool everything, std::vector<std::string> grantable) {
    strategies::AdminFacts facts;
    facts.can_create_users = true;
    facts.grants_everything = everything;
    facts.grantable = std::move(grantable);
    return facts;
  };
  const Case cases[] = {
      {"mysql: admin grants all",
       user({"INSERT", "SELECT"}),
       admin(false, {"INSERT", "SELECT", "UPDATE"}),
       {}},
      {"mysql: admin lacks INSERT",
       user({"INSERT", "SELECT"}),
       admin(false, {"SELECT"}),
       {"INSERT"}},
      {"mysql: user without privileges", user({}), admin(false, {}), {}},
      {"postgres: superuser admin", user({"SUPERUSER"}), admin(true, {}), {}},
      {"postgres: CREATEROLE admin, superuser user",
       user({"SUPERUSER"}),
       admin(false, {}),
       {"SUPERUSER"}},
      {"postgres: CREATEROLE admin, plain user", user({}), admin(false, {}), {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PrivilegesAdminCannotGrant(c.user, c.admin), c.missing) << c.what;
  }
}

TEST(OperatorDecisions, OwnPasswordAndNameLength) {
  strategies::UserFacts facts;
  EXPECT_FALSE(OwnPasswordBlocker(facts).has_value());
  for (const char* reason :
       {"the server's read_only is on", "the server is a standby (in recovery)"}) {
    facts.read_only = true;
    facts.read_only_reason = reason;
    facts.may_bypass_read_only = false;
    ASSERT_TRUE(OwnPasswordBlocker(facts).has_value());
    EXPECT_TRUE(Contains(*OwnPasswordBlocker(facts), reason));
    facts.may_bypass_read_only = true;
    EXPECT_FALSE(OwnPasswordBlocker(facts).has_value());
  }
  facts.next_name_length = 80;
  facts.max_name_length = 80;
  EXPECT_TRUE(NextNameFits(facts));
  facts.next_name_length = 81;
  EXPECT_FALSE(NextNameFits(facts));
}

TEST(OperatorDecisions, UnfinishedPendingIsAPendingVersionThatIsNotCurrent) {
  aws::SecretDescription description;
  description.version_stages = {{"v1", {"AWSCURRENT", "AWSPENDING"}}, {"v0", {"AWSPREVIOUS"}}};
  EXPECT_FALSE(UnfinishedPendingVersion(description).has_value());
  description.version_stages = {{"v1", {"AWSCURRENT"}}, {"v2", {"AWSPENDING"}}};
  EXPECT_EQ(UnfinishedPendingVersion(description), "v2");
}

TEST(OperatorDecisions, TokensAreVersion4Uuids) {
  const std::string token = NewClientRequestToken();
  ASSERT_EQ(token.size(), 36U);
  EXPECT_EQ(token[8], '-');
  EXPECT_EQ(token[14], '4');
  EXPECT_NE(std::string("89ab").find(token[19]), std::string::npos);
  EXPECT_NE(token, NewClientRequestToken());
}

// ---- Commands through the handler, with fakes ----

class OperatorCommandsTest : public testing::FileDatabaseFixture {
 protected:
  static Deadline Soon() { return Deadline::After(std::chrono::seconds(5)); }
};

TEST_F(OperatorCommandsTest, EachStepWritesOneValidMetricRecord) {
  WriteDb({{"alice", "old-pw"}});
  const std::string arn = secrets_.AddSecret("db", SecretJson("alice", "old-pw"));
  secrets_.StartRotation(arn, kToken);
  RotationHandler handler(secrets_, engines_, {});
  for (const char* step : {"createSecret", "setSecret", "testSecret", "finishSecret"}) {
    const std::string payload = R"({"SecretId":")" + arn + R"(","ClientRequestToken":")" + kToken +
                                R"(","Step":")" + step + "\"}";
    ASSERT_TRUE(handler.HandlePayload(payload, Soon(), "req-1").ok()) << step;
  }
  ASSERT_FALSE(handler.HandlePayload(R"({"SecretId":1})", Soon(), "req-2").ok());
  const std::vector<JsonValue> records = testing::EmfRecords(Log());
  ASSERT_EQ(records.size(), 5U) << Log();
  const char* steps[] = {"createSecret", "setSecret", "testSecret", "finishSecret", "unknown"};
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(testing::EmfProblems(records[i].dump()), std::vector<std::string>{});
    EXPECT_EQ(records[i]["step"], steps[i]);
    if (i < 4) {
      EXPECT_EQ(records[i]["engine"], "testdb");
      EXPECT_EQ(records[i]["strategy"], "single-user");
      EXPECT_EQ(records[i]["Success"], 1);
    } else {
      EXPECT_EQ(records[i]["Success"], 0);
      EXPECT_EQ(records[i]["errorType"], "InvalidEvent");
    }
  }
  EXPECT_FALSE(Contains(Log(), "old-pw"));
  EXPECT_FALSE(Contains(Log(), "Generated-Password-1"));
}

TEST_F(OperatorCommandsTest, ManualRotationIsExplicit) {
  WriteDb({{"alice", "old-pw"}});
  const std::string arn = secrets_.AddSecret("db", SecretJson("alice", "old-pw"));
  secrets_.Get(arn).rotation_enabled = false;
  RotationHandler handler(secrets_, engines_, {});
  // A Lambda event with a token that is no version is refused, as before.
  EXPECT_FALSE(handler.Handle({arn, kToken, Step::kCreateSecret, std::nullopt}, Soon()).ok());
  EXPECT_EQ(secrets_.mutating_calls(), 0);

  OperatorCommands commands(secrets_, engines_, handler);
  Result<RotateReport> report = commands.Rotate(arn, Soon(), "manual-1");
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_TRUE(report->Succeeded()) << Log();
  EXPECT_EQ(Db().users["alice"], "Generated-Password-1");
  const aws::SecretDescription description = secrets_.DescribeSecret(arn, Soon()).value();
  EXPECT_TRUE(description.HasStage(report->token, aws::kAwsCurrent));
  EXPECT_EQ(testing::EmfRecords(Log()).size(), 4U);
}

TEST_F(OperatorCommandsTest, RotateRefusesWhileARotationIsInProgress) {
  WriteDb({{"alice", "old-pw"}});
  const std::string arn = secrets_.AddSecret("db", SecretJson("alice", "old-pw"));
  secrets_.StartRotation(arn, kToken);
  RotationHandler handler(secrets_, engines_, {});
  OperatorCommands commands(secrets_, engines_, handler);
  secrets_.ClearCalls();
  Result<RotateReport> report = commands.Rotate(arn, Soon(), "manual-1");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().type(), "RotationInProgress");
  EXPECT_EQ(secrets_.mutating_calls(), 0);
}

TEST_F(OperatorCommandsTest, RepairRemovesAPendingLabelTheDatabaseNeverGot) {
  WriteDb({{"alice", "old-pw"}});
  const std::string arn = secrets_.AddSecret("db", SecretJson("alice", "old-pw"));
  secrets_.StartRotation(arn, kToken);
  RotationHandler handler(secrets_, engines_, {});
  ASSERT_TRUE(handler.Handle({arn, kToken, Step::kCreateSecret, std::nullopt}, Soon()).ok());
  OperatorCommands commands(secrets_, engines_, handler);

  Result<StatusReport> status = commands.SecretStatus(arn, false, Soon());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->unfinished_pending, kToken);

  Result<StatusReport> repaired = commands.SecretStatus(arn, true, Soon());
  ASSERT_TRUE(repaired.ok()) << repaired.status().message();
  EXPECT_FALSE(repaired->repair_refused);
  const aws::SecretDescription after = secrets_.DescribeSecret(arn, Soon()).value();
  EXPECT_FALSE(UnfinishedPendingVersion(after).has_value());
  EXPECT_EQ(Db().users["alice"], "old-pw");
}

TEST_F(OperatorCommandsTest, RepairRefusesWhenOnlyThePendingPasswordWorks) {
  WriteDb({{"alice", "old-pw"}});
  const std::string arn = secrets_.AddSecret("db", SecretJson("alice", "old-pw"));
  secrets_.StartRotation(arn, kToken);
  RotationHandler handler(secrets_, engines_, {});
  ASSERT_TRUE(handler.Handle({arn, kToken, Step::kCreateSecret, std::nullopt}, Soon()).ok());
  ASSERT_TRUE(handler.Handle({arn, kToken, Step::kSetSecret, std::nullopt}, Soon()).ok());
  OperatorCommands commands(secrets_, engines_, handler);
  secrets_.ClearCalls();
  Result<StatusReport> repaired = commands.SecretStatus(arn, true, Soon());
  ASSERT_TRUE(repaired.ok()) << repaired.status().message();
  EXPECT_TRUE(repaired->repair_refused);
  EXPECT_EQ(secrets_.mutating_calls(), 0);
  ASSERT_FALSE(repaired->not_done.empty());
  EXPECT_TRUE(Contains(repaired->not_done[0], "did not remove AWSPENDING"));
  EXPECT_EQ(UnfinishedPendingVersion(secrets_.DescribeSecret(arn, Soon()).value()), kToken);
}

}  // namespace
}  // namespace secret_rotator::handler
