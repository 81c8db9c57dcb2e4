// Event validation: each bad event is refused with its exact error, before any
// call to Secrets Manager or a database.
#include "handler/event.h"

#include <gtest/gtest.h>

#include "base/log.h"
#include "handler/rotation_handler.h"
#include "tests/support/fake_secrets_manager.h"
#include "tests/support/file_database_strategy.h"

namespace secret_rotator::handler {
namespace {

constexpr char kToken[] = "11111111-2222-3333-4444-555555555555";

struct BadEvent {
  const char* name;
  std::string payload;
  std::string error;
};

// GoogleTest prints the case by name rather than as raw bytes.
void PrintTo(const BadEvent& bad, std::ostream* out) { *out << bad.name; }

std::string Event(const std::string& secret_id, const std::string& token, const std::string& step) {
  return "{\"SecretId\":" + secret_id + ",\"ClientRequestToken\":" + token + ",\"Step\":" + step +
         "}";
}

const std::string kId = "\"my-secret\"";
const std::string kTok = std::string("\"") + kToken + "\"";
const std::string kStep = "\"createSecret\"";

std::vector<BadEvent> BadEvents() {
  return {
      {"Empty", "", "the event is not valid JSON (at byte 1)"},
      {"NotJson", "createSecret", "the event is not valid JSON (at byte 1)"},
      {"TruncatedJson", "{\"SecretId\":", "the event is not valid JSON (at byte 13)"},
      {"TrailingText", Event(kId, kTok, kStep) + " x", "the event is not valid JSON (at byte 108)"},
      {"Comment", "// c\n" + Event(kId, kTok, kStep), "the event is not valid JSON (at byte 1)"},
      {"DuplicateKey", "{\"SecretId\":\"a\",\"SecretId\":\"b\"}",
       "the event is not valid JSON (a key appears twice in one object)"},
      {"DeeplyNested", std::string(100, '[') + std::string(100, ']'),
       "the event is not valid JSON (nested deeper than 64 levels)"},
      {"InvalidUtf8", "{\"SecretId\":\"\xff\"}", "the event is not valid JSON (at byte 14)"},
      {"Null", "null", "the event must be a JSON object, not null"},
      {"Array", "[]", "the event must be a JSON object, not an array"},
      {"String", "\"createSecret\"", "the event must be a JSON object, not a string"},
      {"Number", "42", "the event must be a JSON object, not a number"},
      {"EmptyObject", "{}", "the event has no SecretId"},
      {"SecretIdMissing", "{\"ClientRequestToken\":" + kTok + ",\"Step\":" + kStep + "}",
       "the event has no SecretId"},
      {"SecretIdNumber", Event("7", kTok, kStep), "SecretId must be a string, not a number"},
      {"SecretIdNull", Event("null", kTok, kStep), "SecretId must be a string, not null"},
      {"SecretIdArray", Event("[\"a\"]", kTok, kStep), "SecretId must be a string, not an array"},
      {"SecretIdObject", Event("{}", kTok, kStep), "SecretId must be a string, not an object"},
      {"SecretIdEmpty", Event("\"\"", kTok, kStep),
       "SecretId must be 1 to 2048 characters long, not 0"},
      {"SecretIdTooLong", Event("\"" + std::string(2049, 'a') + "\"", kTok, kStep),
       "SecretId must be 1 to 2048 characters long, not 2049"},
      {"SecretIdControlCharacter", Event("\"a\\nb\"", kTok, kStep),
       "SecretId must not contain control characters"},
      {"TokenMissing", "{\"SecretId\":" + kId + ",\"Step\":" + kStep + "}",
       "the event has no ClientRequestToken"},
      {"TokenNumber", Event(kId, "123", kStep),
       "ClientRequestToken must be a string, not a number"},
      {"TokenBoolean", Event(kId, "true", kStep),
       "ClientRequestToken must be a string, not a boolean"},
      {"TokenEmpty", Event(kId, "\"\"", kStep),
       "ClientRequestToken must be 32 to 64 characters long, not 0"},
      {"TokenTooShort", Event(kId, "\"abc\"", kStep),
       "ClientRequestToken must be 32 to 64 characters long, not 3"},
      {"TokenTooLong", Event(kId, "\"" + std::string(65, 'a') + "\"", kStep),
       "ClientRequestToken must be 32 to 64 characters long, not 65"},
      {"TokenWithSpace", Event(kId, "\"11111111 2222-3333-4444-555555555555\"", kStep),
       "ClientRequestToken must be printable ASCII without spaces"},
      {"StepMissing", "{\"SecretId\":" + kId + ",\"ClientRequestToken\":" + kTok + "}",
       "the event has no Step"},
      {"StepNumber", Event(kId, kTok, "1"), "Step must be a string, not a number"},
      {"StepUnknown", Event(kId, kTok, "\"deleteSecret\""),
       "Step must be createSecret, setSecret, testSecret or finishSecret, not 'deleteSecret'"},
      {"StepWrongCase", Event(kId, kTok, "\"CreateSecret\""),
       "Step must be createSecret, setSecret, testSecret or finishSecret, not 'CreateSecret'"},
      {"StepEmpty", Event(kId, kTok, "\"\""),
       "Step must be createSecret, setSecret, testSecret or finishSecret, not ''"},
      {"StepUnprintable", Event(kId, kTok, "\"\\u0007\""),
       "Step must be createSecret, setSecret, testSecret or finishSecret, not '(unprintable)'"},
      {"RotationTokenNumber",
       "{\"SecretId\":" + kId + ",\"ClientRequestToken\":" + kTok + ",\"Step\":" + kStep +
           ",\"RotationToken\":5}",
       "RotationToken must be a string, not a number"},
      {"RotationTokenEmpty",
       "{\"SecretId\":" + kId + ",\"ClientRequestToken\":" + kTok + ",\"Step\":" + kStep +
           ",\"RotationToken\":\"\"}",
       "RotationToken must be 1 to 4096 characters long, not 0"},
      {"Oversized", Event(kId, kTok, kStep) + std::string(kMaxEventBytes, ' '),
       "the event is 16490 bytes; at most 16384 are accepted"},
  };
}

class BadEventTest : public ::testing::TestWithParam<BadEvent> {
 protected:
  void SetUp() override {
    ConfigureLogging({}, [](std::string_view) {});
  }
  void TearDown() override { ConfigureLogging({}); }
};

TEST_P(BadEventTest, IsRefusedWithItsErrorAndNothingIsCalled) {
  const BadEvent& bad = GetParam();
  testing::FakeSecretsManager secrets;
  secrets.AddSecret("my-secret",
                    R"({"engine":"testdb","host":"/nonexistent","username":"u","password":"p"})");
  strategies::StrategyRegistry engines;
  testing::AddFileDatabaseEngine(engines);
  RotationHandler handler(secrets, engines, RotationConfig{});

  Result<std::string> result =
      handler.HandlePayload(bad.payload, Deadline::After(std::chrono::seconds(5)), "request-1");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().type(), "InvalidEvent");
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(), bad.error);
  EXPECT_TRUE(secrets.calls().empty()) << "a call was made for a bad event";
}

