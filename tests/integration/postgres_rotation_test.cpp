// PostgreSQL rotations the way AWS runs them: the AWS CLI creates a secret and
// calls rotate-secret on the local Secrets Manager, which invokes the real
// bootstrap through the local Lambda service for the four steps, against the
// private PostgreSQL cluster of tests/servers/postgres.sh (CTest fixture
// "postgres"). Outcomes are checked on the server directly with libpq, and in
// its log (log_statement = 'all', log_connections = on). Every test uses role
// names of its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "aws/config.h"
#include "aws/secrets_manager.h"
#include "base/deadline.h"
#include "base/json.h"
#include "http/http_client.h"
#include "tests/support/local_aws.h"
#include "tests/support/postgres_server.h"
#include "tests/support/task_dir.h"

namespace secret_rotator {
namespace {

using testing::LocalAws;
using testing::LocalAwsOptions;
using testing::LogsIn;
using testing::PgConnection;
using testing::ProcessResult;
using testing::UniqueName;

constexpr char kCurrent[] = "AWSCURRENT";
constexpr char kPending[] = "AWSPENDING";
constexpr char kPrevious[] = "AWSPREVIOUS";
constexpr char kCloneSuffix[] = "_clone";

JsonValue Parse(const std::string& text) { return ParseJson(text, "test", "Test").value(); }

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A password that is hard to quote: quotes, backslashes, dollar quoting,
// a comment and non-ASCII, made unique so that logs can be searched for it.
std::string HostilePassword() {
  return "a'b\"c\\d$$e;--" + UniqueName("Pw") + "\xC3\xA9\xE2\x82\xAC";  // é €
}

std::string Event(const std::string& arn, const std::string& token, const std::string& step) {
  JsonValue event;
  event["SecretId"] = arn;
  event["ClientRequestToken"] = token;
  event["Step"] = step;
  return WriteJson(event);
}

class PostgresRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    std::optional<testing::PostgresServer> server = testing::LoadPostgresServer(&error);
    ASSERT_TRUE(server.has_value()) << error;
    server_ = *server;
    admin_ = std::make_unique<PgConnection>(server_, server_.admin_user, server_.admin_password);
    ASSERT_TRUE(admin_->ok()) << admin_->error();
    StartFunction({});
  }

  // The function's environment besides DB_TLS_CA_FILE, for the fixture.
  virtual std::map<std::string, std::string> FunctionEnv() const { return {}; }

  // (Re)starts the local AWS services; the function runs the real bootstrap
  // with verified TLS against the test CA, FunctionEnv() and `env`.
  void StartFunction(const std::map<std::string, std::string>& env) {
    LocalAwsOptions options{BOOTSTRAP_PATH};
    options.function_env = FunctionEnv();
    options.function_env["DB_TLS_CA_FILE"] = server_.ca;
    for (const auto& [name, value] : env) options.function_env[name] = value;
    Start(options);
  }

  // (Re)starts the local AWS services with the function running from `task`
  // (a copy of the real bootstrap with a db-ca-bundle.pem beside it) in a
  // clean environment: no DB_TLS_CA_FILE, DB_TLS_MODE's default (verify-full).
  void StartFunctionFromTask(const testing::TaskDir& task) {
    LocalAwsOptions options{task.bootstrap};
    options.task_root = task.dir;
    options.clean_env = true;
    options.function_env = FunctionEnv();
    Start(options);
  }

  void Start(const LocalAwsOptions& options) {
    local_.reset();
    local_ = std::make_unique<LocalAws>(options);
    aws::AwsConfig config;
    config.region = testing::kLocalRegion;
    config.endpoint = aws::ParseEndpoint(local_->secrets_manager_url()).value();
    config.credentials.access_key_id = testing::kLocalAccessKey;
    config.credentials.secret_access_key = Secret(std::string(testing::kLocalSecretKey));
    reader_ = aws::NewSecretsManagerClient(http::NewClient().value(), std::move(config));
  }

  JsonValue SecretFor(const std::string& user, const std::string& password) const {
    JsonValue secret;
    secret["engine"] = "postgres";
    secret["host"] = server_.host;
    secret["port"] = server_.port;
    secret["username"] = user;
    secret["password"] = password;
    secret["dbname"] = "postgres";
    return secret;
  }

  std::string CreateSecret(const JsonValue& secret) const {
    return local_->CreateSecret(UniqueName("secret"), WriteJson(secret));
  }

  // A role `user` with `password` and a secret for it; returns the ARN.
  std::string CreateRoleAndSecret(const std::string& user, const std::string& password,
                                  JsonValue extra = JsonValue::object()) {
    admin_->CreateRole(user, password);
    JsonValue secret = SecretFor(user, password);
    for (const auto& [field, value] : extra.items()) secret[field] = value;
    return CreateSecret(secret);
  }

  // rotate-secret; returns the new version id. Throws (failing the test) with
  // the CLI's error and the function's log when the rotation fails.
  std::string Rotate(const std::string& arn) const {
    const ProcessResult rotated = local_->RotateSecret(arn);
    if (rotated.exit_code != 0) {
      throw std::runtime_error("rotate-secret failed: " + rotated.err + "\nfunction log:\n" +
                               local_->FunctionLog());
    }
    return Parse(rotated.out)["VersionId"].get<std::string>();
  }

  // rotate-secret that is expected to fail; returns the CLI's stderr.
  std::string FailedRotation(const std::string& arn) const {
    const ProcessResult rotated = local_->RotateSecret(arn);
    EXPECT_NE(rotated.exit_code, 0) << "rotate-secret succeeded";
    EXPECT_TRUE(Contains(rotated.err, "RotationFailedException")) << rotated.err;
    return rotated.err;
  }

  // The checks read labels and values with the project's own client (the
  // AWS CLI takes most of a second a call); ExpectTheCliAgrees cross-checks.

  JsonValue ValueAt(const std::string& arn, const char* stage) const {
    Result<aws::SecretValue> value = reader_->GetSecretValue({arn, std::nullopt, stage}, Soon());
    if (!value.ok()) throw std::runtime_error(value.status().message());
    return Parse(std::string(value->secret_string.reveal()));
  }

