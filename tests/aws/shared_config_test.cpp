// Reading the AWS shared config and credentials files as the AWS CLI does.
#include "aws/shared_config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace secret_rotator::aws {
namespace {

std::string Value(const std::optional<ProfileSettings>& settings, const std::string& key) {
  if (!settings) return "(no profile)";
  return SettingText(*settings, key).value_or("(unset)");
}

TEST(FindProfile, ConfigFileSectionsSayProfileAndCredentialsFileSectionsDoNot) {
  const std::string text =
      "[default]\nregion = eu-west-1\n"
      "[profile ops]\nregion = us-east-2\n"
      "[ops]\nregion = not-this-one\n"
      "[sso-session corp]\nregion = ap-south-1\n";
  EXPECT_EQ(Value(FindProfile(text, SharedFileKind::kConfig, "default"), "region"), "eu-west-1");
  EXPECT_EQ(Value(FindProfile(text, SharedFileKind::kConfig, "ops"), "region"), "us-east-2");
  EXPECT_FALSE(FindProfile(text, SharedFileKind::kConfig, "corp"));
  EXPECT_FALSE(FindProfile(text, SharedFileKind::kConfig, "missing"));
  // In a credentials file the section name is the profile name.
  EXPECT_EQ(Value(FindProfile(text, SharedFileKind::kCredentials, "ops"), "region"),
            "not-this-one");
  EXPECT_TRUE(FindProfile(text, SharedFileKind::kCredentials, "profile ops"));  // a literal name
  EXPECT_FALSE(FindProfile(text, SharedFileKind::kCredentials, "corp"));
}

TEST(FindProfile, ReadsTheFileAsConfigparserDoes) {
  const std::string text =
      "# a comment\n"
      "; another\n"
      "[profile \"two words\"]\n"
      "Region: us-west-2\n"
      "[profile ops]  \n"
      "aws_access_key_id=AKID\n"
      "credential_process = /bin/helper --url=https://x:1/ \n"
      "s3 =\n"
      "  region = nested-not-a-key\n"
      "  max_concurrent_requests = 10\n"
      "output = json\n"
      "output = text\n"
      "[profileops]\n"
      "output = yaml\n";
  EXPECT_EQ(Value(FindProfile(text, SharedFileKind::kConfig, "two words"), "region"), "us-west-2");
  const std::optional<ProfileSettings> ops = FindProfile(text, SharedFileKind::kConfig, "ops");
  ASSERT_TRUE(ops);
  EXPECT_EQ(Value(ops, "aws_access_key_id"), "AKID");
  // Split at the first '=' or ':', whichever comes first.
  EXPECT_EQ(Value(ops, "credential_process"), "/bin/helper --url=https://x:1/");
  // Indented lines continue the value above them; they are not keys.
  EXPECT_EQ(Value(ops, "region"), "(unset)");
  EXPECT_EQ(Value(ops, "s3"), "\nregion = nested-not-a-key\nmax_concurrent_requests = 10");
  EXPECT_EQ(Value(ops, "output"), "text");
}

TEST(FindProfile, AnEmptySectionIsAProfileWithNoSettings) {
  const std::optional<ProfileSettings> empty =
      FindProfile("[profile empty]\n\n[other]\n", SharedFileKind::kConfig, "empty");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SplitCommandLine, SplitsAsPosixShellWordsWithoutExpansion) {
  struct Case {
    std::string command;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {"/bin/helper", {"/bin/helper"}},
      {"  helper   a\tb  ", {"helper", "a", "b"}},
      {"helper 'a b' \"c d\"", {"helper", "a b", "c d"}},
      {R"(helper "a\"b" "c\\d" "e\f")", {"helper", "a\"b", "c\\d", "e\\f"}},
      {R"(helper 'no \escape' a\ b \$HOME)", {"helper", "no \\escape", "a b", "$HOME"}},
      {"helper $HOME ; rm -rf / `x` $(y)",
       {"helper", "$HOME", ";", "rm", "-rf", "/", "`x`", "$(y)"}},
      {"helper a'b'\"c\"d", {"helper", "abcd"}},
      {"helper ''", {"helper", ""}},
      {"", {}},
  };
  for (const Case& c : cases) {
    Result<std::vector<std::string>> words = SplitCommandLine(c.command);
    ASSERT_TRUE(words.ok()) << c.command << ": " << words.status().message();
    EXPECT_EQ(*words, c.words) << c.command;
  }
  for (const char* bad : {"helper 'open", "helper \"open", "helper \\"}) {
    Result<std::vector<std::string>> words = SplitCommandLine(bad);
    ASSERT_FALSE(words.ok()) << bad;
    EXPECT_EQ(words.status().type(), "ConfigurationError");
  }
}

}  // namespace
}  // namespace secret_rotator::aws