INSTANTIATE_TEST_SUITE_P(Table, BadEventTest, ::testing::ValuesIn(BadEvents()),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(EventTable, HasAtLeastTwentyFiveCases) { EXPECT_GE(BadEvents().size(), 25u); }

TEST(ParseRotationEvent, AcceptsAValidEventWithExtraFields) {
  Result<RotationEvent> event = ParseRotationEvent(
      std::string("{\"SecretId\":\"arn:aws:secretsmanager:us-east-1:1:secret:x\","
                  "\"ClientRequestToken\":\"") +
      kToken + "\",\"Step\":\"finishSecret\",\"RotationToken\":\"rt-1\",\"Extra\":1}");
  ASSERT_TRUE(event.ok()) << event.status().message();
  EXPECT_EQ(event->secret_id, "arn:aws:secretsmanager:us-east-1:1:secret:x");
  EXPECT_EQ(event->client_request_token, kToken);
  EXPECT_EQ(event->step, Step::kFinishSecret);
  EXPECT_EQ(event->rotation_token, "rt-1");
}

TEST(ParseRotationEvent, AcceptsEveryStepName) {
  for (Step step :
       {Step::kCreateSecret, Step::kSetSecret, Step::kTestSecret, Step::kFinishSecret}) {
    Result<RotationEvent> event =
        ParseRotationEvent(Event(kId, kTok, "\"" + std::string(StepName(step)) + "\""));
    ASSERT_TRUE(event.ok()) << event.status().message();
    EXPECT_EQ(event->step, step);
    EXPECT_FALSE(event->rotation_token.has_value());
  }
}

}  // namespace
}  // namespace secret_rotator::handler