  // version id -> sorted labels, of the versions that have labels.
  std::map<std::string, std::vector<std::string>> Stages(const std::string& arn) const {
    Result<aws::SecretDescription> description = reader_->DescribeSecret(arn, Soon());
    if (!description.ok()) throw std::runtime_error(description.status().message());
    std::map<std::string, std::vector<std::string>> stages = description->version_stages;
    for (auto& [version, labels] : stages) std::sort(labels.begin(), labels.end());
    return stages;
  }

  // The version holding `stage`, or "" if none.
  std::string VersionWithStage(const std::string& arn, const char* stage) const {
    for (const auto& [version, labels] : Stages(arn)) {
      if (std::find(labels.begin(), labels.end(), stage) != labels.end()) return version;
    }
    return "";
  }

  // The AWS CLI sees the labels and the AWSCURRENT value the checks saw.
  void ExpectTheCliAgrees(const std::string& arn) const {
    EXPECT_EQ(local_->Stages(arn), Stages(arn));
    EXPECT_EQ(Parse(local_->ValueAt(arn, kCurrent)), ValueAt(arn, kCurrent));
  }

  // The labels AWS leaves after a rotation: AWSCURRENT (and the rotation's
  // AWSPENDING) on `current`, AWSPREVIOUS on `previous`, none elsewhere.
  void ExpectLabelsAfterRotation(const std::string& arn, const std::string& current,
                                 const std::string& previous) const {
    const std::map<std::string, std::vector<std::string>> expected = {
        {current, {kCurrent, kPending}}, {previous, {kPrevious}}};
    EXPECT_EQ(Stages(arn), expected);
  }

  // Every password ever stored in `arn`, from each of its versions, read
  // with the AWS CLI (in parallel: a call takes most of a second).
  std::vector<std::string> AllPasswords(const std::string& arn) const {
    const JsonValue versions =
        local_->AwsJson({"secretsmanager", "list-secret-version-ids", "--secret-id", arn,
                         "--include-deprecated"})["Versions"];
    std::vector<std::future<JsonValue>> values;
    for (const JsonValue& version : versions) {
      values.push_back(std::async(std::launch::async, [this, arn, id = version["VersionId"]] {
        return local_->AwsJson({"secretsmanager", "get-secret-value", "--secret-id", arn,
                                "--version-id", id.get<std::string>()});
      }));
    }
    std::vector<std::string> passwords;
    for (std::future<JsonValue>& value : values) {
      passwords.push_back(
          Parse(value.get()["SecretString"].get<std::string>())["password"].get<std::string>());
    }
    return passwords;
  }

  // Crashes a rotation of `arn` after setSecret, then lets Secrets Manager
  // retry it. The rotation starts and stops in createSecret (Secrets Manager
  // refuses the function's PutSecretValue once); createSecret and setSecret
  // then run through the Lambda Invoke API, and the function "crashes" before
  // testSecret. Expects the retried rotation to complete without changing
  // the pending password of `pending_user`, which the database already has.
  // Starts a rotation of `arn` that stops in createSecret (Secrets Manager
  // refuses the function's PutSecretValue once), runs createSecret again
  // through the Lambda Invoke API, and returns the rotation's token: the
  // AWSPENDING version exists, and nothing else happened.
  std::string StopAfterCreateSecret(const std::string& arn) {
    const std::string first = VersionWithStage(arn, kCurrent);
    JsonValue refusal;
    refusal["status"] = 400;
    refusal["type"] = "InvalidRequestException";
    refusal["message"] = "injected by the test";
    JsonValue faults;
    faults["operation"] = "PutSecretValue";
    faults["responses"].push_back(refusal);
    local_->QueueFaults(faults);
    const ProcessResult stopped = local_->RotateSecret(arn);
    EXPECT_NE(stopped.exit_code, 0);
    EXPECT_TRUE(Contains(stopped.err, "rotation step createSecret failed")) << stopped.err;
    const std::string token = local_->VersionWithStage(arn, kPending);
    EXPECT_FALSE(token.empty());
    EXPECT_NE(token, first);
    bool function_error = true;
    const std::string response = local_->Invoke(Event(arn, token, "createSecret"), &function_error);
    EXPECT_FALSE(function_error) << response;
    return token;
  }

  void CrashAfterSetSecretAndResume(const std::string& arn, const std::string& pending_user) {
    const std::string first = VersionWithStage(arn, kCurrent);
    const std::string token = StopAfterCreateSecret(arn);
    ASSERT_FALSE(HasFailure());
    for (const char* step : {"setSecret"}) {
      bool function_error = true;
      const std::string response = local_->Invoke(Event(arn, token, step), &function_error);
      ASSERT_FALSE(function_error) << step << ": " << response;
    }
    const JsonValue pending = ValueAt(arn, kPending);
    ASSERT_EQ(pending["username"].get<std::string>(), pending_user);
    ASSERT_TRUE(LogsIn(server_, pending_user, pending["password"].get<std::string>()));
    const std::string verifier = admin_->StoredVerifier(pending_user);

    const ProcessResult resumed = local_->Aws({"secretsmanager", "rotate-secret", "--secret-id",
                                               arn, "--client-request-token", token,
                                               "--rotation-lambda-arn", testing::kFunctionArn});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err << local_->FunctionLog();
    ExpectLabelsAfterRotation(arn, token, first);
    EXPECT_EQ(ValueAt(arn, kCurrent), pending);
    EXPECT_TRUE(LogsIn(server_, pending_user, pending["password"].get<std::string>()));
    EXPECT_EQ(admin_->StoredVerifier(pending_user), verifier) << "setSecret changed it again";
  }

  std::string ServerLog() const { return testing::ReadFile(server_.log); }

  // None of `passwords` is in the server log, as is or as an SQL literal
  // would hold it.
  void ExpectLogHoldsNone(const std::vector<std::string>& passwords) const {
    const std::string log = ServerLog();
    for (const std::string& password : passwords) {
      ASSERT_GE(password.size(), 8u);
      std::string doubled;  // as in an SQL string literal
      for (char c : password) {
        doubled += (c == '\'' || c == '\\') ? std::string(2, c) : std::string(1, c);
      }
      EXPECT_FALSE(Contains(log, password))
          << "the server log " << server_.log << " holds a password";
      EXPECT_FALSE(Contains(log, doubled))
          << "the server log " << server_.log << " holds a password";
    }
  }

