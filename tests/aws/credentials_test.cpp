// Where credentials come from: the environment, the shared files' static keys
// and credential_process, in the AWS CLI's order; and credential_process
// itself, run for real.
#include "aws/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "aws/credential_process.h"

namespace secret_rotator::aws {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

constexpr char kProcessOutput[] =
    R"({"Version": 1, "AccessKeyId": "AKPROCESS", "SecretAccessKey": "process-secret",
        "SessionToken": "process-token", "Expiration": "2200-01-01T00:00:00Z"})";

std::string ReadText(const fs::path& path) {
  std::ifstream file(path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void WriteText(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// An executable shell script (the program a credential_process names may be
// anything; only this function must not use a shell to start it).
fs::path WriteScript(const fs::path& path, const std::string& body) {
  WriteText(path, "#!/bin/sh\n" + body);
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) ::unsetenv(name);
    dir_ = fs::temp_directory_path() / ("credentials_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = dir_ / "config";
    credentials_ = dir_ / "credentials";
    ::setenv("AWS_CONFIG_FILE", config_.c_str(), 1);
    ::setenv("AWS_SHARED_CREDENTIALS_FILE", credentials_.c_str(), 1);
    // Print the keys the process-based profiles give.
    const fs::path output = dir_ / "output.json";
    WriteText(output, kProcessOutput);
    helper_ = WriteScript(dir_ / "helper", "exec cat '" + output.string() + "'\n").string();
  }
  void TearDown() override {
    for (const char* name : kVariables) ::unsetenv(name);
    fs::remove_all(dir_);
  }

  static constexpr const char* kVariables[] = {
      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",       "AWS_SESSION_TOKEN",
      "AWS_PROFILE",       "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
      "AWS_ROLE_ARN",      "AWS_WEB_IDENTITY_TOKEN_FILE"};
  fs::path dir_;
  fs::path config_;
  fs::path credentials_;
  std::string helper_;
};

TEST_F(CredentialsTest, TheEnvironmentComesFirst) {
  WriteText(credentials_, "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = s\n");
  ::setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  Result<Credentials> credentials = LoadCredentials();
  ASSERT_TRUE(credentials.ok()) << credentials.status().message();
  EXPECT_EQ(credentials->access_key_id, "AKENV");
  EXPECT_FALSE(credentials->expiration);
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(LoadCredentials().status().type(), "ConfigurationError");
}

TEST_F(CredentialsTest, ProfileSourcesTakeTheCliOrder) {
  const std::string process = "credential_process = " + helper_ + "\n";
  const std::string config_keys = "aws_access_key_id = AKCONFIG\naws_secret_access_key = c\n";
  const std::string file_keys = "aws_access_key_id = AKFILE\naws_secret_access_key = f\n";
  struct Case {
    std::string credentials_file;
    std::string config_file;
    std::string expected_key_id;
  };
  const Case cases[] = {
      // Static keys of the credentials file beat credential_process anywhere.
      {"[ops]\n" + file_keys + process, "[profile ops]\n" + process, "AKFILE"},
      {"[ops]\n" + file_keys, "[profile ops]\n" + process + config_keys, "AKFILE"},
      // credential_process beats static keys of the config file.
      {"", "[profile ops]\n" + config_keys + process, "AKPROCESS"},
      {"[ops]\n" + process, "[profile ops]\n" + config_keys, "AKPROCESS"},
      // The config file's static keys come last.
      {"[other]\n" + file_keys, "[profile ops]\n" + config_keys, "AKCONFIG"},
  };
  ::setenv("AWS_PROFILE", "ops", 1);
  for (const Case& c : cases) {
    WriteText(credentials_, c.credentials_file);
    WriteText(config_, c.config_file);
    Result<Credentials> credentials = LoadCredentials();
    ASSERT_TRUE(credentials.ok()) << credentials.status().message();
    EXPECT_EQ(credentials->access_key_id, c.expected_key_id) << c.credentials_file << "---\n"
                                                             << c.config_file;
  }
}

TEST_F(CredentialsTest, CredentialProcessGivesKeysTokenAndExpiration) {
  WriteText(config_, "[default]\nregion = us-east-1\ncredential_process = " + helper_ + "\n");
  Result<Credentials> credentials = LoadCredentials();
  ASSERT_TRUE(credentials.ok()) << credentials.status().message();
  EXPECT_EQ(credentials->access_key_id, "AKPROCESS");
  EXPECT_EQ(credentials->secret_access_key.reveal(), "process-secret");
  EXPECT_EQ(credentials->session_token.reveal(), "process-token");
  ASSERT_TRUE(credentials->expiration);
  EXPECT_EQ(FormatUtcTime(*credentials->expiration), "2200-01-01T00:00:00Z");
}

TEST_F(CredentialsTest, TheDefaultFilesAreUnderHome) {
  ::unsetenv("AWS_CONFIG_FILE");
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  const char* home = std::getenv("HOME");
  const std::string saved_home = home != nullptr ? home : "";
  fs::create_directories(dir_ / ".aws");
  WriteText(dir_ / ".aws" / "config", "[profile p]\ncredential_process = " + helper_ + "\n");
  ::setenv("HOME", dir_.c_str(), 1);
  ::setenv("AWS_PROFILE", "p", 1);
  Result<Credentials> credentials = LoadCredentials();
  ::setenv("HOME", saved_home.c_str(), 1);
  ASSERT_TRUE(credentials.ok()) << credentials.status().message();
  EXPECT_EQ(credentials->access_key_id, "AKPROCESS");
}

TEST_F(CredentialsTest, ProfilesItCannotResolveAreRefusedWithTheExportHint) {
  ::setenv("AWS_PROFILE", "ops", 1);
  const std::string configs[] = {
      "[profile ops]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n",
      "[profile ops]\nsso_start_url = https://x\n",
      // A role on top of static keys: the CLI would assume the role, so the
      // keys are not used either.
      "[profile ops]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      "aws_access_key_id = AK\naws_secret_access_key = s\n",
      "[profile ops]\nregion = us-east-1\n",
  };
  for (const std::string& config : configs) {
    WriteText(config_, config);
    Result<Credentials> credentials = LoadCredentials();
    ASSERT_FALSE(credentials.ok()) << config;
    EXPECT_EQ(credentials.status().type(), "ConfigurationError");
    EXPECT_NE(credentials.status().message().find(
                  "eval \"$(aws configure export-credentials --profile ops --format env)\""),
              std::string::npos)
        << credentials.status().message();
  }
}

TEST_F(CredentialsTest, MissingProfilesAndHalfKeysSayWhatWasLookedAt) {
  ::setenv("AWS_PROFILE", "missing", 1);
  Result<Credentials> missing = LoadCredentials();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("AWS_PROFILE names profile 'missing'"),
            std::string::npos);
  EXPECT_NE(missing.status().message().find(config_.string()), std::string::npos);

  ::unsetenv("AWS_PROFILE");
  Result<Credentials> none = LoadCredentials();
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no AWS credentials"), std::string::npos);

  WriteText(credentials_, "[default]\naws_access_key_id = AKONLY\n");
  Result<Credentials> half = LoadCredentials();
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("lacks aws_access_key_id or aws_secret_access_key"),
            std::string::npos);

  ::setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
  ::setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/token", 1);
  EXPECT_NE(LoadCredentials().status().message().find("web identity"), std::string::npos);
}

