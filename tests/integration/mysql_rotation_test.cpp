// MySQL/MariaDB rotations the way AWS runs them: the AWS CLI creates secrets
// and calls rotate-secret on the local Secrets Manager, which runs the real
// bootstrap through the local Lambda service for the four steps, against the
// private MariaDB server of the "mariadb" ctest fixture (TLS, general log on).
// Outcomes are checked on the server with the C client library directly:
// logins, SHOW GRANTS / SHOW CREATE USER, and the general query log.
// Every test makes its own users and databases with a random suffix.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/json.h"
#include "tests/support/local_aws.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/task_dir.h"

namespace secret_rotator {
namespace {

using testing::LocalAws;
using testing::LocalAwsOptions;
using testing::MariaDbClient;
using testing::MariaDbServer;
using testing::ProcessResult;
using testing::QuoteIdentifier;
using testing::Transport;

using Env = std::map<std::string, std::string>;
using Labels = std::vector<std::string>;

const Labels kCurrentLabels = {"AWSCURRENT", "AWSPENDING"};
const Labels kPreviousLabels = {"AWSPREVIOUS"};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

JsonValue Parse(const std::string& text) { return ParseJson(text, "test JSON", "Test").value(); }

class MariaDbRotationTest : public testing::MariaDbTest {
 protected:
  void TearDown() override {
    if (!admin_ || !admin_->connected()) return;
    for (const std::string& user : made_users_) {
      admin_->Exec("DROP USER IF EXISTS " + admin_->Account(user));
      admin_->Exec("DROP USER IF EXISTS " + admin_->Account(user + "_clone"));
    }
    for (const std::string& database : made_databases_) {
      admin_->Exec("DROP DATABASE IF EXISTS " + QuoteIdentifier(database));
    }
  }

  // Starts the local Secrets Manager and the local Lambda service, which runs
  // the real bootstrap with DB_TLS_CA_FILE set to the server's CA, plus `env`.
  void StartAws(const Env& env = {}) {
    LocalAwsOptions options{BOOTSTRAP_PATH};
    options.function_env = {{"DB_TLS_CA_FILE", server_.ca}};
    for (const auto& [name, value] : env) options.function_env[name] = value;
    aws_ = std::make_unique<LocalAws>(options);
  }

  // Starts the local services with the function running from `task` (a copy
  // of the real bootstrap with a db-ca-bundle.pem beside it) in a clean
  // environment: no DB_TLS_CA_FILE, DB_TLS_MODE's default (verify-full).
  void StartAwsFromTask(const testing::TaskDir& task) {
    LocalAwsOptions options{task.bootstrap};
    options.task_root = task.dir;
    options.clean_env = true;
    aws_ = std::make_unique<LocalAws>(options);
  }

  // `base` + "_" + random hex: a name no other test uses.
  static std::string Unique(const std::string& base) {
    return base + "_" + testing::RandomSuffix();
  }

  void AdminExec(const std::string& sql) {
    ASSERT_TRUE(admin_->Exec(sql)) << admin_->error() << "\n" << sql;
  }

  // Creates user@'%'; it and its _clone are dropped after the test.
  void CreateUser(const std::string& user, const std::string& password,
                  const std::string& extra = "") {
    made_users_.push_back(user);
    AdminExec("CREATE USER " + admin_->Account(user) + " IDENTIFIED BY " + admin_->Quote(password) +
              " " + extra);
  }

  // Creates a database with a table t (x INT), dropped after the test.
  void CreateDatabase(const std::string& name) {
    made_databases_.push_back(name);
    AdminExec("CREATE DATABASE " + QuoteIdentifier(name));
    AdminExec("CREATE TABLE " + QuoteIdentifier(name) + ".t (x INT)");
  }

  void Grant(const std::string& privileges, const std::string& database, const std::string& user) {
    AdminExec("GRANT " + privileges + " ON " + QuoteIdentifier(database) + ".* TO " +
              admin_->Account(user));
  }

  JsonValue SecretFor(const std::string& user, const std::string& password,
                      const std::string& engine = "mariadb") const {
    JsonValue secret;
    secret["engine"] = engine;
    secret["host"] = server_.host;
    secret["port"] = server_.port;
    secret["username"] = user;
    secret["password"] = password;
    return secret;
  }

  // The admin user's secret, made once per test.
  std::string MasterArn() {
    if (master_arn_.empty()) {
      master_arn_ = aws_->CreateSecret(
          "mariadb-admin", WriteJson(SecretFor(server_.admin_user, server_.admin_password)));
    }
    return master_arn_;
  }

  JsonValue AlternatingSecretFor(const std::string& user, const std::string& password) {
    JsonValue secret = SecretFor(user, password);
    secret["masterarn"] = MasterArn();
    secret["rotationStrategy"] = "alternating-users";
    return secret;
  }

  std::string CreateSecret(const JsonValue& secret) {
    return aws_->CreateSecret("app-" + std::to_string(++secrets_made_), WriteJson(secret));
  }

  JsonValue At(const std::string& arn, const std::string& stage) const {
    return Parse(aws_->ValueAt(arn, stage));
  }

  // Runs rotate-secret; returns the new version, or "" (with a failure) when
  // the rotation failed.
  std::string Rotate(const std::string& arn) {
    const ProcessResult rotated = aws_->RotateSecret(arn);
    EXPECT_EQ(rotated.exit_code, 0) << rotated.err << "\nfunction log:\n" << aws_->FunctionLog();
    if (rotated.exit_code != 0) return "";
    return Parse(rotated.out)["VersionId"].get<std::string>();
  }

  // AWSCURRENT (and AWSPENDING, which AWS leaves with it) on `to`,
  // AWSPREVIOUS on `from`, and no other version with a label.
  void ExpectLabelsMoved(const std::string& arn, const std::string& from, const std::string& to) {
    const std::map<std::string, Labels> stages = aws_->Stages(arn);
    EXPECT_EQ(stages.size(), 2U) << ::testing::PrintToString(stages);
    EXPECT_EQ(stages.count(to) ? stages.at(to) : Labels{}, kCurrentLabels);
    EXPECT_EQ(stages.count(from) ? stages.at(from) : Labels{}, kPreviousLabels);
  }

  // The CLI reports the local endpoint's "rotation step STEP failed: TYPE:
  // MESSAGE"; the message must contain `fragment`.
  static void ExpectFailedAt(const ProcessResult& rotated, const std::string& step,
                             const std::string& type, const std::string& fragment) {
    EXPECT_NE(rotated.exit_code, 0);
    EXPECT_TRUE(Contains(rotated.err, "RotationFailedException")) << rotated.err;
    EXPECT_TRUE(Contains(rotated.err, "rotation step " + step + " failed: " + type + ": "))
        << rotated.err;
    EXPECT_TRUE(Contains(rotated.err, fragment)) << "expected '" << fragment << "' in\n"
                                                 << rotated.err;
  }

  bool LogsIn(const std::string& user, const std::string& password,
              Transport transport = Transport::kTlsVerified) const {
    return testing::LoginError(server_, user, password, transport).empty();
  }
  bool Refused(const std::string& user, const std::string& password) const {
    return Contains(testing::LoginError(server_, user, password), "Access denied");
  }