  // The server log's "connection authorized" lines of the function's
  // connections as `user`.
  std::vector<std::string> FunctionLogins(const std::string& user) const {
    std::vector<std::string> lines;
    std::istringstream log(ServerLog());
    const std::string marker = "connection authorized: user=" + user +
                               " database=postgres application_name=secret-rotator";
    for (std::string line; std::getline(log, line);) {
      if (Contains(line, marker)) lines.push_back(line);
    }
    return lines;
  }

  // The function logged in as `user`, every time over TLS iff `tls`.
  void ExpectFunctionLoginsUsed(const std::string& user, bool tls) const {
    const std::vector<std::string> logins = FunctionLogins(user);
    EXPECT_FALSE(logins.empty()) << "no login as " << user << " in " << server_.log;
    for (const std::string& line : logins) {
      EXPECT_EQ(Contains(line, "SSL enabled"), tls) << line;
    }
  }

  static Deadline Soon() { return Deadline::After(std::chrono::seconds(10)); }

  testing::PostgresServer server_;
  std::unique_ptr<PgConnection> admin_;
  std::unique_ptr<LocalAws> local_;
  std::unique_ptr<aws::SecretsManager> reader_;
};

class PostgresSingleUser : public PostgresRotationTest {};

class PostgresAlternatingUsers : public PostgresRotationTest {
 protected:
  std::map<std::string, std::string> FunctionEnv() const override {
    return {{"ROTATION_STRATEGY", "alternating-users"}};
  }

  // The admin's secret (the cluster's superuser), for masterarn.
  std::string MasterSecret() const {
    return CreateSecret(SecretFor(server_.admin_user, server_.admin_password));
  }

  // A role `user` and an alternating-users secret for it with masterarn
  // `master` (default: a new admin secret); returns the secret's ARN.
  std::string CreateAlternatingSecret(const std::string& user, const std::string& password,
                                      const std::string& master = "") {
    JsonValue extra;
    extra["masterarn"] = master.empty() ? MasterSecret() : master;
    return CreateRoleAndSecret(user, password, extra);
  }
};

// ---- Whole rotations ----

TEST_F(PostgresSingleUser, TenRotationsInARow) {
  const std::string user = UniqueName("e2e_single_ten");
  std::string password = HostilePassword();
  const std::string arn = CreateRoleAndSecret(user, password);
  std::string previous_version = VersionWithStage(arn, kCurrent);
  std::vector<std::string> passwords = {password};

  for (int rotation = 1; rotation <= 10; ++rotation) {
    SCOPED_TRACE("rotation " + std::to_string(rotation));
    const std::string version = Rotate(arn);
    const JsonValue current = ValueAt(arn, kCurrent);
    const std::string next = current["password"].get<std::string>();
    EXPECT_EQ(current["username"].get<std::string>(), user);
    EXPECT_EQ(next.size(), 32u);
    EXPECT_EQ(std::find(passwords.begin(), passwords.end(), next), passwords.end());
    EXPECT_TRUE(LogsIn(server_, user, next)) << "the new AWSCURRENT logs in";
    EXPECT_FALSE(LogsIn(server_, user, password)) << "the old password is refused";
    ExpectLabelsAfterRotation(arn, version, previous_version);
    EXPECT_EQ(admin_->StoredVerifier(user).rfind("SCRAM-SHA-256$", 0), 0u);
    passwords.push_back(next);
    password = next;
    previous_version = version;
  }
  ExpectTheCliAgrees(arn);
  ExpectFunctionLoginsUsed(user, /*tls=*/true);
  ExpectLogHoldsNone(passwords);
}

TEST_F(PostgresAlternatingUsers, TenRotationsInARow) {
  const std::string user = UniqueName("e2e_alt_ten");
  const std::string clone = user + kCloneSuffix;
  std::string password = HostilePassword();
  const std::string arn = CreateAlternatingSecret(user, password);
  const std::string master = ValueAt(arn, kCurrent)["masterarn"].get<std::string>();
  std::string previous_version = VersionWithStage(arn, kCurrent);
  std::string previous_user = user;
  std::map<std::string, std::string> latest = {{user, password}};  // each role's last password
  std::vector<std::string> passwords = {password, server_.admin_password};

  for (int rotation = 1; rotation <= 10; ++rotation) {
    SCOPED_TRACE("rotation " + std::to_string(rotation));
    const std::string version = Rotate(arn);
    const JsonValue current = ValueAt(arn, kCurrent);
    const std::string current_user = current["username"].get<std::string>();
    const std::string next = current["password"].get<std::string>();
    EXPECT_EQ(current_user, rotation % 2 == 1 ? clone : user);
    EXPECT_EQ(current["masterarn"].get<std::string>(), master) << "other fields are kept";
    if (const auto old = latest.find(current_user); old != latest.end()) {
      EXPECT_FALSE(LogsIn(server_, current_user, old->second)) << "its old password is refused";
    }
    EXPECT_TRUE(LogsIn(server_, current_user, next)) << "AWSCURRENT logs in";
    EXPECT_TRUE(LogsIn(server_, previous_user, latest[previous_user])) << "AWSPREVIOUS logs in";
    ExpectLabelsAfterRotation(arn, version, previous_version);
    latest[current_user] = next;
    passwords.push_back(next);
    previous_user = current_user;
    previous_version = version;
  }
  // The clone acts as the original; the admin kept its password.
  PgConnection as_clone(server_, clone, latest[clone]);
  ASSERT_TRUE(as_clone.ok()) << as_clone.error();
  EXPECT_EQ(as_clone.Query("SELECT session_user || '/' || current_user"), clone + "/" + user);
  EXPECT_TRUE(LogsIn(server_, server_.admin_user, server_.admin_password));
  EXPECT_EQ(admin_->Query("SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1)", {user}),
            "2");
  ExpectTheCliAgrees(arn);
  ExpectFunctionLoginsUsed(clone, /*tls=*/true);
  ExpectLogHoldsNone(passwords);
}