TEST_F(CredentialsTest, AnUnreadableFileIsAnErrorNotAMissingOne) {
  fs::create_directories(config_);  // a folder where the file should be
  Result<Credentials> credentials = LoadCredentials();
  ASSERT_FALSE(credentials.ok());
  EXPECT_NE(credentials.status().message().find(config_.string() + " is not a regular file"),
            std::string::npos)
      << credentials.status().message();
}

// --- the process itself

constexpr std::chrono::milliseconds kGenerous{20000};

TEST_F(CredentialsTest, TheProcessRunsWithoutAShellWithNoInputAndItsOwnArguments) {
  const fs::path args = dir_ / "args";
  const std::string script =
      WriteScript(dir_ / "recorder", "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > '" +
                                         args.string() +
                                         "'\n"
                                         "readlink /proc/$$/fd/0 >> '" +
                                         args.string() +
                                         "'\n"
                                         "exec cat '" +
                                         (dir_ / "output.json").string() + "'\n")
          .string();
  const fs::path marker = dir_ / "shell-ran";
  Result<Credentials> credentials = RunCredentialProcess(
      script + " 'a b' \"c\\\"d\" e\\ f $HOME ; touch " + marker.string() + " $(id)", "test",
      kGenerous);
  ASSERT_TRUE(credentials.ok()) << credentials.status().message();
  EXPECT_EQ(credentials->access_key_id, "AKPROCESS");
  EXPECT_EQ(ReadText(args), "[a b]\n[c\"d]\n[e f]\n[$HOME]\n[;]\n[touch]\n[" + marker.string() +
                                "]\n[$(id)]\n/dev/null\n");
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(CredentialsTest, TheProgramIsLookedUpInPath) {
  // printf is in /usr/bin or /bin; the JSON is its format argument.
  Result<Credentials> credentials = RunCredentialProcess(
      R"(printf '{"Version":1,"AccessKeyId":"AKPATH","SecretAccessKey":"s"}')", "test", kGenerous);
  ASSERT_TRUE(credentials.ok()) << credentials.status().message();
  EXPECT_EQ(credentials->access_key_id, "AKPATH");
  EXPECT_TRUE(credentials->session_token.empty());
  EXPECT_FALSE(credentials->expiration);
}

TEST_F(CredentialsTest, FailuresNameTheProgramButNeverItsOutputOrArguments) {
  const std::string leaky = R"({"Version":2,"AccessKeyId":"AKLEAK","SecretAccessKey":"TOPSECRET"})";
  WriteText(dir_ / "leaky.json", leaky);
  struct Case {
    std::string command;
    std::string reason;
  };
  const Case cases[] = {
      {"/nonexistent/helper --password TOPSECRET", "cannot run it: No such file or directory"},
      {"secret-rotator-no-such-helper TOPSECRET", "cannot run it: no executable file"},
      {dir_.string() + " TOPSECRET", "cannot run it: it is not a regular file"},
      {(dir_ / "leaky.json").string(), "cannot run it: Permission denied"},
      {WriteScript(dir_ / "fails", "echo TOPSECRET; exit 3\n").string() + " TOPSECRET",
       "it exited with status 3"},
      {WriteScript(dir_ / "killed", "kill -9 $$\n").string(), "it was killed by signal 9"},
      {WriteScript(dir_ / "text", "echo not json TOPSECRET\n").string(), "is not valid JSON"},
      {"cat " + (dir_ / "leaky.json").string(), "Version must be the number 1"},
      {WriteScript(dir_ / "huge", "exec head -c 100000 /dev/zero\n").string(),
       "it printed more than 65536 bytes"},
      {"'unterminated", "cannot split the command"},
      {"   ", "the command is empty"},
  };
  for (const Case& c : cases) {
    Result<Credentials> credentials =
        RunCredentialProcess(c.command, "credential_process of X", kGenerous);
    ASSERT_FALSE(credentials.ok()) << c.command;
    const std::string& message = credentials.status().message();
    EXPECT_EQ(credentials.status().type(), "ConfigurationError");
    EXPECT_EQ(message.rfind("credential_process of X", 0), 0u) << message;
    EXPECT_NE(message.find(c.reason), std::string::npos) << message;
    EXPECT_EQ(message.find("TOPSECRET"), std::string::npos) << message;
    EXPECT_EQ(message.find("AKLEAK"), std::string::npos) << message;
  }
}

TEST_F(CredentialsTest, AProgramThatHangsIsKilledAtTheTimeout) {
  const std::string sleeper = WriteScript(dir_ / "sleeper", "exec sleep 600\n").string();
  const auto started = std::chrono::steady_clock::now();
  Result<Credentials> credentials =
      RunCredentialProcess(sleeper, "test", std::chrono::milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(credentials.ok());
  EXPECT_NE(credentials.status().message().find("did not finish within 300 ms"), std::string::npos)
      << credentials.status().message();
  // Bounded: far less than the 600 s the program wanted.
  EXPECT_LT(took, std::chrono::seconds(60));

  // Closing its output without exiting does not buy more time either.
  const std::string lingerer =
      WriteScript(dir_ / "lingerer", "exec >&-\nexec sleep 600\n").string();
  EXPECT_NE(RunCredentialProcess(lingerer, "test", std::chrono::milliseconds(300))
                .status()
                .message()
                .find("did not finish"),
            std::string::npos);
}

TEST(CredentialProcessOutput, ParsesVersionOneAndRefusesEverythingElse) {
  const auto now = system_clock::now();
  Result<Credentials> full = ParseCredentialProcessOutput(kProcessOutput, "p", now);
  ASSERT_TRUE(full.ok()) << full.status().message();
  EXPECT_EQ(full->access_key_id, "AKPROCESS");
  EXPECT_EQ(full->session_token.reveal(), "process-token");

  Result<Credentials> null_fields = ParseCredentialProcessOutput(
      R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"S","SessionToken":null,"Expiration":null})",
      "p", now);
  ASSERT_TRUE(null_fields.ok()) << null_fields.status().message();
  EXPECT_FALSE(null_fields->expiration);

  struct Case {
    std::string output;
    std::string reason;
  };
  const Case bad[] = {
      {"", "is not valid JSON"},
      {"[]", "not a JSON object"},
      {R"({"AccessKeyId":"A","SecretAccessKey":"S"})", "Version must be the number 1"},
      {R"({"Version":"1","AccessKeyId":"A","SecretAccessKey":"S"})", "Version must be"},
      {R"({"Version":1,"SecretAccessKey":"S"})", "lacks AccessKeyId or SecretAccessKey"},
      {R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":""})", "lacks AccessKeyId"},
      {R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"S","SessionToken":5})",
       "SessionToken must be a string"},
      {R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"tomorrow"})",
       "Expiration must be an RFC 3339 time"},
      {R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"2001-02-03T04:05:06Z"})",
       "the credentials it printed expired at 2001-02-03T04:05:06Z"},
  };
  for (const Case& c : bad) {
    Result<Credentials> parsed = ParseCredentialProcessOutput(c.output, "p", now);
    ASSERT_FALSE(parsed.ok()) << c.output;
    EXPECT_EQ(parsed.status().type(), "ConfigurationError");
    EXPECT_NE(parsed.status().message().find(c.reason), std::string::npos)
        << parsed.status().message();
  }
}

