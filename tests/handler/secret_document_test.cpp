#include "handler/secret_document.h"
#include "handler/rotation_handler.h"

#include <gtest/gtest.h>

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

TEST(SecretDocument, WithCredentialsKeepsEveryOtherFieldAsItIs) {
  const std::string original =
      R"({"engine":"testdb","host":"h","username":"u","password":"old","port":"3306",)"
      R"("nested":{"a":[1,2.5,"x"]},"ünïcode":"välue","big":12345678901234})";
  Result<SecretDocument> document = SecretDocument::Parse(Secret(original), "s");
  ASSERT_TRUE(document.ok());
  const Secret serialized =
      document->WithCredentials(Secret(std::string("new")), std::string("u_clone")).Serialize();
  JsonValue before = ParseJson(original, "x", "T").value();
  const JsonValue after = ParseJson(serialized.reveal(), "x", "T").value();
  EXPECT_EQ(after["password"].get<std::string>(), "new");
  EXPECT_EQ(after["username"].get<std::string>(), "u_clone");
  before["password"] = "new";
  before["username"] = "u_clone";
  EXPECT_EQ(before, after);
}

}  // namespace
}  // namespace secret_rotator::handler