TEST_F(PostgresAlternatingUsers, TablesAreSharedBothWays) {
  const std::string user = UniqueName("e2e_alt_tables");
  const std::string clone = user + kCloneSuffix;
  const std::string original_password = HostilePassword();
  const std::string arn = CreateAlternatingSecret(user, original_password);
  const std::string schema = UniqueName("e2e_schema");
  admin_->Query("CREATE SCHEMA " + admin_->Identifier(schema) + " AUTHORIZATION " +
                admin_->Identifier(user));
  const std::string by_clone = admin_->Identifier(schema) + ".made_by_clone";
  const std::string by_original = admin_->Identifier(schema) + ".made_by_original";

  Rotate(arn);
  const std::string clone_password = ValueAt(arn, kCurrent)["password"].get<std::string>();
  {
    PgConnection as_clone(server_, clone, clone_password);
    PgConnection as_original(server_, user, original_password);
    ASSERT_TRUE(as_clone.ok()) << as_clone.error();
    ASSERT_TRUE(as_original.ok()) << as_original.error();
    as_clone.Query("CREATE TABLE " + by_clone + " (n int)");
    as_clone.Query("INSERT INTO " + by_clone + " VALUES (1)");
    as_original.Query("INSERT INTO " + by_clone + " VALUES (2)");
    as_original.Query("UPDATE " + by_clone + " SET n = n + 10");
    EXPECT_EQ(as_original.Query("SELECT sum(n)::text FROM " + by_clone), "23");

    as_original.Query("CREATE TABLE " + by_original + " (n int)");
    as_original.Query("INSERT INTO " + by_original + " VALUES (5)");
    as_clone.Query("INSERT INTO " + by_original + " VALUES (6)");
    as_clone.Query("DELETE FROM " + by_original + " WHERE n = 5");
    EXPECT_EQ(as_clone.Query("SELECT sum(n)::text FROM " + by_original), "6");
  }

  // Back to the original, with a new password: both still use both tables.
  Rotate(arn);
  const JsonValue current = ValueAt(arn, kCurrent);
  ASSERT_EQ(current["username"].get<std::string>(), user);
  PgConnection as_original(server_, user, current["password"].get<std::string>());
  PgConnection as_clone(server_, clone, clone_password);
  ASSERT_TRUE(as_original.ok()) << as_original.error();
  ASSERT_TRUE(as_clone.ok()) << as_clone.error();
  for (PgConnection* conn : {&as_original, &as_clone}) {
    for (const std::string& table : {by_clone, by_original}) {
      conn->Query("INSERT INTO " + table + " VALUES (100)");
      conn->Query("UPDATE " + table + " SET n = n + 1 WHERE n >= 100");
    }
  }
  EXPECT_EQ(as_clone.Query("SELECT string_agg(n::text, ',' ORDER BY n) FROM " + by_clone),
            "11,12,101,102");
  EXPECT_EQ(as_original.Query("SELECT string_agg(n::text, ',' ORDER BY n) FROM " + by_original),
            "6,101,102");
  for (const char* table : {"made_by_clone", "made_by_original"}) {
    EXPECT_EQ(admin_->Query("SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND "
                            "tablename = $2",
                            {schema, table}),
              user)
        << table;
  }
}

// ---- Recovery ----

TEST_F(PostgresSingleUser, RecoversFromACrashAfterSetSecret) {
  const std::string user = UniqueName("e2e_single_crash");
  const std::string password = HostilePassword();
  const std::string arn = CreateRoleAndSecret(user, password);
  CrashAfterSetSecretAndResume(arn, user);
  EXPECT_FALSE(LogsIn(server_, user, password));
}

TEST_F(PostgresAlternatingUsers, RecoversFromACrashAfterSetSecret) {
  const std::string user = UniqueName("e2e_alt_crash");
  const std::string password = HostilePassword();
  const std::string arn = CreateAlternatingSecret(user, password);
  CrashAfterSetSecretAndResume(arn, user + kCloneSuffix);
  EXPECT_TRUE(LogsIn(server_, user, password)) << "the original still logs in";
}

TEST_F(PostgresSingleUser, RecoversWhenOnlyThePreviousPasswordWorks) {
  const std::string user = UniqueName("e2e_single_prev");
  const std::string password = HostilePassword();
  const std::string arn = CreateRoleAndSecret(user, password);
  const std::string first = VersionWithStage(arn, kCurrent);
  // A new AWSCURRENT whose password never reached the database; the real one
  // is now AWSPREVIOUS.
  const std::string never_set = HostilePassword();
  const std::string stale = local_
                                ->AwsJson({"secretsmanager", "put-secret-value", "--secret-id", arn,
                                           "--secret-string", WriteJson(SecretFor(user, never_set)),
                                           "--version-stages", kCurrent})["VersionId"]
                                .get<std::string>();
  ASSERT_EQ(VersionWithStage(arn, kPrevious), first);
  ASSERT_FALSE(LogsIn(server_, user, never_set));

  const std::string version = Rotate(arn);
  const std::string next = ValueAt(arn, kCurrent)["password"].get<std::string>();
  EXPECT_TRUE(LogsIn(server_, user, next));
  EXPECT_FALSE(LogsIn(server_, user, password));
  EXPECT_FALSE(LogsIn(server_, user, never_set));
  ExpectLabelsAfterRotation(arn, version, stale);
}

// ---- Hostile names and passwords ----

// Generated passwords may hold every punctuation character, quotes and
// backslashes included.
const std::map<std::string, std::string> kHostilePasswordPolicy = {{"EXCLUDE_CHARACTERS", ""},
                                                                   {"PASSWORD_LENGTH", "96"}};

TEST_F(PostgresSingleUser, HostileUsernamesAndPasswordsRotate) {
  StartFunction(kHostilePasswordPolicy);
  for (const std::string& user : testing::HostileRoleNames(UniqueName(""))) {
    SCOPED_TRACE(user);
    const std::string password = HostilePassword();
    const std::string arn = CreateRoleAndSecret(user, password);
    Rotate(arn);
    const JsonValue current = ValueAt(arn, kCurrent);
    EXPECT_EQ(current["username"].get<std::string>(), user);
    EXPECT_EQ(current["password"].get<std::string>().size(), 96u);
    EXPECT_TRUE(LogsIn(server_, user, current["password"].get<std::string>()));
    EXPECT_FALSE(LogsIn(server_, user, password));
    ExpectLogHoldsNone({password, current["password"].get<std::string>()});
  }
  EXPECT_FALSE(Contains(local_->FunctionLog(), "syntax error")) << local_->FunctionLog();
}