TEST(CredentialProcessOutput, ExpirationIsAnRfc3339Time) {
  const auto at = [](const char* text) -> std::string {
    const auto parsed = ParseRfc3339(text);
    return parsed ? FormatUtcTime(*parsed) : "invalid";
  };
  EXPECT_EQ(at("2024-05-01T12:00:00Z"), "2024-05-01T12:00:00Z");
  EXPECT_EQ(at("2024-05-01t12:00:00.123456z"), "2024-05-01T12:00:00Z");
  EXPECT_EQ(at("2024-05-01T14:30:00+02:30"), "2024-05-01T12:00:00Z");
  EXPECT_EQ(at("2024-05-01T00:00:00-0100"), "2024-05-01T01:00:00Z");
  EXPECT_EQ(at("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00Z");
  // Beyond what the clock can count (2262): the latest time it can, not a
  // wrapped-around one in the past.
  EXPECT_EQ(ParseRfc3339("9999-12-31T23:59:59Z"), system_clock::time_point::max());
  EXPECT_EQ(ParseRfc3339("1000-01-01T00:00:00Z"), system_clock::time_point::min());
  for (const char* bad :
       {"2024-05-01", "2024-05-01T12:00:00", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-05-01T24:00:00Z", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00Z ", "1714564800"}) {
    EXPECT_EQ(at(bad), "invalid") << bad;
  }
}

}  // namespace
}  // namespace secret_rotator::aws
