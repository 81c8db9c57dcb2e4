#include "handler/secret_document.h"
#include "handler/rotation_handler.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "base/json.h"
#include "tests/support/file_database_strategy.h"

namespace secret_rotator::handler {
namespace {

strategies::StrategyRegistry Engines() {
  strategies::StrategyRegistry engines;
  testing::AddFileDatabaseEngine(engines);
  return engines;
}

Result<strategies::DbCredentials> Parse(const std::string& json) {
  Result<SecretDocument> document = SecretDocument::Parse(Secret(json), "the test secret");
  if (!document.ok()) return document.status();
  return document->Credentials(Engines());
}

TEST(SecretDocument, ReadsEveryField) {
  Result<strategies::DbCredentials> credentials = Parse(
      R"({"engine":"testdb","host":"h","port":"5433","username":"u","password":"p","dbname":"d","ssl":"TRUE"})");
  ASSERT_TRUE(credentials.ok()) << credentials.status().message();
  EXPECT_EQ(credentials->engine, "testdb");
  EXPECT_EQ(credentials->host, "h");
  EXPECT_EQ(credentials->port, 5433);
  EXPECT_EQ(credentials->username, "u");
  EXPECT_EQ(credentials->password.reveal(), "p");
  EXPECT_EQ(credentials->dbname, "d");
  EXPECT_EQ(credentials->ssl, true);
}

TEST(SecretDocument, DefaultsPortFromTheEngineAndLeavesOptionalFieldsUnset) {
  Result<strategies::DbCredentials> credentials =
      Parse(R"({"engine":"testdb","host":"h","username":"u","password":""})");
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->port, 1);
  EXPECT_TRUE(credentials->password.empty());
  EXPECT_FALSE(credentials->dbname.has_value());
  EXPECT_FALSE(credentials->ssl.has_value());
  EXPECT_EQ(
      Parse(R"({"engine":"testdb","host":"h","username":"u","password":"","ssl":false})")->ssl,
      false);
}

TEST(SecretDocument, ErrorsNameTheFieldAndNeverTheValue) {
  for (const std::string json :
       {R"({"engine":"testdb","host":"h","username":"u","password":["hunter2"]})",
        R"({"engine":"testdb","host":"h","username":"u","password":"hunter2","port":"hunter2"})",
        R"({"engine":"testdb","host":"h","username":"u","password":"hunter2","dbname":7})",
        R"({"engine":"testdb","host":"h","username":"u","password":"hunter2"  "x":1})"}) {
    Result<strategies::DbCredentials> credentials = Parse(json);
    ASSERT_FALSE(credentials.ok()) << json;
    EXPECT_EQ(credentials.status().type(), "InvalidSecret");
    EXPECT_EQ(credentials.status().message().find("hunter2"), std::string::npos)
        << credentials.status().message();
    EXPECT_EQ(credentials.status().message().rfind("the test secret", 0), 0u);
  }
}

TEST(SecretDocument, WithCredentialsChangesOnlyThePasswordAndUsernameBytes) {
  struct Case {
    const char* name;
    std::string before;
    std::optional<std::string> username;
    std::string after;
  };
  const std::vector<Case> cases = {
      {"single user",
       R"({"engine":"testdb","host":"h","username":"u","password":"old","port":3306,)"
       R"("big":123456789012345678901234567890,"f":0.10,"url":"a\/b","e":"\u00e9"})",
       std::nullopt,
       R"({"engine":"testdb","host":"h","username":"u","password":"new","port":3306,)"
       R"("big":123456789012345678901234567890,"f":0.10,"url":"a\/b","e":"\u00e9"})"},
      {"alternating users",
       "{ \"password\": \"old\",\n  \"engine\":\"testdb\", \"host\":\"h\", \"username\":\"u\",\n"
       "  \"min\": -9223372036854775809, \"n\": {\"password\": \"kept\"} }\n",
       "u_clone",
       "{ \"password\": \"new\",\n  \"engine\":\"testdb\", \"host\":\"h\", "
       "\"username\":\"u_clone\",\n"
       "  \"min\": -9223372036854775809, \"n\": {\"password\": \"kept\"} }\n"},
  };
  for (const Case& c : cases) {
    Result<SecretDocument> document = SecretDocument::Parse(Secret(c.before), "s");
    ASSERT_TRUE(document.ok()) << c.name << ": " << document.status().message();
    Result<Secret> after = document->WithCredentials(Secret(std::string("new")), c.username);
    ASSERT_TRUE(after.ok()) << c.name << ": " << after.status().message();
    EXPECT_EQ(after->reveal(), c.after) << c.name;
  }
}

TEST(SecretDocument, WithCredentialsRefusesATextItCannotEditExactly) {
  // nlohmann reads 0e400 as 0; RapidJSON, which finds the bytes to replace,
  // refuses an exponent beyond double's range.
  Result<SecretDocument> document = SecretDocument::Parse(
      Secret(std::string(R"({"engine":"testdb","host":"h","username":"u","password":"hunter2",)"
                         R"("x":0e400})")),
      "the test secret");
  ASSERT_TRUE(document.ok());
  Result<Secret> after = document->WithCredentials(Secret(std::string("new")), std::nullopt);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().type(), "InvalidSecret");
  EXPECT_EQ(after.status().message().rfind("the test secret is not valid JSON (at byte ", 0), 0u)
      << after.status().message();
  EXPECT_EQ(after.status().message().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace secret_rotator::handler