TEST_F(PostgresSingleUser, UnusableUsernamesAreRefusedClearly) {
  const std::string nul = UniqueName("e2e_nul");
  JsonValue with_nul = SecretFor(nul + std::string(1, '\0') + "tail", HostilePassword());
  const std::string long_name(64, 'L');
  for (const auto& [secret, message] :
       {std::pair{with_nul, std::string("has a NUL character in its name")},
        std::pair{SecretFor(long_name, HostilePassword()),
                  "'" + long_name + "' is 64 bytes long; PostgreSQL role names hold at most 63"}}) {
    const std::string err = FailedRotation(CreateSecret(secret));
    EXPECT_TRUE(Contains(err, "rotation step setSecret failed: InvalidSecret: ")) << err;
    EXPECT_TRUE(Contains(err, message)) << err;
  }
  // Refused before any connection: neither name reached the server.
  const std::string log = ServerLog();
  EXPECT_FALSE(Contains(log, "user=" + nul));
  EXPECT_FALSE(Contains(log, "user=" + long_name.substr(0, 63)));
}

TEST_F(PostgresAlternatingUsers, HostileUsernamesAndPasswordsRotate) {
  StartFunction(kHostilePasswordPolicy);
  const std::string master = MasterSecret();
  for (const std::string& user : testing::HostileRoleNames(UniqueName(""))) {
    SCOPED_TRACE(user);
    const std::string password = HostilePassword();
    const std::string arn = CreateAlternatingSecret(user, password, master);
    Rotate(arn);
    const JsonValue clone = ValueAt(arn, kCurrent);
    EXPECT_EQ(clone["username"].get<std::string>(), user + kCloneSuffix);
    EXPECT_TRUE(LogsIn(server_, user + kCloneSuffix, clone["password"].get<std::string>()));
    EXPECT_TRUE(LogsIn(server_, user, password));
    Rotate(arn);
    const JsonValue back = ValueAt(arn, kCurrent);
    EXPECT_EQ(back["username"].get<std::string>(), user);
    EXPECT_TRUE(LogsIn(server_, user, back["password"].get<std::string>()));
    EXPECT_FALSE(LogsIn(server_, user, password));
    EXPECT_TRUE(LogsIn(server_, user + kCloneSuffix, clone["password"].get<std::string>()));
    ExpectLogHoldsNone(
        {password, clone["password"].get<std::string>(), back["password"].get<std::string>()});
  }
  EXPECT_FALSE(Contains(local_->FunctionLog(), "syntax error")) << local_->FunctionLog();
}

TEST_F(PostgresAlternatingUsers, ACloneNameOver63BytesIsRefusedBeforeAnyChange) {
  const std::string user = UniqueName(std::string(49, 'n'));  // 58 bytes: the clone would be 64
  ASSERT_EQ(user.size(), 58u);
  const std::string password = HostilePassword();
  const std::string arn = CreateAlternatingSecret(user, password);
  const std::string err = FailedRotation(arn);
  EXPECT_TRUE(Contains(err, "rotation step setSecret failed: InvalidSecret: ")) << err;
  EXPECT_TRUE(Contains(err, "63")) << err;
  EXPECT_EQ(admin_->Query("SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1)", {user}),
            "1")
      << "no clone, not even a truncated one";
  EXPECT_TRUE(LogsIn(server_, user, password));
}

// ---- TLS ----

TEST_F(PostgresSingleUser, WrongCaFailsAtSetSecretWithoutAPlaintextAttempt) {
  StartFunction({{"DB_TLS_CA_FILE", server_.other_ca}});
  const std::string user = UniqueName("e2e_tls_wrong_ca");
  const std::string password = HostilePassword();
  const std::string arn = CreateRoleAndSecret(user, password);
  const std::string first = VersionWithStage(arn, kCurrent);
  const std::string verifier = admin_->StoredVerifier(user);

  const std::string err = FailedRotation(arn);
  EXPECT_TRUE(Contains(err, "rotation step setSecret failed: DatabaseTlsError: ")) << err;
  for (const std::string& part :
       {std::string("certificate verify failed"), server_.other_ca,
        std::string("No credential and no statement was sent without TLS")}) {
    EXPECT_TRUE(Contains(err, part)) << part << " in " << err;
  }
  EXPECT_FALSE(Contains(err, password));
  EXPECT_EQ(VersionWithStage(arn, kCurrent), first);

  // pg_hba.conf also accepts this user without TLS, and the server logs every
  // login attempt with the user's name: the name never reached the server.
  const std::string log = ServerLog();
  EXPECT_FALSE(Contains(log, "user=" + user + " ")) << "a login as " << user << " was attempted";
  EXPECT_FALSE(Contains(log, "for user \"" + user + "\"")) << "a login as " << user << " failed";
  EXPECT_EQ(admin_->StoredVerifier(user), verifier);
  EXPECT_TRUE(LogsIn(server_, user, password));

  // The check above can fail: a plaintext login shows in the log.
  ASSERT_TRUE(PgConnection(server_, user, password, "disable").ok());
  EXPECT_TRUE(Contains(ServerLog(), "connection authorized: user=" + user + " "));
}

