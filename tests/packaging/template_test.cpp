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

// Every KMS grant is bound to the secrets it is for: Secrets Manager encrypts
// each version under the encryption context SecretARN=<the secret's ARN>.
TEST(Template, KmsGrantsAreBoundToTheSecretsByEncryptionContext) {
  const std::string text = Template();
  const std::regex kms_statement(
      R"(- Sid: (\w+)\n\s+Effect: Allow\n\s+Action:(?:\s*-?\s*kms:\w+)+\n\s+Resource: !Ref (\w+)\n\s+)"
      R"(Condition:\n\s+String(?:Equals|Like):\n\s+kms:EncryptionContext:SecretARN: )");
  std::set<std::string> keys;
  for (auto match = std::sregex_iterator(text.begin(), text.end(), kms_statement);
       match != std::sregex_iterator(); ++match) {
    keys.insert((*match)[2]);
  }
  EXPECT_EQ(keys, (std::set<std::string>{"KmsKeyArn", "MasterSecretKmsKeyArn"}));
  const std::regex any_kms_action(R"(kms:(Decrypt|GenerateDataKey|DescribeKey|Encrypt)\b)");
  EXPECT_EQ(std::distance(std::sregex_iterator(text.begin(), text.end(), any_kms_action),
                          std::sregex_iterator()),
            3)
      << "KmsKeyArn: Decrypt and GenerateDataKey; MasterSecretKmsKeyArn: Decrypt";
}

TEST(Template, OnlyTheNamedSecretsRotationMayInvokeTheFunction) {
  const std::string text = Template();
  EXPECT_NE(text.find("SourceArn: !If [HasSecret, !Ref SecretArn, !Ref AWS::NoValue]"),
            std::string::npos);
}

TEST(Template, RotationsThatFailOutsideTheFunctionReachTheAlarmTopic) {
  const std::string text = Template();
  for (const char* part :
       {"source: [aws.secretsmanager]", "detail-type: [AWS Service Event via CloudTrail]",
        "eventSource: [secretsmanager.amazonaws.com]",
        "eventName: [RotationFailed, RotationAbandoned]", "Arn: !Ref RotationAlarmTopic",
        "Principal: { Service: events.amazonaws.com }",
        "aws:SourceArn: !GetAtt RotationEventsRule.Arn",
        "Principal: { Service: cloudwatch.amazonaws.com }",
        "aws:SourceArn: !GetAtt RotationErrorsAlarm.Arn"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part;
  }
}

TEST(Template, AlternatingUsersRequireTheAdminSecret) {
  const std::string text = Template();
  EXPECT_NE(text.find("    RuleCondition: !Equals [!Ref RotationStrategy, alternating-users]\n"
                      "    Assertions:\n"
                      "      - Assert: !Not [!Equals [!Ref MasterSecretArn, \"\"]]"),
            std::string::npos);
}

TEST(Template, LogsAreKeptForTheRetentionAndTheEndpointCanBeChosen) {
  const std::string text = Template();
  EXPECT_NE(text.find("RetentionInDays: !Ref LogRetentionDays"), std::string::npos);
  EXPECT_NE(text.find("LogGroup: !Ref RotationFunctionLogGroup"), std::string::npos);
  EXPECT_NE(text.find("SECRETS_MANAGER_ENDPOINT: !If\n"
                      "            - HasSecretsManagerEndpoint\n"
                      "            - !Ref SecretsManagerEndpoint"),
            std::string::npos);
}

}  // namespace
}  // namespace secret_rotator
