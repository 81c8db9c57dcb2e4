// template.yaml grants exactly the Secrets Manager operations the client
// implements: no more (least privilege), no fewer (a rotation would fail with
// AccessDenied in AWS, which no local test would notice).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

#include "aws/rds.h"
#include "aws/secrets_manager.h"

namespace secret_rotator {
namespace {

std::string Template() {
  std::ifstream file(std::string(SOURCE_DIR) + "/template.yaml");
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

TEST(Template, GrantsExactlyTheSecretsManagerOperationsTheClientCalls) {
  const std::string text = Template();
  ASSERT_FALSE(text.empty());
  std::set<std::string> granted;
  const std::regex action(R"(secretsmanager:([A-Z][A-Za-z]+))");
  for (auto match = std::sregex_iterator(text.begin(), text.end(), action);
       match != std::sregex_iterator(); ++match) {
    granted.insert((*match)[1]);
  }
  const std::vector<std::string>& operations = aws::SecretsManagerOperations();
  EXPECT_EQ(granted, std::set<std::string>(operations.begin(), operations.end()));
}

TEST(Template, GrantsExactlyTheRdsOperationsTheClientCalls) {
  const std::string text = Template();
  std::set<std::string> granted;
  const std::regex action(R"(rds:([A-Z][A-Za-z]+))");
  for (auto match = std::sregex_iterator(text.begin(), text.end(), action);
       match != std::sregex_iterator(); ++match) {
    granted.insert((*match)[1]);
  }
  const std::vector<std::string>& operations = aws::RdsOperations();
  EXPECT_EQ(granted, std::set<std::string>(operations.begin(), operations.end()));
}

TEST(Template, OnlyGetRandomPasswordIsGrantedOnEverySecretUnconditionally) {
  const std::string text = Template();
  // The one unconditional "*" statement is the password generator, which
  // has no resource to scope it to.
  const std::regex star_statement(
      R"(- Sid: (\w+)\n\s+Effect: Allow\n\s+Action:\s*([^\n]+)\n\s+Resource: "\*"\n(\s+Condition:)?)");
  int unconditional = 0;
  for (auto match = std::sregex_iterator(text.begin(), text.end(), star_statement);
       match != std::sregex_iterator(); ++match) {
    if ((*match)[3].matched) continue;
    ++unconditional;
    EXPECT_EQ((*match)[2], "secretsmanager:GetRandomPassword") << (*match)[1];
  }
  EXPECT_EQ(unconditional, 1);
}

TEST(Template, UsesTheCustomRuntimeAndTheBootstrapHandler) {
  const std::string text = Template();
  EXPECT_NE(text.find("Runtime: provided.al2023"), std::string::npos);
  EXPECT_NE(text.find("Handler: bootstrap"), std::string::npos);
  EXPECT_NE(text.find("BuildMethod: makefile"), std::string::npos);
  EXPECT_NE(text.find("Principal: secretsmanager.amazonaws.com"), std::string::npos);
  EXPECT_NE(text.find("SourceAccount: !Ref AWS::AccountId"), std::string::npos);
}

}  // namespace
}  // namespace secret_rotator