// Every package ships Amazon RDS's CA bundle as db-ca-bundle.pem beside
// bootstrap, which the function trusts when DB_TLS_CA_FILE is unset. Here a
// copy of the real bootstrap has the test CA in that position instead.
TEST_F(PostgresSingleUser, VerifyFullTrustsTheCaBundleInTheDefaultPosition) {
  const std::string dir = testing::MakeTempDir("default_ca");
  StartFunctionFromTask(testing::MakeTaskDir(dir, BOOTSTRAP_PATH, server_.ca));
  const std::string user = UniqueName("e2e_default_ca");
  const std::string password = HostilePassword();
  const std::string arn = CreateRoleAndSecret(user, password);
  Rotate(arn);
  EXPECT_TRUE(LogsIn(server_, user, ValueAt(arn, kCurrent)["password"].get<std::string>()));
  EXPECT_FALSE(LogsIn(server_, user, password));
  ExpectFunctionLoginsUsed(user, /*tls=*/true);

  // The package's bundle, and nothing else, is what was trusted.
  StartFunctionFromTask(testing::MakeTaskDir(dir, BOOTSTRAP_PATH, server_.other_ca));
  const std::string other = UniqueName("e2e_default_other_ca");
  const std::string other_arn = CreateRoleAndSecret(other, password);
  const std::string err = FailedRotation(other_arn);
  EXPECT_TRUE(Contains(err, "rotation step setSecret failed: DatabaseTlsError: ")) << err;
  EXPECT_TRUE(Contains(err, "the package's CA bundle")) << err;
  EXPECT_TRUE(LogsIn(server_, other, password));
  std::filesystem::remove_all(dir);
}

// The names of RDS endpoints verify under verify-full: the function reaches
// the server as an instance, a cluster writer, a cluster reader, a custom
// cluster endpoint and an RDS Proxy endpoint (whose certificate has a
// wildcard), each mapped to 127.0.0.1, with the CA in the default position;
// a name the certificate does not hold is refused before any login.
TEST_F(PostgresSingleUser, RdsEndpointNamesVerifyUnderVerifyFull) {
  std::string why;
  if (!testing::CanMapNamesToLoopback(&why)) GTEST_SKIP() << why;
  const std::string dir = testing::MakeTempDir("rds_names");
  const std::vector<std::string> names = testing::RdsEndpointNamesAndAnUnlistedOne();
  StartFunctionFromTask(testing::MakeTaskDir(dir, BOOTSTRAP_PATH, server_.ca, names));
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string user = UniqueName("e2e_rds_name");
    const std::string password = HostilePassword();
    JsonValue host;
    host["host"] = name;
    const std::string arn = CreateRoleAndSecret(user, password, host);
    if (name != testing::kUnlistedRdsName) {
      Rotate(arn);
      EXPECT_TRUE(LogsIn(server_, user, ValueAt(arn, kCurrent)["password"].get<std::string>()));
    } else {
      const std::string err = FailedRotation(arn);
      EXPECT_TRUE(Contains(err, "rotation step setSecret failed: DatabaseTlsError: ")) << err;
      EXPECT_TRUE(Contains(err, name)) << err;
      EXPECT_FALSE(Contains(ServerLog(), "user=" + user + " ")) << "a login was attempted";
      EXPECT_TRUE(LogsIn(server_, user, password));
    }
  }
  std::filesystem::remove_all(dir);
}

// DB_TLS_MODE is the operator's floor: a secret's "ssl": false does not turn
// TLS off (it did, and sent the old password in clear) unless the operator
// sets DB_TLS_ALLOW_SECRET_DOWNGRADE=true.
TEST_F(PostgresSingleUser, SslFalseRotatesOverTlsUnlessTheOperatorAllowsADowngrade) {
  JsonValue ssl_off;
  ssl_off["ssl"] = false;
  const std::string user = UniqueName("e2e_tls_floor");
  const std::string password = HostilePassword();
  const std::string arn = CreateRoleAndSecret(user, password, ssl_off);
  Rotate(arn);
  EXPECT_EQ(ValueAt(arn, kCurrent)["ssl"], JsonValue(false)) << "the field is kept";
  ExpectFunctionLoginsUsed(user, /*tls=*/true);

  StartFunction({{"DB_TLS_ALLOW_SECRET_DOWNGRADE", "true"}});
  const std::string plain_user = UniqueName("e2e_tls_off");
  const std::string plain_password = HostilePassword();
  const std::string plain_arn = CreateRoleAndSecret(plain_user, plain_password, ssl_off);
  Rotate(plain_arn);
  const JsonValue current = ValueAt(plain_arn, kCurrent);
  EXPECT_TRUE(LogsIn(server_, plain_user, current["password"].get<std::string>()));
  EXPECT_FALSE(LogsIn(server_, plain_user, plain_password));
  // Every login of the function (setSecret, testSecret) was plaintext.
  ExpectFunctionLoginsUsed(plain_user, /*tls=*/false);
}

// finishSecret without setSecret (a replayed or manual invocation right
// after createSecret): the database never got the pending password, so
// AWSCURRENT must not move.
TEST_F(PostgresSingleUser, FinishSecretWithoutSetSecretIsRefused) {
  const std::string user = UniqueName("e2e_finish_early");
  const std::string password = HostilePassword();
  const std::string arn = CreateRoleAndSecret(user, password);
  const std::string first = VersionWithStage(arn, kCurrent);
  const std::string token = StopAfterCreateSecret(arn);

  bool function_error = false;
  const std::string response = local_->Invoke(Event(arn, token, "finishSecret"), &function_error);
  EXPECT_TRUE(function_error) << response;
  EXPECT_TRUE(Contains(response, "DatabaseLoginFailed")) << response;
  EXPECT_TRUE(Contains(response, "refusing to move AWSCURRENT")) << response;
  EXPECT_EQ(VersionWithStage(arn, kCurrent), first);
  EXPECT_TRUE(LogsIn(server_, user, password));
}

// ---- The server log ----

TEST_F(PostgresSingleUser, ServerLogNeverHoldsAPassword) {
  const std::string user = UniqueName("e2e_log_single");
  const std::string arn = CreateRoleAndSecret(user, HostilePassword());
  for (int rotation = 0; rotation < 3; ++rotation) Rotate(arn);
  std::vector<std::string> passwords = AllPasswords(arn);
  ASSERT_EQ(passwords.size(), 4u);
  passwords.push_back(server_.admin_password);
  ExpectLogHoldsNone(passwords);
  // The log does hold the statements, with a verifier where the password was.
  EXPECT_TRUE(Contains(ServerLog(),
                       "ALTER ROLE " + admin_->Identifier(user) + " PASSWORD 'SCRAM-SHA-256$"));
}