  // How many login attempts by `user` the general log recorded; each must
  // have used `transport` ("using SSL/TLS" or "using TCP/IP").
  std::size_t CountLogins(const std::string& user, const std::string& transport) const {
    std::size_t logins = 0;
    for (const std::string& line : testing::ConnectLines(server_, user)) {
      if (Contains(line, "Access denied")) continue;  // follows the attempt's own line
      ++logins;
      EXPECT_TRUE(Contains(line, transport)) << line;
    }
    return logins;
  }

  // How many statements that set `user`'s password the general log
  // recorded: CREATE USER ... IDENTIFIED BY, SET PASSWORD FOR, ALTER USER
  // ... IDENTIFIED BY (the log shows what clients sent, quoting included).
  int PasswordStatements(const std::string& user) const {
    int count = 0;
    std::istringstream log(testing::ReadFile(server_.general_log));
    for (std::string line; std::getline(log, line);) {
      if (Contains(line, " Query\t") && Contains(line, "'" + user + "'@") &&
          (Contains(line, "SET PASSWORD FOR") || Contains(line, "IDENTIFIED BY"))) {
        ++count;
      }
    }
    return count;
  }

  // rotate-secret of `arn` whose AWSCURRENT is `*version`: checks that the
  // labels moved, sets `*version` to the new AWSCURRENT and returns its value
  // (null, with a failure, when the rotation failed).
  JsonValue RotateAndCheckLabels(const std::string& arn, std::string* version) {
    const std::string after = Rotate(arn);
    if (after.empty()) return JsonValue();
    // Two AWS CLI calls at once: their start-up takes most of the time.
    std::future<JsonValue> current =
        std::async(std::launch::async, [this, &arn] { return At(arn, "AWSCURRENT"); });
    ExpectLabelsMoved(arn, *version, after);
    *version = after;
    return current.get();
  }

  static std::string Event(const std::string& arn, const std::string& token, const char* step) {
    return R"({"SecretId":")" + arn + R"(","ClientRequestToken":")" + token + R"(","Step":")" +
           step + "\"}";
  }

  // Starts a rotation that stops in createSecret (PutSecretValue fails
  // once), runs createSecret through the Lambda Invoke API and returns the
  // pending version: it has a value, and nothing else happened.
  std::string StopAfterCreateSecret(const std::string& arn) {
    JsonValue fault;
    fault["operation"] = "PutSecretValue";
    fault["responses"][0]["status"] = 400;
    fault["responses"][0]["type"] = "InvalidRequestException";
    fault["responses"][0]["message"] = "injected: the function stops here";
    aws_->QueueFaults(fault);
    ExpectFailedAt(aws_->RotateSecret(arn), "createSecret", "InvalidRequestException", "injected");
    const std::string token = aws_->VersionWithStage(arn, "AWSPENDING");
    EXPECT_FALSE(token.empty());
    bool function_error = true;
    const std::string response = aws_->Invoke(Event(arn, token, "createSecret"), &function_error);
    EXPECT_FALSE(function_error) << response;
    return token;
  }

  // Runs a rotation that stops right after setSecret succeeded, as if the
  // function crashed then: PutSecretValue fails once, so rotate-secret stops
  // at createSecret and leaves the AWSPENDING version without a value; then
  // createSecret and setSecret run through the Lambda Invoke API. Returns the
  // pending version.
  std::string RotateUntilSetSecret(const std::string& arn) {
    const std::string token = StopAfterCreateSecret(arn);
    bool function_error = true;
    const std::string response = aws_->Invoke(Event(arn, token, "setSecret"), &function_error);
    EXPECT_FALSE(function_error) << "setSecret: " << response;
    return token;
  }

  // Resumes the rotation of version `token` with rotate-secret.
  ProcessResult Resume(const std::string& arn, const std::string& token) const {
    return aws_->Aws({"secretsmanager", "rotate-secret", "--secret-id", arn,
                      "--client-request-token", token, "--rotation-lambda-arn",
                      testing::kFunctionArn});
  }

  // A secret created and rotated by RotateAll.
  struct Rotation {
    std::string arn;
    ProcessResult rotated;
    JsonValue current;  // AWSCURRENT after a successful rotation
  };

  // Creates a secret with each of `texts` and rotates them all at the same
  // time: the AWS CLI's start-up takes most of the time, and the local Lambda
  // service still runs one invocation at a time. Results in `texts`' order.
  std::vector<Rotation> RotateAll(const std::vector<std::string>& texts) {
    std::vector<std::future<Rotation>> running;
    for (const std::string& text : texts) {
      const std::string name = "app-" + std::to_string(++secrets_made_);
      running.push_back(std::async(std::launch::async, [this, name, text] {
        Rotation rotation;
        rotation.arn = aws_->CreateSecret(name, text);
        rotation.rotated = aws_->RotateSecret(rotation.arn);
        if (rotation.rotated.exit_code == 0) rotation.current = At(rotation.arn, "AWSCURRENT");
        return rotation;
      }));
    }
    std::vector<Rotation> rotations;
    for (std::future<Rotation>& rotation : running) rotations.push_back(rotation.get());
    return rotations;
  }