TEST_F(PostgresAlternatingUsers, ServerLogNeverHoldsAPassword) {
  const std::string user = UniqueName("e2e_log_alt");
  const std::string clone = user + kCloneSuffix;
  const std::string arn = CreateAlternatingSecret(user, HostilePassword());
  for (int rotation = 0; rotation < 3; ++rotation) Rotate(arn);
  std::vector<std::string> passwords = AllPasswords(arn);
  ASSERT_EQ(passwords.size(), 4u);
  for (const std::string& password :
       AllPasswords(ValueAt(arn, kCurrent)["masterarn"].get<std::string>())) {
    passwords.push_back(password);
  }
  ExpectLogHoldsNone(passwords);
  const std::string log = ServerLog();
  EXPECT_TRUE(Contains(log, "CREATE ROLE " + admin_->Identifier(clone)));
  for (const std::string& role : {user, clone}) {
    EXPECT_TRUE(
        Contains(log, "ALTER ROLE " + admin_->Identifier(role) + " PASSWORD 'SCRAM-SHA-256$"))
        << role;
  }
}

// ---- Bad secrets ----

TEST_F(PostgresSingleUser, BadSecretsFailClearlyAndChangeNothing) {
  const std::string user = UniqueName("e2e_bad");
  const std::string password = HostilePassword();
  admin_->CreateRole(user, password);
  const std::string verifier = admin_->StoredVerifier(user);
  const JsonValue good = SecretFor(user, password);
  // The good secret with `field` set to `value`, or left out when null.
  auto edited = [&](const char* field, const JsonValue& value = JsonValue()) {
    JsonValue secret = good;
    if (value.is_null()) {
      secret.erase(field);
    } else {
      secret[field] = value;
    }
    return WriteJson(secret);
  };
  const std::string whole = WriteJson(good);
  struct BadSecret {
    std::string what;
    std::string secret_string;
    std::string message;  // expected in the error
  };
  const BadSecret cases[] = {
      {"no host", edited("host"), "field 'host' is missing or empty"},
      {"no username", edited("username"), "field 'username' is missing or empty"},
      {"no password", edited("password"), "field 'password' is missing"},
      {"wrong engine", edited("engine", "oracle"), "engine 'oracle' is not supported"},
      {"not JSON", whole.substr(0, whole.size() - 1), "is not valid JSON"},
      {"alternating without masterarn", edited("rotationStrategy", "alternating-users"),
       "field 'masterarn' is missing"},
  };
  for (const BadSecret& bad : cases) {
    SCOPED_TRACE(bad.what);
    const std::string arn = local_->CreateSecret(UniqueName("bad"), bad.secret_string);
    local_->ClearRequests();
    const std::string err = FailedRotation(arn);
    EXPECT_TRUE(Contains(err, "rotation step createSecret failed: InvalidSecret: ")) << err;
    EXPECT_TRUE(Contains(err, bad.message)) << err;
    EXPECT_FALSE(Contains(err, password)) << "the error quotes the password";
    for (const JsonValue& request : local_->Requests()) {
      EXPECT_NE(request["operation"].get<std::string>(), "PutSecretValue");
    }
  }
  EXPECT_EQ(admin_->StoredVerifier(user), verifier);
  EXPECT_TRUE(LogsIn(server_, user, password));
  EXPECT_FALSE(admin_->RoleExists(user + kCloneSuffix));
  EXPECT_TRUE(FunctionLogins(user).empty()) << "the function never logged in";
}

// A masterarn secret that names the rotated user (or its clone) would make
// the admin change its own password: refused in createSecret, before any
// change (it locked the admin out for good).
TEST_F(PostgresAlternatingUsers, AdminThatIsTheRotatedUserIsRefusedBeforeAnyChange) {
  const std::string user = UniqueName("e2e_self_admin");
  const std::string password = HostilePassword();
  admin_->CreateRole(user, password);
  admin_->Query("ALTER ROLE " + admin_->Identifier(user) + " CREATEROLE");
  const std::string self_master = CreateSecret(SecretFor(user, password));
  JsonValue secret = SecretFor(user, password);
  secret["masterarn"] = self_master;
  const std::string arn = CreateSecret(secret);
  const std::string first = VersionWithStage(arn, kCurrent);
  const std::string verifier = admin_->StoredVerifier(user);

  const std::string err = FailedRotation(arn);
  EXPECT_TRUE(Contains(err, "rotation step createSecret failed: AccountMismatch: ")) << err;
  for (const JsonValue& request : local_->Requests()) {
    EXPECT_NE(request["operation"].get<std::string>(), "PutSecretValue") << "nothing was stored";
  }
  EXPECT_EQ(VersionWithStage(arn, kCurrent), first);
  EXPECT_FALSE(admin_->RoleExists(user + kCloneSuffix));
  EXPECT_EQ(admin_->StoredVerifier(user), verifier);
  EXPECT_TRUE(LogsIn(server_, user, password));
}

// An existing "<user>_clone" that this function did not create may belong to
// another application: it is neither adopted nor changed.
TEST_F(PostgresAlternatingUsers, AnUnrelatedCloneRoleIsNotTakenOver) {
  const std::string user = UniqueName("e2e_takeover");
  const std::string clone = user + kCloneSuffix;
  const std::string other_password = HostilePassword();
  admin_->CreateRole(clone, other_password);
  admin_->Query("ALTER ROLE " + admin_->Identifier(clone) + " CREATEDB CREATEROLE");
  const std::string verifier = admin_->StoredVerifier(clone);
  const std::string arn = CreateAlternatingSecret(user, HostilePassword());
  const std::string first = VersionWithStage(arn, kCurrent);

  const std::string err = FailedRotation(arn);
  EXPECT_TRUE(Contains(err, "rotation step setSecret failed: AccountNotManaged: ")) << err;
  EXPECT_TRUE(Contains(err, clone)) << err;
  EXPECT_EQ(VersionWithStage(arn, kCurrent), first);
  EXPECT_EQ(admin_->StoredVerifier(clone), verifier);
  EXPECT_TRUE(LogsIn(server_, clone, other_password));
  EXPECT_EQ(admin_->Query("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON "
                          "r.oid = m.member WHERE r.rolname = $1",
                          {clone}),
            "0")
      << "no membership was granted to the other application's role";
}

// A secret whose user is "x_clone" while "x" does not exist: alternating
// users start from the original, which is never made up (one rule with
// MariaDB).
TEST_F(PostgresAlternatingUsers, ACloneWhoseOriginalIsMissingIsRefused) {
  const std::string base = UniqueName("e2e_orphan");
  const std::string arn = CreateAlternatingSecret(base + kCloneSuffix, HostilePassword());
  const std::string err = FailedRotation(arn);
  EXPECT_TRUE(Contains(err, "rotation step setSecret failed: AccountNotManaged: ")) << err;
  EXPECT_FALSE(admin_->RoleExists(base));
}

TEST_F(PostgresAlternatingUsers, MasterArnOfAMissingSecretFailsClearlyAndChangesNothing) {
  const std::string user = UniqueName("e2e_bad_master");
  const std::string password = HostilePassword();
  const std::string missing =
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-admin-AbCdEf";
  JsonValue extra;
  extra["masterarn"] = missing;
  const std::string arn = CreateRoleAndSecret(user, password, extra);
  const std::string first = VersionWithStage(arn, kCurrent);
  const std::string verifier = admin_->StoredVerifier(user);

  const std::string err = FailedRotation(arn);
  EXPECT_TRUE(Contains(err, "rotation step createSecret failed: ResourceNotFoundException: "))
      << err;
  EXPECT_TRUE(Contains(err, "the masterarn secret " + missing)) << err;
  EXPECT_FALSE(Contains(err, password));
  EXPECT_EQ(VersionWithStage(arn, kCurrent), first);
  EXPECT_FALSE(admin_->RoleExists(user + kCloneSuffix));
  EXPECT_EQ(admin_->StoredVerifier(user), verifier);
  EXPECT_TRUE(LogsIn(server_, user, password));
  EXPECT_TRUE(FunctionLogins(user).empty()) << "the function never logged in";
}

// ---- RDS-managed master secrets, reader endpoints ----
// The local RDS (the same server as the local Secrets Manager) describes the
// private PostgreSQL server as an instance, or as a cluster whose writer
// endpoint is "localhost" and whose reader endpoint is "127.0.0.1": two host
// names for the one server, both in its certificate.

class PostgresRdsManaged : public PostgresAlternatingUsers {
 protected:
  // An RDS-managed master secret: only username and password, and the tag
  // `tag` = `arn` that RDS puts on it.
  std::string CreateRdsManagedSecret(const std::string& tag, const std::string& arn) const {
    JsonValue value;
    value["username"] = server_.admin_user;
    value["password"] = server_.admin_password;
    JsonValue tags = JsonValue::array();
    tags.push_back({{"Key", tag}, {"Value", arn}});
    const JsonValue created =
        local_->AwsJson({"secretsmanager", "create-secret", "--name", UniqueName("rds-db"),
                         "--secret-string", WriteJson(value), "--tags", WriteJson(tags)});
    return created["ARN"].get<std::string>();
  }

  void ConfigureCluster(bool with_reader) const {
    JsonValue cluster = {{"identifier", "pg-cluster"},
                         {"engine", "aurora-postgresql"},
                         {"endpoint", "localhost"},
                         {"port", server_.port}};
    if (with_reader) cluster["reader_endpoint"] = server_.host;
    local_->ConfigureRds({{"clusters", JsonValue::array({cluster})}});
  }

  // Two rotations of a new role whose secret names `master`; both succeed.
  void RotateTwice(const std::string& master) {
    const std::string user = UniqueName("e2e_rds");
    const std::string arn = CreateAlternatingSecret(user, HostilePassword(), master);
    for (const std::string& expected : {user + kCloneSuffix, user}) {
      Rotate(arn);
      const JsonValue current = ValueAt(arn, kCurrent);
      EXPECT_EQ(current["username"].get<std::string>(), expected);
      EXPECT_EQ(current["host"].get<std::string>(), server_.host);
      EXPECT_TRUE(LogsIn(server_, expected, current["password"].get<std::string>()));
    }
  }
};

TEST_F(PostgresRdsManaged, MasterSecretOfAnInstanceGetsItsHostFromRds) {
  local_->ConfigureRds({{"instances", JsonValue::array({{{"identifier", "pg-db"},
                                                         {"engine", "postgres"},
                                                         {"address", server_.host},
                                                         {"port", server_.port}}})}});
  RotateTwice(CreateRdsManagedSecret("aws:rds:primaryDBInstanceArn",
                                     "arn:aws:rds:us-east-1:123456789012:db:pg-db"));
  int described = 0;
  for (const JsonValue& entry : local_->Requests()) {
    if (entry.value("operation", "") == "DescribeDBInstances") ++described;
  }
  EXPECT_EQ(described, 4) << "createSecret and setSecret of each rotation";
}

TEST_F(PostgresRdsManaged, UserSecretOnTheReaderEndpointIsAccepted) {
  ConfigureCluster(/*with_reader=*/true);
  RotateTwice(CreateRdsManagedSecret("aws:rds:primaryDBClusterArn",
                                     "arn:aws:rds:us-east-1:123456789012:cluster:pg-cluster"));
}

TEST_F(PostgresRdsManaged, UserSecretOnAForeignHostIsRefused) {
  ConfigureCluster(/*with_reader=*/false);
  const std::string master = CreateRdsManagedSecret(
      "aws:rds:primaryDBClusterArn", "arn:aws:rds:us-east-1:123456789012:cluster:pg-cluster");
  const std::string user = UniqueName("e2e_rds_foreign");
  const std::string arn = CreateAlternatingSecret(user, HostilePassword(), master);
  const std::string error = FailedRotation(arn);
  EXPECT_TRUE(Contains(error, "createSecret failed: CredentialsMismatch")) << error;
  EXPECT_TRUE(Contains(error, server_.host + ":" + std::to_string(server_.port))) << error;
  EXPECT_TRUE(Contains(error, "localhost:" + std::to_string(server_.port))) << error;
  EXPECT_EQ(admin_->Query("SELECT count(*) FROM pg_roles WHERE rolname = $1",
                          {user + std::string(kCloneSuffix)}),
            "0");
}

}  // namespace
}  // namespace secret_rotator