  std::unique_ptr<LocalAws> aws_;
  std::string master_arn_;
  int secrets_made_ = 0;
  std::vector<std::string> made_users_;
  std::vector<std::string> made_databases_;
};

class MariaDbSingleUser : public MariaDbRotationTest {};
class MariaDbAlternatingUsers : public MariaDbRotationTest {};

// --- ten in a row ------------------------------------------------------------

TEST_F(MariaDbSingleUser, TenRotationsInARow) {
  StartAws();
  const std::string user = Unique("single10");
  CreateUser(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const int changes = PasswordStatements(user);
  JsonValue secret = SecretFor(user, "initial-Password-0");
  secret["application"] = "kept as it is";
  const std::string arn = CreateSecret(secret);
  std::string version = aws_->VersionWithStage(arn, "AWSCURRENT");
  JsonValue old = secret;
  JsonValue previous;
  std::set<std::string> passwords = {"initial-Password-0"};

  for (int i = 1; i <= 10; ++i) {
    SCOPED_TRACE("rotation " + std::to_string(i));
    const JsonValue current = RotateAndCheckLabels(arn, &version);
    ASSERT_FALSE(HasFailure());
    const std::string password = current["password"].get<std::string>();
    JsonValue expected = old;
    expected["password"] = password;
    EXPECT_EQ(current, expected) << "only the password changes";
    EXPECT_TRUE(passwords.insert(password).second) << "a password seen before";
    EXPECT_EQ(password.size(), 32U);
    EXPECT_EQ(password.find_first_of("/@\"'\\"), std::string::npos)
        << "MySQL's default excluded characters";
    EXPECT_TRUE(LogsIn(user, password)) << testing::LoginError(server_, user, password);
    EXPECT_TRUE(Refused(user, old["password"].get<std::string>()));
    previous = old;
    old = current;
  }
  EXPECT_EQ(At(arn, "AWSPREVIOUS"), previous);
  EXPECT_EQ(PasswordStatements(user) - changes, 10);
  // Every connection the function made (and this test) used TLS.
  EXPECT_GE(CountLogins(user, "using SSL/TLS"), 30U);
}

TEST_F(MariaDbAlternatingUsers, TenRotationsInARow) {
  // The strategy comes from the function's ROTATION_STRATEGY here, not from
  // the secret.
  StartAws({{"ROTATION_STRATEGY", "alternating-users"}});
  const std::string user = Unique("alt10");
  const std::string clone = user + "_clone";
  const std::string database = Unique("alt10db");
  CreateUser(user, "initial-Password-0");
  CreateDatabase(database);
  Grant("SELECT, INSERT", database, user);
  ASSERT_FALSE(HasFailure());
  const int changes = PasswordStatements(user);
  JsonValue secret = SecretFor(user, "initial-Password-0");
  secret["masterarn"] = MasterArn();
  const std::string arn = CreateSecret(secret);
  std::string version = aws_->VersionWithStage(arn, "AWSCURRENT");
  // AWSCURRENT's value before each rotation, the first one first.
  std::vector<JsonValue> history = {secret};

  for (int i = 1; i <= 10; ++i) {
    SCOPED_TRACE("rotation " + std::to_string(i));
    const JsonValue current = RotateAndCheckLabels(arn, &version);
    ASSERT_FALSE(HasFailure());
    const JsonValue& previous = history.back();
    const std::string username = current["username"].get<std::string>();
    const std::string password = current["password"].get<std::string>();
    EXPECT_EQ(username, i % 2 == 1 ? clone : user);
    EXPECT_EQ(current["masterarn"], secret["masterarn"]);
    // AWSCURRENT and AWSPREVIOUS both log in: clients that still hold the
    // previous credentials keep working.
    EXPECT_TRUE(LogsIn(username, password)) << testing::LoginError(server_, username, password);
    EXPECT_TRUE(
        LogsIn(previous["username"].get<std::string>(), previous["password"].get<std::string>()));
    // The password this user had two rotations ago is gone.
    if (history.size() >= 2) {
      const JsonValue& before_previous = history[history.size() - 2];
      EXPECT_EQ(before_previous["username"].get<std::string>(), username);
      EXPECT_TRUE(Refused(username, before_previous["password"].get<std::string>()));
    }
    EXPECT_EQ(testing::NormalizedGrants(*admin_, clone), testing::NormalizedGrants(*admin_, user));
    history.push_back(current);
  }
  EXPECT_EQ(At(arn, "AWSPREVIOUS"), history[history.size() - 2]);
  MariaDbClient as_user(server_, user, history.back()["password"].get<std::string>());
  EXPECT_TRUE(as_user.Exec("INSERT INTO " + QuoteIdentifier(database) + ".t VALUES (1)"))
      << as_user.error();
  EXPECT_EQ(PasswordStatements(user) - changes, 5);
  EXPECT_EQ(PasswordStatements(clone), 5);  // created once, then set four times
}

// --- grants and REQUIRE SSL --------------------------------------------------

class MariaDbGrants : public MariaDbRotationTest {
 protected:
  // A user REQUIRE SSL with SELECT, INSERT on one database and ALL on another.
  void CreateUserWithGrants(const std::string& user, const std::string& password) {
    first_db_ = Unique("grants1");
    second_db_ = Unique("grants2");
    CreateDatabase(first_db_);
    CreateDatabase(second_db_);
    CreateUser(user, password, "REQUIRE SSL");
    Grant("SELECT, INSERT", first_db_, user);
    Grant("ALL PRIVILEGES", second_db_, user);
  }

  // `user` logs in only over TLS and can use exactly its grants.
  void ExpectGrantsWork(const std::string& user, const std::string& password) {
    EXPECT_NE(ShowCreateUser(user).find("REQUIRE SSL"), std::string::npos) << ShowCreateUser(user);
    EXPECT_TRUE(Contains(testing::LoginError(server_, user, password, Transport::kPlaintext),
                         "Access denied"))
        << "REQUIRE SSL no longer holds";
    MariaDbClient client(server_, user, password);
    ASSERT_TRUE(client.connected()) << client.error();
    const std::string first = QuoteIdentifier(first_db_) + ".t";
    const std::string second = QuoteIdentifier(second_db_);
    EXPECT_TRUE(client.Exec("INSERT INTO " + first + " VALUES (1)")) << client.error();
    EXPECT_TRUE(client.Exec("SELECT COUNT(*) FROM " + first)) << client.error();
    EXPECT_FALSE(client.Exec("DELETE FROM " + first)) << "DELETE was never granted";
    EXPECT_TRUE(client.Exec("CREATE TABLE " + second + "." + QuoteIdentifier(user) + " (y INT)"))
        << client.error();
    EXPECT_TRUE(client.Exec("DROP TABLE " + second + "." + QuoteIdentifier(user)))
        << client.error();
  }

  std::string ShowCreateUser(const std::string& user) {
    return testing::ShowCreateUser(*admin_, user);
  }

  std::string first_db_;
  std::string second_db_;
};

class MariaDbSingleUserGrants : public MariaDbGrants {};
class MariaDbAlternatingUsersGrants : public MariaDbGrants {};

TEST_F(MariaDbSingleUserGrants, RequireSslUserKeepsGrantsOnTwoDatabases) {
  StartAws();
  const std::string user = Unique("grants");
  CreateUserWithGrants(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const std::vector<std::string> grants = testing::NormalizedGrants(*admin_, user);
  ASSERT_EQ(grants.size(), 3U) << ::testing::PrintToString(grants);
  // "mysql" is the same strategy as "mariadb"; the server's version picks the
  // statements.
  const std::string arn = CreateSecret(SecretFor(user, "initial-Password-0", "mysql"));

  ASSERT_FALSE(Rotate(arn).empty());

  EXPECT_TRUE(Refused(user, "initial-Password-0"));
  EXPECT_EQ(testing::NormalizedGrants(*admin_, user), grants);
  ExpectGrantsWork(user, At(arn, "AWSCURRENT")["password"].get<std::string>());
}

TEST_F(MariaDbAlternatingUsersGrants, CloneGetsTheSameGrantsAndRequireSsl) {
  StartAws();
  const std::string user = Unique("altgrants");
  const std::string clone = user + "_clone";
  CreateUserWithGrants(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const std::vector<std::string> grants = testing::NormalizedGrants(*admin_, user);
  JsonValue secret = AlternatingSecretFor(user, "initial-Password-0");
  secret["engine"] = "aurora-mysql";  // the same strategy again
  const std::string arn = CreateSecret(secret);

  ASSERT_FALSE(Rotate(arn).empty());
  ASSERT_TRUE(testing::UserExists(*admin_, clone));
  EXPECT_EQ(testing::NormalizedGrants(*admin_, clone), grants);
  const std::string clone_password = At(arn, "AWSCURRENT")["password"].get<std::string>();
  ExpectGrantsWork(clone, clone_password);
  ExpectGrantsWork(user, "initial-Password-0");

  // Back to the original user: it kept its grants, and the clone keeps its own.
  ASSERT_FALSE(Rotate(arn).empty());
  const JsonValue current = At(arn, "AWSCURRENT");
  EXPECT_EQ(current["username"].get<std::string>(), user);
  EXPECT_EQ(testing::NormalizedGrants(*admin_, user), grants);
  EXPECT_EQ(testing::NormalizedGrants(*admin_, clone), grants);
  ExpectGrantsWork(user, current["password"].get<std::string>());
  ExpectGrantsWork(clone, clone_password);
}

// --- recovery ----------------------------------------------------------------

TEST_F(MariaDbSingleUser, CompletesWhenTheDatabaseAlreadyHasThePendingPassword) {
  StartAws();
  const std::string user = Unique("crashset");
  CreateUser(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const int changes = PasswordStatements(user);
  const std::string arn = CreateSecret(SecretFor(user, "initial-Password-0"));
  const std::string first = aws_->VersionWithStage(arn, "AWSCURRENT");

  const std::string token = RotateUntilSetSecret(arn);
  ASSERT_FALSE(HasFailure());
  const std::string pending = At(arn, "AWSPENDING")["password"].get<std::string>();
  ASSERT_TRUE(LogsIn(user, pending)) << "setSecret ran";
  ASSERT_TRUE(Refused(user, "initial-Password-0"));
  ASSERT_EQ(PasswordStatements(user) - changes, 1);

  const ProcessResult resumed = Resume(arn, token);

  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << aws_->FunctionLog();
  ExpectLabelsMoved(arn, first, token);
  EXPECT_TRUE(LogsIn(user, pending));
  EXPECT_EQ(PasswordStatements(user) - changes, 1) << "the password was set again";
}

TEST_F(MariaDbAlternatingUsers, CompletesWhenTheCloneAlreadyHasThePendingPassword) {
  StartAws();
  const std::string user = Unique("crashalt");
  const std::string clone = user + "_clone";
  CreateUser(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const std::string arn = CreateSecret(AlternatingSecretFor(user, "initial-Password-0"));
  const std::string first = aws_->VersionWithStage(arn, "AWSCURRENT");

  const std::string token = RotateUntilSetSecret(arn);
  ASSERT_FALSE(HasFailure());
  const std::string pending = At(arn, "AWSPENDING")["password"].get<std::string>();
  ASSERT_TRUE(LogsIn(clone, pending)) << "setSecret ran";
  const std::string clone_account = testing::ShowCreateUser(*admin_, clone);
  ASSERT_EQ(PasswordStatements(clone), 1);

  const ProcessResult resumed = Resume(arn, token);

  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << aws_->FunctionLog();
  ExpectLabelsMoved(arn, first, token);
  EXPECT_TRUE(LogsIn(clone, pending));
  EXPECT_TRUE(LogsIn(user, "initial-Password-0"));
  EXPECT_EQ(testing::ShowCreateUser(*admin_, clone), clone_account);
  EXPECT_EQ(PasswordStatements(clone), 1) << "the password was set again";
}

TEST_F(MariaDbSingleUser, CompletesWhenOnlyThePreviousPasswordWorks) {
  StartAws();
  const std::string user = Unique("onlyprev");
  CreateUser(user, "applied-Password-0");
  ASSERT_FALSE(HasFailure());
  const int changes = PasswordStatements(user);
  const std::string arn = CreateSecret(SecretFor(user, "applied-Password-0"));
  const std::string applied = aws_->VersionWithStage(arn, "AWSCURRENT");
  // A new AWSCURRENT whose password never reached the database (a
  // half-finished earlier change); the real one is now AWSPREVIOUS.
  const std::string never_applied =
      aws_->AwsJson({"secretsmanager", "put-secret-value", "--secret-id", arn, "--secret-string",
                     WriteJson(SecretFor(user, "never-Applied-1"))})["VersionId"]
          .get<std::string>();
  ASSERT_EQ(aws_->Stages(arn), (std::map<std::string, Labels>{{applied, kPreviousLabels},
                                                              {never_applied, {"AWSCURRENT"}}}));
  ASSERT_TRUE(Refused(user, "never-Applied-1"));

  const std::string after = Rotate(arn);

  ASSERT_FALSE(after.empty());
  ExpectLabelsMoved(arn, never_applied, after);
  const std::string password = At(arn, "AWSCURRENT")["password"].get<std::string>();
  EXPECT_TRUE(LogsIn(user, password));
  EXPECT_TRUE(Refused(user, "applied-Password-0"));
  EXPECT_TRUE(Refused(user, "never-Applied-1"));
  EXPECT_EQ(PasswordStatements(user) - changes, 1);
}

// --- hostile names and passwords --------------------------------------------

// Every character that needs escaping in one name; non-ASCII; an injection.
constexpr const char* kHostileNames[] = {
    "q'd\"b`s\\p%",
    "\xC3\xBCs\xE2\x82\xACr",  // üs€r
    "x' OR '1'='1 --",
};
constexpr char kHostilePassword[] = "p'w\"d`\\%_\xC3\xBC ;-- x') OR ('1'='1";
constexpr char kHostileCharacters[] = "'\"\\`%";

// Generated passwords of 64 characters made only of ' " \ ` % (every other
// punctuation character, the letters and the digits excluded).
Env HostilePasswordPolicy() {
  return {{"PASSWORD_LENGTH", "64"},
          {"EXCLUDE_NUMBERS", "true"},
          {"EXCLUDE_UPPERCASE", "true"},
          {"EXCLUDE_LOWERCASE", "true"},
          {"EXCLUDE_CHARACTERS", "!#$&()*+,-./:;<=>?@[]^_{|}~"}};
}

// Works, or a clear refusal: never an SQL error caused by the injected text.
void ExpectNoSqlError(const ProcessResult& rotated) {
  EXPECT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_FALSE(Contains(rotated.err, "DatabaseError")) << rotated.err;
  EXPECT_FALSE(Contains(rotated.err, "syntax")) << rotated.err;
  EXPECT_FALSE(Contains(rotated.err, "1064")) << rotated.err;
  EXPECT_FALSE(Contains(rotated.err, kHostilePassword)) << rotated.err;
}

void ExpectHostile(const std::string& password) {
  EXPECT_EQ(password.size(), 64U);
  EXPECT_EQ(password.find_first_not_of(kHostileCharacters), std::string::npos) << password;
  for (const char c : std::string(kHostileCharacters)) {
    EXPECT_NE(password.find(c), std::string::npos) << "no " << c << " in " << password;
  }
}

TEST_F(MariaDbSingleUser, HostileNamesAndPasswords) {
  StartAws(HostilePasswordPolicy());
  std::vector<std::string> users;
  std::vector<std::string> secrets;
  for (const char* base : kHostileNames) {
    users.push_back(Unique(base));
    CreateUser(users.back(), kHostilePassword);
    secrets.push_back(WriteJson(SecretFor(users.back(), kHostilePassword)));
  }
  ASSERT_FALSE(HasFailure());

  const std::vector<Rotation> rotations = RotateAll(secrets);

  for (std::size_t i = 0; i < users.size(); ++i) {
    const std::string& user = users[i];
    SCOPED_TRACE(user);
    ExpectNoSqlError(rotations[i].rotated);
    const JsonValue& current = rotations[i].current;
    EXPECT_EQ(current["username"].get<std::string>(), user);
    const std::string password = current["password"].get<std::string>();
    ExpectHostile(password);
    EXPECT_TRUE(LogsIn(user, password)) << testing::LoginError(server_, user, password);
    EXPECT_TRUE(Refused(user, kHostilePassword));
  }
}

TEST_F(MariaDbAlternatingUsers, HostileNamesAndPasswords) {
  StartAws(HostilePasswordPolicy());
  const std::string database = Unique("d`b'\" x");
  CreateDatabase(database);
  std::vector<std::string> users;
  std::vector<std::string> secrets;
  for (const char* base : kHostileNames) {
    users.push_back(Unique(base));
    CreateUser(users.back(), kHostilePassword);
    Grant("SELECT", database, users.back());
    secrets.push_back(WriteJson(AlternatingSecretFor(users.back(), kHostilePassword)));
  }
  ASSERT_FALSE(HasFailure());

  const std::vector<Rotation> rotations = RotateAll(secrets);

  for (std::size_t i = 0; i < users.size(); ++i) {
    const std::string& user = users[i];
    const std::string clone = user + "_clone";
    SCOPED_TRACE(user);
    ExpectNoSqlError(rotations[i].rotated);
    const JsonValue& current = rotations[i].current;
    EXPECT_EQ(current["username"].get<std::string>(), clone);
    const std::string password = current["password"].get<std::string>();
    ExpectHostile(password);
    EXPECT_TRUE(LogsIn(clone, password)) << testing::LoginError(server_, clone, password);
    EXPECT_TRUE(LogsIn(user, kHostilePassword));
    EXPECT_EQ(testing::NormalizedGrants(*admin_, clone), testing::NormalizedGrants(*admin_, user));
  }
}

// --- TLS ---------------------------------------------------------------------

TEST_F(MariaDbSingleUser, WrongCaFailsAtSetSecretWithoutAPlaintextAttempt) {
  StartAws({{"DB_TLS_CA_FILE", server_.other_ca}});
  const std::string user = Unique("wrongca");
  CreateUser(user, "initial-Password-0");  // REQUIRE NONE: plaintext would work
  ASSERT_FALSE(HasFailure());
  const std::string account = testing::ShowCreateUser(*admin_, user);
  const std::string arn = CreateSecret(SecretFor(user, "initial-Password-0"));
  const std::string first = aws_->VersionWithStage(arn, "AWSCURRENT");
  const std::string kConnections =
      "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
      "WHERE VARIABLE_NAME = 'CONNECTIONS'";
  const long connections = std::stol(admin_->Value(kConnections));

  const ProcessResult rotated = aws_->RotateSecret(arn);

  ExpectFailedAt(rotated, "setSecret", "DatabaseTlsError", "DB_TLS_CA_FILE");
  // The function reached the server (a TCP connection, no login) ...
  EXPECT_GE(std::stol(admin_->Value(kConnections)) - connections, 1);
  // ... which never saw this user: no login over TLS and none in plaintext.
  EXPECT_TRUE(testing::ConnectLines(server_, user).empty())
      << ::testing::PrintToString(testing::ConnectLines(server_, user));
  EXPECT_EQ(testing::ShowCreateUser(*admin_, user), account);
  EXPECT_TRUE(LogsIn(user, "initial-Password-0"));
  EXPECT_EQ(aws_->VersionWithStage(arn, "AWSCURRENT"), first);
  EXPECT_FALSE(Contains(rotated.err, "initial-Password-0"));
}

// DB_TLS_MODE is the operator's floor: a secret's "ssl": false does not turn
// TLS off (it did, and SET PASSWORD went out in clear) unless the operator
// sets DB_TLS_ALLOW_SECRET_DOWNGRADE=true.
TEST_F(MariaDbSingleUser, SslFalseRotatesOverTlsUnlessTheOperatorAllowsADowngrade) {
  StartAws();
  const std::string user = Unique("floor");
  CreateUser(user, "initial-Password-0", "REQUIRE NONE");
  ASSERT_FALSE(HasFailure());
  JsonValue secret = SecretFor(user, "initial-Password-0");
  secret["ssl"] = false;
  const std::string arn = CreateSecret(secret);
  ASSERT_FALSE(Rotate(arn).empty());
  EXPECT_GE(CountLogins(user, "using SSL/TLS"), 3U);
  EXPECT_EQ(At(arn, "AWSCURRENT")["ssl"], JsonValue(false)) << "the field is kept";

  StartAws({{"DB_TLS_ALLOW_SECRET_DOWNGRADE", "true"}});
  const std::string plain = Unique("plain");
  CreateUser(plain, "initial-Password-0", "REQUIRE NONE");
  const std::string secure = Unique("plainreq");
  CreateUser(secure, "secure-Password-0", "REQUIRE SSL");
  ASSERT_FALSE(HasFailure());
  JsonValue plain_secret = SecretFor(plain, "initial-Password-0");
  plain_secret["ssl"] = false;
  const std::string plain_arn = CreateSecret(plain_secret);
  ASSERT_FALSE(Rotate(plain_arn).empty());
  // Every connection the function made as this user was plaintext.
  EXPECT_GE(CountLogins(plain, "using TCP/IP"), 3U);
  EXPECT_TRUE(LogsIn(plain, At(plain_arn, "AWSCURRENT")["password"].get<std::string>()));
  EXPECT_TRUE(Refused(plain, "initial-Password-0"));

  // A REQUIRE SSL user cannot log in without TLS: an allowed "ssl": false is
  // never upgraded behind the secret's back.
  JsonValue secure_secret = SecretFor(secure, "secure-Password-0");
  secure_secret["ssl"] = false;
  const std::string secure_arn = CreateSecret(secure_secret);
  ExpectFailedAt(aws_->RotateSecret(secure_arn), "setSecret", "DatabaseLoginFailed", secure);
  EXPECT_GE(CountLogins(secure, "using TCP/IP"), 2U);
  EXPECT_TRUE(LogsIn(secure, "secure-Password-0"));
}

// finishSecret without setSecret (a replayed or manual invocation right
// after createSecret): the database never got the pending password, so
// AWSCURRENT must not move.
// Every package ships Amazon RDS's CA bundle as db-ca-bundle.pem beside
// bootstrap, which the function trusts when DB_TLS_CA_FILE is unset. Here a
// copy of the real bootstrap has the test CA in that position instead.
TEST_F(MariaDbSingleUser, VerifyFullTrustsTheCaBundleInTheDefaultPosition) {
  const std::string dir = testing::MakeTempDir("default_ca");
  for (const auto& [ca, works] :
       {std::pair{server_.ca, true}, std::pair{server_.other_ca, false}}) {
    SCOPED_TRACE(ca);
    StartAwsFromTask(testing::MakeTaskDir(dir, BOOTSTRAP_PATH, ca));
    const std::string user = Unique("defaultca");
    CreateUser(user, "initial-Password-0");
    ASSERT_FALSE(HasFailure());
    const std::string arn = CreateSecret(SecretFor(user, "initial-Password-0"));
    const ProcessResult rotated = aws_->RotateSecret(arn);
    if (works) {
      ASSERT_EQ(rotated.exit_code, 0) << rotated.err << aws_->FunctionLog();
      const std::string password = At(arn, "AWSCURRENT")["password"].get<std::string>();
      EXPECT_TRUE(LogsIn(user, password)) << testing::LoginError(server_, user, password);
      EXPECT_GE(CountLogins(user, "using SSL/TLS"), 3U);
    } else {
      // The package's bundle, and nothing else, is what was trusted.
      ExpectFailedAt(rotated, "setSecret", "DatabaseTlsError", "the package's CA bundle");
      EXPECT_TRUE(LogsIn(user, "initial-Password-0"));
    }
  }
  std::filesystem::remove_all(dir);
}

// The names of RDS endpoints verify under verify-full: the function reaches
// the server as an instance, a cluster writer, a cluster reader, a custom
// cluster endpoint and an RDS Proxy endpoint (whose certificate has a
// wildcard), each mapped to 127.0.0.1, with the CA in the default position;
// a name the certificate does not hold is refused before any login.
TEST_F(MariaDbSingleUser, RdsEndpointNamesVerifyUnderVerifyFull) {
  std::string why;
  if (!testing::CanMapNamesToLoopback(&why)) GTEST_SKIP() << why;
  const std::string dir = testing::MakeTempDir("rds_names");
  const std::vector<std::string> names = testing::RdsEndpointNamesAndAnUnlistedOne();
  StartAwsFromTask(testing::MakeTaskDir(dir, BOOTSTRAP_PATH, server_.ca, names));
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string user = Unique("rdsname");
    CreateUser(user, "initial-Password-0");
    ASSERT_FALSE(HasFailure());
    JsonValue secret = SecretFor(user, "initial-Password-0");
    secret["host"] = name;
    const std::string arn = CreateSecret(secret);
    const ProcessResult rotated = aws_->RotateSecret(arn);
    if (name != testing::kUnlistedRdsName) {
      ASSERT_EQ(rotated.exit_code, 0) << rotated.err << aws_->FunctionLog();
      const std::string password = At(arn, "AWSCURRENT")["password"].get<std::string>();
      EXPECT_TRUE(LogsIn(user, password)) << testing::LoginError(server_, user, password);
    } else {
      ExpectFailedAt(rotated, "setSecret", "DatabaseTlsError", name);
      EXPECT_TRUE(testing::ConnectLines(server_, user).empty());
      EXPECT_TRUE(LogsIn(user, "initial-Password-0"));
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_F(MariaDbSingleUser, FinishSecretWithoutSetSecretIsRefused) {
  StartAws();
  const std::string user = Unique("finish");
  CreateUser(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const std::string arn = CreateSecret(SecretFor(user, "initial-Password-0"));
  const std::string first = aws_->VersionWithStage(arn, "AWSCURRENT");
  const std::string token = StopAfterCreateSecret(arn);
  bool function_error = false;
  const std::string response = aws_->Invoke(Event(arn, token, "finishSecret"), &function_error);
  EXPECT_TRUE(function_error) << response;
  EXPECT_TRUE(Contains(response, "DatabaseLoginFailed")) << response;
  EXPECT_TRUE(Contains(response, "refusing to move AWSCURRENT")) << response;
  EXPECT_EQ(aws_->VersionWithStage(arn, "AWSCURRENT"), first);
  EXPECT_TRUE(LogsIn(user, "initial-Password-0"));
}

// The general log records every statement: it must hold hashes, never a
// password (mysql_native_password accounts get '*<hash>').
TEST_F(MariaDbSingleUser, GeneralLogHoldsHashesNotPasswords) {
  StartAws();
  const std::string user = Unique("hashed");
  CreateUser(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const std::string arn = CreateSecret(SecretFor(user, "initial-Password-0"));
  ASSERT_FALSE(Rotate(arn).empty());
  ASSERT_FALSE(Rotate(arn).empty());
  const std::string log = testing::ReadFile(server_.general_log);
  for (const char* stage : {"AWSCURRENT", "AWSPREVIOUS"}) {
    const std::string password = At(arn, stage)["password"].get<std::string>();
    EXPECT_FALSE(Contains(log, password)) << stage << "'s password is in the general log";
  }
  MariaDbClient checker(server_, server_.admin_user, server_.admin_password);
  ASSERT_TRUE(checker.Exec("SET SESSION sql_log_off = 1")) << checker.error();  // see MariaDbTest
  const std::string hash =
      checker.Value("SELECT PASSWORD(" +
                    checker.Quote(At(arn, "AWSCURRENT")["password"].get<std::string>()) + ")");
  ASSERT_EQ(hash.size(), 41U);
  EXPECT_TRUE(Contains(log, "SET PASSWORD FOR '" + user + "'@'%' = '" + hash + "'"))
      << "the statement with the hash is in the log";
}

// Several accounts with one user name ('u'@'%' and 'u'@'localhost'): only
// the one the server matched changes, and a warning names the others.
TEST_F(MariaDbSingleUser, OtherAccountsOfTheUserAreNamedInAWarning) {
  StartAws();
  const std::string user = Unique("hosts");
  CreateUser(user, "initial-Password-0");
  AdminExec("CREATE USER " + admin_->Account(user, "localhost") + " IDENTIFIED BY " +
            admin_->Quote("initial-Password-0"));
  // The user may read mysql.user, so the function can see the other account.
  AdminExec("GRANT SELECT ON mysql.* TO " + admin_->Account(user));
  ASSERT_FALSE(HasFailure());
  const std::string arn = CreateSecret(SecretFor(user, "initial-Password-0"));
  ASSERT_FALSE(Rotate(arn).empty());
  const std::string log = aws_->FunctionLog();
  EXPECT_TRUE(Contains(log, "'" + user + "'@'localhost'")) << log;
  EXPECT_TRUE(Contains(log, "did not change")) << log;
  AdminExec("DROP USER " + admin_->Account(user, "localhost"));
}

// --- bad secrets -------------------------------------------------------------

TEST_F(MariaDbSingleUser, BadSecretsFailAtCreateSecretAndChangeNothing) {
  StartAws();
  const std::string user = Unique("badsecret");
  const std::string password = "Bad-Secret-Password-" + testing::RandomSuffix();
  CreateUser(user, password);
  ASSERT_FALSE(HasFailure());
  const std::string account = testing::ShowCreateUser(*admin_, user);
  const JsonValue good = SecretFor(user, password);
  auto without = [&](const char* field) {
    JsonValue secret = good;
    secret.erase(field);
    return WriteJson(secret);
  };
  auto with = [&](const char* field, const JsonValue& value) {
    JsonValue secret = good;
    secret[field] = value;
    return WriteJson(secret);
  };
  JsonValue alternating = good;
  alternating["rotationStrategy"] = "alternating-users";
  struct BadSecret {
    const char* what;
    std::string text;
    std::string fragment;
  };
  const BadSecret cases[] = {
      {"no host", without("host"), "field 'host' is missing or empty"},
      {"no username", without("username"), "field 'username' is missing or empty"},
      {"no password", without("password"), "field 'password' is missing"},
      {"password not a string", with("password", 12345), "field 'password' must be a string"},
      {"wrong engine", with("engine", "oracle"), "engine 'oracle' is not supported"},
      {"bad port", with("port", "33o6"), "field 'port' must be a number from 1 to 65535"},
      {"not JSON", "host=" + server_.host + " user=" + user + " password=" + password,
       "is not valid JSON"},
      {"not an object", "[\"" + user + "\", \"" + password + "\"]", "must be a JSON object"},
      {"alternating without masterarn", WriteJson(alternating), "field 'masterarn' is missing"},
  };
  std::vector<std::string> texts;
  for (const BadSecret& bad : cases) texts.push_back(bad.text);
  aws_->ClearRequests();
  const std::size_t connects = testing::ConnectLines(server_, user).size();

  const std::vector<Rotation> rotations = RotateAll(texts);

  for (std::size_t i = 0; i < rotations.size(); ++i) {
    SCOPED_TRACE(cases[i].what);
    const ProcessResult& rotated = rotations[i].rotated;
    ExpectFailedAt(rotated, "createSecret", "InvalidSecret", cases[i].fragment);
    EXPECT_TRUE(Contains(rotated.err, rotations[i].arn)) << "names the secret: " << rotated.err;
    EXPECT_FALSE(Contains(rotated.err, password)) << rotated.err;
  }
  // Nothing stored, no label moved (the journal holds every request), and
  // the function never connected to the server.
  const JsonValue requests = aws_->Requests();
  EXPECT_GE(requests.size(), 4 * rotations.size());
  for (const JsonValue& request : requests) {
    EXPECT_NE(request["operation"].get<std::string>(), "PutSecretValue");
    EXPECT_NE(request["operation"].get<std::string>(), "UpdateSecretVersionStage");
  }
  EXPECT_EQ(testing::ConnectLines(server_, user).size(), connects);
  EXPECT_EQ(testing::ShowCreateUser(*admin_, user), account);
  EXPECT_FALSE(testing::UserExists(*admin_, user + "_clone"));
  EXPECT_TRUE(LogsIn(user, password));
}

TEST_F(MariaDbAlternatingUsers, MasterArnNamingAMissingSecretFailsAndChangesNothing) {
  StartAws();
  const std::string user = Unique("nomaster");
  CreateUser(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const std::string account = testing::ShowCreateUser(*admin_, user);
  const std::string missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-admin";
  JsonValue secret = AlternatingSecretFor(user, "initial-Password-0");
  secret["masterarn"] = missing;
  const std::string arn = CreateSecret(secret);
  const std::string first = aws_->VersionWithStage(arn, "AWSCURRENT");

  const ProcessResult rotated = aws_->RotateSecret(arn);

  ExpectFailedAt(rotated, "createSecret", "ResourceNotFoundException", missing);
  EXPECT_TRUE(Contains(rotated.err, "masterarn")) << rotated.err;
  EXPECT_FALSE(testing::UserExists(*admin_, user + "_clone"));
  EXPECT_TRUE(testing::ConnectLines(server_, user + "_clone").empty());
  EXPECT_EQ(testing::ShowCreateUser(*admin_, user), account);
  EXPECT_TRUE(LogsIn(user, "initial-Password-0"));
  EXPECT_EQ(aws_->VersionWithStage(arn, "AWSCURRENT"), first);
}

// A masterarn secret that names the rotated user (or its clone) is refused
// in createSecret, before anything changes (rotation 1 created a
// full-privilege "<admin>_clone" before).
TEST_F(MariaDbAlternatingUsers, AdminThatIsTheRotatedUserIsRefusedBeforeAnyChange) {
  StartAws();
  const std::string user = Unique("selfadmin");
  CreateUser(user, "initial-Password-0");
  AdminExec("GRANT ALL PRIVILEGES ON *.* TO " + admin_->Account(user) + " WITH GRANT OPTION");
  ASSERT_FALSE(HasFailure());
  const std::string account = testing::ShowCreateUser(*admin_, user);
  JsonValue secret = SecretFor(user, "initial-Password-0");
  secret["masterarn"] =
      aws_->CreateSecret("self-admin", WriteJson(SecretFor(user, "initial-Password-0")));
  secret["rotationStrategy"] = "alternating-users";
  const std::string arn = CreateSecret(secret);
  const std::string first = aws_->VersionWithStage(arn, "AWSCURRENT");

  ExpectFailedAt(aws_->RotateSecret(arn), "createSecret", "AccountMismatch", "masterarn");
  EXPECT_FALSE(testing::UserExists(*admin_, user + "_clone"));
  EXPECT_EQ(testing::ShowCreateUser(*admin_, user), account);
  for (const JsonValue& request : aws_->Requests()) {
    EXPECT_NE(request["operation"].get<std::string>(), "PutSecretValue") << "nothing was stored";
  }
  EXPECT_EQ(aws_->VersionWithStage(arn, "AWSCURRENT"), first);
}

// An existing "<user>_clone" that this function did not create may belong to
// another application: its password and grants are left as they are.
TEST_F(MariaDbAlternatingUsers, AnUnrelatedCloneAccountIsNotTakenOver) {
  StartAws();
  const std::string user = Unique("takeover");
  const std::string clone = user + "_clone";
  const std::string database = Unique("takeoverdb");
  CreateUser(user, "initial-Password-0");
  CreateDatabase(database);
  AdminExec("CREATE USER " + admin_->Account(clone) + " IDENTIFIED BY " +
            admin_->Quote("other-application-Password"));
  Grant("SELECT, INSERT, DELETE", database, clone);
  ASSERT_FALSE(HasFailure());
  const std::string account = testing::ShowCreateUser(*admin_, clone);
  const std::vector<std::string> grants = testing::NormalizedGrants(*admin_, clone);
  const std::string arn = CreateSecret(AlternatingSecretFor(user, "initial-Password-0"));
  const int statements = PasswordStatements(clone);

  ExpectFailedAt(aws_->RotateSecret(arn), "setSecret", "AccountNotManaged", clone);
  EXPECT_EQ(testing::ShowCreateUser(*admin_, clone), account);
  EXPECT_EQ(testing::NormalizedGrants(*admin_, clone), grants);
  EXPECT_TRUE(LogsIn(clone, "other-application-Password"));
  EXPECT_EQ(PasswordStatements(clone), statements);
}

// A secret whose user is "x_clone" while "x" does not exist: refused, and
// "x" is not created (one rule with PostgreSQL).
TEST_F(MariaDbAlternatingUsers, ACloneWhoseOriginalIsMissingIsRefused) {
  StartAws();
  const std::string base = Unique("orphan");
  CreateUser(base + "_clone", "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  const std::string arn = CreateSecret(AlternatingSecretFor(base + "_clone", "initial-Password-0"));
  ExpectFailedAt(aws_->RotateSecret(arn), "setSecret", "AccountNotManaged", base);
  EXPECT_FALSE(testing::UserExists(*admin_, base));
}

// --- RDS-managed master secrets, reader endpoints ----------------------------
// The local RDS (the same server as the local Secrets Manager) describes the
// private MariaDB server as an instance, or as a cluster whose writer
// endpoint is "localhost" and whose reader endpoint is "127.0.0.1": two host
// names for the one server, both in its certificate.

constexpr char kRdsInstanceArn[] = "arn:aws:rds:us-east-1:123456789012:db:rotator-db";
constexpr char kRdsClusterArn[] = "arn:aws:rds:us-east-1:123456789012:cluster:rotator-cluster";

class MariaDbRdsManaged : public MariaDbRotationTest {
 protected:
  // An RDS-managed master secret: only username and password, and the tag
  // `tag` = `arn` that RDS puts on it.
  std::string CreateRdsManagedSecret(const std::string& tag, const std::string& arn) {
    JsonValue value;
    value["username"] = server_.admin_user;
    value["password"] = server_.admin_password;
    JsonValue tags = JsonValue::array();
    tags.push_back({{"Key", tag}, {"Value", arn}});
    const JsonValue created =
        aws_->AwsJson({"secretsmanager", "create-secret", "--name", Unique("rds-db"),
                       "--secret-string", WriteJson(value), "--tags", WriteJson(tags)});
    return created["ARN"].get<std::string>();
  }

  void ConfigureCluster(bool with_reader) {
    JsonValue cluster = {{"identifier", "rotator-cluster"},
                         {"engine", "aurora-mysql"},
                         {"endpoint", "localhost"},
                         {"port", server_.port},
                         {"members", JsonValue::array({"rotator-cluster-1"})}};
    if (with_reader) cluster["reader_endpoint"] = server_.host;
    JsonValue instance = {{"identifier", "rotator-cluster-1"},
                          {"engine", "aurora-mysql"},
                          {"address", "rotator-cluster-1.local.invalid"},
                          {"port", server_.port},
                          {"cluster", "rotator-cluster"}};
    aws_->ConfigureRds(
        {{"clusters", JsonValue::array({cluster})}, {"instances", JsonValue::array({instance})}});
  }

  // The RDS operations the function called, from the local server's journal.
  std::vector<std::string> RdsCalls() const {
    std::vector<std::string> calls;
    for (const JsonValue& entry : aws_->Requests()) {
      if (entry.contains("service") && entry["service"] == "rds") {
        calls.push_back(entry["operation"].get<std::string>() + " " +
                        entry["identifier"].get<std::string>());
      }
    }
    return calls;
  }

  // Two alternating-users rotations of `user` (made here) whose secret's
  // host is `host` and masterarn `master`; both must succeed.
  void RotateTwice(const std::string& user, const std::string& host, const std::string& master) {
    CreateUser(user, "initial-Password-0");
    ASSERT_FALSE(HasFailure());
    JsonValue secret = SecretFor(user, "initial-Password-0");
    secret["host"] = host;
    secret["masterarn"] = master;
    secret["rotationStrategy"] = "alternating-users";
    const std::string arn = CreateSecret(secret);
    std::string version = aws_->VersionWithStage(arn, "AWSCURRENT");
    for (const std::string& expected : {user + "_clone", user}) {
      const JsonValue current = RotateAndCheckLabels(arn, &version);
      ASSERT_FALSE(HasFailure());
      EXPECT_EQ(current["username"], expected);
      EXPECT_EQ(current["host"], host) << "the secret keeps its own host";
      EXPECT_FALSE(current.contains("engine") && current["engine"] != "mariadb");
      EXPECT_TRUE(LogsIn(expected, current["password"].get<std::string>()));
    }
  }
};

TEST_F(MariaDbRdsManaged, MasterSecretOfAnInstanceGetsItsHostFromRds) {
  StartAws();
  aws_->ConfigureRds({{"instances", JsonValue::array({{{"identifier", "rotator-db"},
                                                       {"engine", "mariadb"},
                                                       {"address", server_.host},
                                                       {"port", server_.port}}})}});
  const std::string master =
      CreateRdsManagedSecret("aws:rds:primaryDBInstanceArn", kRdsInstanceArn);
  aws_->ClearRequests();
  RotateTwice(Unique("rdsinst"), server_.host, master);
  // createSecret and setSecret of each rotation read the master secret's
  // tags and asked RDS; the hosts were the same, so nothing else.
  const std::vector<std::string> calls = RdsCalls();
  EXPECT_EQ(calls.size(), 4U) << ::testing::PrintToString(calls);
  for (const std::string& call : calls) {
    EXPECT_EQ(call, std::string("DescribeDBInstances ") + kRdsInstanceArn);
  }
}

TEST_F(MariaDbRdsManaged, UserSecretOnTheReaderEndpointIsAccepted) {
  StartAws();
  ConfigureCluster(/*with_reader=*/true);
  const std::string master = CreateRdsManagedSecret("aws:rds:primaryDBClusterArn", kRdsClusterArn);
  ASSERT_EQ(server_.host, "127.0.0.1");
  // The admin connects to the writer endpoint (localhost), the user secret
  // names the reader endpoint (127.0.0.1).
  RotateTwice(Unique("rdsreader"), server_.host, master);
}

TEST_F(MariaDbRdsManaged, UserSecretOnAForeignHostIsRefusedBeforeAnyChange) {
  StartAws();
  ConfigureCluster(/*with_reader=*/false);
  const std::string master = CreateRdsManagedSecret("aws:rds:primaryDBClusterArn", kRdsClusterArn);
  const std::string user = Unique("rdsforeign");
  CreateUser(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  JsonValue secret = SecretFor(user, "initial-Password-0");
  secret["masterarn"] = master;
  secret["rotationStrategy"] = "alternating-users";
  const std::string arn = CreateSecret(secret);
  const std::string first = aws_->VersionWithStage(arn, "AWSCURRENT");

  const ProcessResult rotated = aws_->RotateSecret(arn);

  ExpectFailedAt(rotated, "createSecret", "CredentialsMismatch", server_.host + ":");
  EXPECT_TRUE(Contains(rotated.err, "localhost:" + std::to_string(server_.port))) << rotated.err;
  EXPECT_TRUE(Contains(rotated.err, "cluster rotator-cluster")) << rotated.err;
  EXPECT_FALSE(testing::UserExists(*admin_, user + "_clone"));
  EXPECT_EQ(aws_->VersionWithStage(arn, "AWSCURRENT"), first);
}

TEST_F(MariaDbRdsManaged, MasterSecretWithoutHostOrTagsIsRefused) {
  StartAws();
  JsonValue value;
  value["username"] = server_.admin_user;
  value["password"] = server_.admin_password;
  const std::string master = aws_->CreateSecret(Unique("untagged"), WriteJson(value));
  const std::string user = Unique("rdsnotags");
  CreateUser(user, "initial-Password-0");
  ASSERT_FALSE(HasFailure());
  JsonValue secret = SecretFor(user, "initial-Password-0");
  secret["masterarn"] = master;
  secret["rotationStrategy"] = "alternating-users";
  const ProcessResult rotated = aws_->RotateSecret(CreateSecret(secret));
  ExpectFailedAt(rotated, "createSecret", "InvalidSecret", "aws:rds:primaryDBInstanceArn");
  EXPECT_FALSE(testing::UserExists(*admin_, user + "_clone"));
}

}  // namespace
}  // namespace secret_rotator
