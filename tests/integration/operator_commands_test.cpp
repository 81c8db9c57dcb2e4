// The operators' commands end to end: the real bootstrap's check, status
// [--repair] and rotate against the local Secrets Manager (secrets made with
// the AWS CLI) and the private MariaDB and PostgreSQL servers. Outcomes are
// checked on the servers directly and with the AWS CLI. Every command's
// output is kept in the run's test output folder, which the leak scan reads.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "tests/support/emf.h"
#include "tests/support/local_aws.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/postgres_server.h"

namespace secret_rotator {
namespace {

using testing::LocalAws;
using testing::LocalAwsOptions;
using testing::ProcessResult;
using Env = std::map<std::string, std::string>;
using Labels = std::vector<std::string>;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

JsonValue Parse(const std::string& text) { return ParseJson(text, "output", "Test").value(); }

// The check item `name` of `check --json` output.
JsonValue CheckItem(const JsonValue& report, const std::string& name) {
  for (const JsonValue& item : report["checks"]) {
    if (item["name"] == name) return item;
  }
  return JsonValue();
}

// Runs the real bootstrap's operator commands against one LocalAws.
class Commands {
 public:
  Commands(const LocalAws& aws, std::string ca) : aws_(aws), ca_(std::move(ca)) {}

  // bootstrap ARGS with the local endpoint's credentials in the environment,
  // DB_TLS_CA_FILE = the server's CA, and `env`. The output is appended to
  // operator-commands.log in the LocalAws folder.
  ProcessResult Run(const std::vector<std::string>& args, const Env& env = {}) const {
    testing::ProcessOptions options;
    options.env = aws_.FunctionEnvironment();
    options.env["DB_TLS_CA_FILE"] = ca_;
    for (const auto& [name, value] : env) options.env[name] = value;
    std::vector<std::string> argv = {BOOTSTRAP_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult result = testing::RunProcess(argv, options);
    std::string record = "$ bootstrap";
    for (const std::string& arg : args) record += " " + arg;
    record += "\n[exit " + std::to_string(result.exit_code) + "]\n" + result.out + result.err;
    const std::string log = aws_.dir() + "/operator-commands.log";
    std::string before;
    try {
      before = testing::ReadFile(log);
    } catch (...) {
    }
    testing::WriteFile(log, before + record + "\n");
    return result;
  }

 private:
  const LocalAws& aws_;
  std::string ca_;
};

// ---- Usage ----

TEST(OperatorCommandsUsage, BadUsageExits2WithAClearMessage) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"check"}, "SECRET_ID is missing"},
      {{"status", "a", "b"}, "one SECRET_ID only"},
      {{"rotate", "s", "--repair"}, "unknown option '--repair'"},
      {{"check", "s", "--timeout", "0"}, "--timeout needs"},
      {{"status", "s", "--bogus"}, "unknown option '--bogus'"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv = {BOOTSTRAP_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult result = testing::RunProcess(argv);
    EXPECT_EQ(result.exit_code, 2) << args[0];
    EXPECT_TRUE(Contains(result.err, message)) << result.err;
    EXPECT_TRUE(Contains(result.err, "Usage: bootstrap " + args[0])) << result.err;
    EXPECT_TRUE(result.out.empty());
  }
  for (const char* command : {"check", "status", "rotate"}) {
    const ProcessResult help = testing::RunProcess({BOOTSTRAP_PATH, command, "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_TRUE(Contains(help.out, std::string("Usage: bootstrap ") + command)) << help.out;
  }
}

// ---- MariaDB ----

class MariaDbOperatorTest : public testing::MariaDbTest {
 protected:
  void SetUp() override {
    MariaDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    aws_ = std::make_unique<LocalAws>(LocalAwsOptions{BOOTSTRAP_PATH});
    commands_ = std::make_unique<Commands>(*aws_, server_.ca);
  }
  void TearDown() override {
    if (!admin_ || !admin_->connected()) return;
    for (const std::string& user : users_) {
      admin_->Exec("DROP USER IF EXISTS " + admin_->Account(user));
      admin_->Exec("DROP USER IF EXISTS " + admin_->Account(user + "_clone"));
    }
    for (const std::string& database : databases_) {
      admin_->Exec("DROP DATABASE IF EXISTS " + testing::QuoteIdentifier(database));
    }
  }

  std::string NewUser(const std::string& base, const std::string& password) {
    const std::string user = base + "_" + testing::RandomSuffix();
    users_.push_back(user);
    EXPECT_TRUE(admin_->Exec("CREATE USER " + admin_->Account(user) + " IDENTIFIED BY " +
                             admin_->Quote(password)))
        << admin_->error();
    return user;
  }
  std::string NewDatabase() {
    const std::string name = "ops_" + testing::RandomSuffix();
    databases_.push_back(name);
    EXPECT_TRUE(admin_->Exec("CREATE DATABASE " + testing::QuoteIdentifier(name)));
    return name;
  }

  JsonValue SecretFor(const std::string& user, const std::string& password) const {
    JsonValue secret;
    secret["engine"] = "mariadb";
    secret["host"] = server_.host;
    secret["port"] = server_.port;
    secret["username"] = user;
    secret["password"] = password;
    return secret;
  }
  std::string CreateSecret(const JsonValue& secret) {
    return aws_->CreateSecret("ops-" + testing::RandomSuffix(), WriteJson(secret));
  }

  // Puts a version labelled AWSPENDING with `password`, as a rotation whose
  // setSecret never ran (or failed) leaves it; returns its version id.
  std::string PutPending(const std::string& arn, const std::string& user,
                         const std::string& password) {
    const std::string token = "11111111-2222-4333-8444-" + testing::RandomHex(12);
    const ProcessResult put =
        aws_->Aws({"secretsmanager", "put-secret-value", "--secret-id", arn,
                   "--client-request-token", token, "--version-stages", "AWSPENDING",
                   "--secret-string", WriteJson(SecretFor(user, password))});
    EXPECT_EQ(put.exit_code, 0) << put.err;
    return token;
  }

  bool LogsIn(const std::string& user, const std::string& password) const {
    return testing::LoginError(server_, user, password).empty();
  }

  std::unique_ptr<LocalAws> aws_;
  std::unique_ptr<Commands> commands_;
  std::vector<std::string> users_;
  std::vector<std::string> databases_;
};

TEST_F(MariaDbOperatorTest, CheckReportsAReadySecretAsJson) {
  const std::string password = "pw-" + testing::RandomHex(20);
  const std::string user = NewUser("ready", password);
  const std::string arn = CreateSecret(SecretFor(user, password));

  aws_->ClearRequests();
  const ProcessResult checked = commands_->Run({"check", arn, "--json"});
  ASSERT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  // check only reads from Secrets Manager.
  const JsonValue requests = aws_->Requests();
  ASSERT_FALSE(requests.empty());
  for (const JsonValue& request : requests) {
    EXPECT_TRUE(request["operation"] == "DescribeSecret" ||
                request["operation"] == "GetSecretValue")
        << request.dump();
  }
  const JsonValue report = Parse(checked.out);
  EXPECT_EQ(report["secretArn"], arn);
  EXPECT_EQ(report["ready"], true);
  ASSERT_TRUE(report["checks"].is_array());
  for (const JsonValue& item : report["checks"]) {
    EXPECT_TRUE(item["name"].is_string());
    EXPECT_TRUE(item["result"] == "ok" || item["result"] == "info") << item.dump();
    EXPECT_TRUE(item["detail"].is_string());
  }
  const JsonValue& facts = report["facts"];
  EXPECT_TRUE(Contains(facts["serverVersion"].get<std::string>(), "MariaDB"));
  EXPECT_TRUE(Contains(facts["tlsVersion"].get<std::string>(), "TLSv1")) << facts.dump();
  EXPECT_FALSE(facts["tlsCipher"].get<std::string>().empty());
  EXPECT_TRUE(Contains(facts["tlsMode"].get<std::string>(), "verify-full"));
  EXPECT_EQ(facts["authentication"], "mysql_native_password");
  EXPECT_EQ(facts["maxUsernameLength"], 80);
  EXPECT_EQ(facts["rotationEnabled"], false);
  EXPECT_EQ(CheckItem(report, "can change own password")["result"], "ok");
  EXPECT_FALSE(Contains(checked.out + checked.err, password));

  // The table for people says the same.
  const ProcessResult table = commands_->Run({"check", arn});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_TRUE(Contains(table.out, "RESULT")) << table.out;
  EXPECT_TRUE(Contains(table.out, "Ready:")) << table.out;
}

TEST_F(MariaDbOperatorTest, CheckFindsAnAdminThatCannotCreateUsersOrGrantPrivileges) {
  const std::string database = NewDatabase();
  const std::string password = "pw-" + testing::RandomHex(20);
  const std::string user = NewUser("app", password);
  ASSERT_TRUE(admin_->Exec("GRANT SELECT, INSERT ON " + testing::QuoteIdentifier(database) +
                           ".* TO " + admin_->Account(user)));
  const std::string admin_password = "pw-" + testing::RandomHex(20);
  const std::string weak_admin = NewUser("weakadm", admin_password);
  ASSERT_TRUE(
      admin_->Exec("GRANT SELECT ON *.* TO " + admin_->Account(weak_admin) + " WITH GRANT OPTION"));
  JsonValue secret = SecretFor(user, password);
  secret["masterarn"] = CreateSecret(SecretFor(weak_admin, admin_password));
  secret["rotationStrategy"] = "alternating-users";
  const std::string arn = CreateSecret(secret);

  aws_->ClearRequests();
  const ProcessResult checked = commands_->Run({"check", arn, "--json"});
  EXPECT_EQ(checked.exit_code, 1) << checked.out << checked.err;
  for (const JsonValue& request : aws_->Requests()) {
    EXPECT_TRUE(request["operation"] == "DescribeSecret" ||
                request["operation"] == "GetSecretValue")
        << request.dump();
  }
  const JsonValue report = Parse(checked.out);
  EXPECT_EQ(report["ready"], false);
  EXPECT_EQ(CheckItem(report, "admin login")["result"], "ok") << checked.out;
  EXPECT_EQ(CheckItem(report, "admin can create users")["result"], "FAIL") << checked.out;
  const JsonValue grant = CheckItem(report, "admin can grant the user's privileges");
  EXPECT_EQ(grant["result"], "FAIL") << checked.out;
  EXPECT_TRUE(Contains(grant["detail"].get<std::string>(), "INSERT")) << grant.dump();
  EXPECT_EQ(CheckItem(report, "alternate user")["result"], "ok") << checked.out;
  EXPECT_FALSE(testing::UserExists(*admin_, user + "_clone")) << "check changed nothing";
  EXPECT_FALSE(Contains(checked.out + checked.err, password));
  EXPECT_FALSE(Contains(checked.out + checked.err, admin_password));
}

TEST_F(MariaDbOperatorTest, CheckFindsATlsProblem) {
  const std::string password = "pw-" + testing::RandomHex(20);
  const std::string user = NewUser("tls", password);
  const std::string arn = CreateSecret(SecretFor(user, password));
  // verify-full against a CA that did not sign the server's certificate.
  const ProcessResult checked =
      commands_->Run({"check", arn, "--json"}, {{"DB_TLS_CA_FILE", server_.other_ca}});
  EXPECT_EQ(checked.exit_code, 1) << checked.out << checked.err;
  const JsonValue login = CheckItem(Parse(checked.out), "AWSCURRENT login");
  EXPECT_EQ(login["result"], "FAIL") << checked.out;
  EXPECT_EQ(login["errorType"], "DatabaseTlsError") << checked.out;
  // The table names it too.
  const ProcessResult table =
      commands_->Run({"check", arn}, {{"DB_TLS_CA_FILE", server_.other_ca}});
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_TRUE(Contains(table.out, "DatabaseTlsError")) << table.out;
  EXPECT_TRUE(Contains(table.out, "Not ready")) << table.out;
}

TEST_F(MariaDbOperatorTest, StuckPendingIsRepairedThenARotationByHandSucceeds) {
  const std::string password = "pw-" + testing::RandomHex(20);
  const std::string user = NewUser("stuck", password);
  const std::string arn = CreateSecret(SecretFor(user, password));
  const std::string first = aws_->VersionWithStage(arn, "AWSCURRENT");
  const std::string token = PutPending(arn, user, "pw-" + testing::RandomHex(20));

  const ProcessResult status = commands_->Run({"status", arn, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(Parse(status.out)["unfinishedPendingVersion"], token);
  const ProcessResult table = commands_->Run({"status", arn});
  EXPECT_TRUE(Contains(table.out, "Stuck: version " + token)) << table.out;
  const ProcessResult checked = commands_->Run({"check", arn, "--json"});
  EXPECT_EQ(checked.exit_code, 1);
  EXPECT_EQ(CheckItem(Parse(checked.out), "pending versions")["result"], "FAIL");
  const ProcessResult refused = commands_->Run({"rotate", arn});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(Contains(refused.err, "RotationInProgress")) << refused.err;

  // Credentials from a shared credentials file this time, region from the config file.
  const std::string credentials = aws_->dir() + "/credentials";
  const std::string config = aws_->dir() + "/config";
  testing::WriteFile(credentials,
                     std::string("[ops]\naws_access_key_id = ") + testing::kLocalAccessKey +
                         "\naws_secret_access_key = " + testing::kLocalSecretKey + "\n");
  testing::WriteFile(config,
                     std::string("[profile ops]\nregion = ") + testing::kLocalRegion + "\n");
  const ProcessResult repaired =
      commands_->Run({"status", arn, "--repair"}, {{"AWS_ACCESS_KEY_ID", ""},
                                                   {"AWS_SECRET_ACCESS_KEY", ""},
                                                   {"AWS_REGION", ""},
                                                   {"AWS_DEFAULT_REGION", ""},
                                                   {"AWS_PROFILE", "ops"},
                                                   {"AWS_SHARED_CREDENTIALS_FILE", credentials},
                                                   {"AWS_CONFIG_FILE", config}});
  ASSERT_EQ(repaired.exit_code, 0) << repaired.out << repaired.err;
  EXPECT_TRUE(Contains(repaired.out, "done:     removed AWSPENDING from version " + token))
      << repaired.out;
  EXPECT_TRUE(Contains(repaired.out, "is refused")) << repaired.out;
  EXPECT_EQ(aws_->VersionWithStage(arn, "AWSPENDING"), "");
  EXPECT_EQ(aws_->VersionWithStage(arn, "AWSCURRENT"), first);
  EXPECT_TRUE(LogsIn(user, password));

  // A rotation by hand (rotation is not even turned on for this secret).
  const ProcessResult rotated = commands_->Run({"rotate", arn, "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  const JsonValue report = Parse(rotated.out);
  EXPECT_EQ(report["succeeded"], true);
  ASSERT_EQ(report["steps"].size(), 4U);
  const std::string version = report["clientRequestToken"].get<std::string>();
  EXPECT_EQ(aws_->Stages(arn).at(version), (Labels{"AWSCURRENT", "AWSPENDING"}));
  EXPECT_EQ(aws_->Stages(arn).at(first), (Labels{"AWSPREVIOUS"}));
  const JsonValue current = Parse(aws_->ValueAt(arn, "AWSCURRENT"));
  EXPECT_TRUE(LogsIn(user, current["password"].get<std::string>()));
  EXPECT_FALSE(LogsIn(user, password));
  EXPECT_FALSE(Contains(rotated.out + rotated.err, current["password"].get<std::string>()));

  // One valid EMF record per step on the log output.
  const std::vector<JsonValue> records = testing::EmfRecords(rotated.err);
  ASSERT_EQ(records.size(), 4U) << rotated.err;
  const char* steps[] = {"createSecret", "setSecret", "testSecret", "finishSecret"};
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(testing::EmfProblems(records[i].dump()), std::vector<std::string>{});
    EXPECT_EQ(records[i]["step"], steps[i]);
    EXPECT_EQ(records[i]["engine"], "mariadb");
    EXPECT_EQ(records[i]["strategy"], "single-user");
    EXPECT_EQ(records[i]["Success"], 1);
  }
}

TEST_F(MariaDbOperatorTest, RepairIsRefusedWhenOnlyThePendingPasswordLogsIn) {
  const std::string password = "pw-" + testing::RandomHex(20);
  const std::string user = NewUser("unsafe", password);
  const std::string arn = CreateSecret(SecretFor(user, password));
  const std::string pending_password = "pw-" + testing::RandomHex(20);
  const std::string token = PutPending(arn, user, pending_password);
  // As a setSecret that ran before the rotation stopped: the database has the new password.
  ASSERT_TRUE(admin_->Exec("SET PASSWORD FOR " + admin_->Account(user) + " = PASSWORD(" +
                           admin_->Quote(pending_password) + ")"));

  const ProcessResult refused = commands_->Run({"status", arn, "--repair", "--json"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  const JsonValue report = Parse(refused.out);
  EXPECT_EQ(report["repair"]["refused"], true);
  ASSERT_EQ(report["repair"]["notDone"].size(), 1U);
  EXPECT_TRUE(Contains(report["repair"]["notDone"][0].get<std::string>(),
                       "did not remove AWSPENDING from version " + token))
      << refused.out;
  EXPECT_EQ(aws_->VersionWithStage(arn, "AWSPENDING"), token);
  EXPECT_TRUE(LogsIn(user, pending_password));
  EXPECT_FALSE(Contains(refused.out + refused.err, pending_password));
}

// ---- PostgreSQL ----

class PostgresOperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    std::optional<testing::PostgresServer> server = testing::LoadPostgresServer(&error);
    ASSERT_TRUE(server.has_value()) << error;
    server_ = *server;
    admin_ = std::make_unique<testing::PgConnection>(server_, server_.admin_user,
                                                     server_.admin_password);
    ASSERT_TRUE(admin_->ok()) << admin_->error();
    aws_ = std::make_unique<LocalAws>(LocalAwsOptions{BOOTSTRAP_PATH});
    commands_ = std::make_unique<Commands>(*aws_, server_.ca);
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
  std::string CreateSecret(const JsonValue& secret) {
    return aws_->CreateSecret(testing::UniqueName("ops"), WriteJson(secret));
  }
  // A role and an alternating-users secret for it whose admin is `admin`
  // (user, password).
  std::string AlternatingSecret(const std::string& user, const std::string& password,
                                const std::string& admin, const std::string& admin_password) {
    admin_->CreateRole(user, password);
    JsonValue secret = SecretFor(user, password);
    secret["masterarn"] = CreateSecret(SecretFor(admin, admin_password));
    secret["rotationStrategy"] = "alternating-users";
    return CreateSecret(secret);
  }

  testing::PostgresServer server_;
  std::unique_ptr<testing::PgConnection> admin_;
  std::unique_ptr<LocalAws> aws_;
  std::unique_ptr<Commands> commands_;
};

TEST_F(PostgresOperatorTest, CheckThenRotateByHandWithAlternatingUsers) {
  const std::string user = testing::UniqueName("opsalt");
  const std::string password = "pw-" + testing::RandomHex(20);
  const std::string arn =
      AlternatingSecret(user, password, server_.admin_user, server_.admin_password);

  const ProcessResult checked = commands_->Run({"check", arn, "--json"});
  ASSERT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  const JsonValue report = Parse(checked.out);
  EXPECT_EQ(report["facts"]["strategy"], "alternating-users");
  EXPECT_TRUE(Contains(report["facts"]["serverVersion"].get<std::string>(), "PostgreSQL"));
  EXPECT_TRUE(Contains(report["facts"]["tlsVersion"].get<std::string>(), "TLSv1"));
  EXPECT_EQ(report["facts"]["maxUsernameLength"], 63);
  EXPECT_EQ(CheckItem(report, "admin can create users")["result"], "ok");
  EXPECT_TRUE(Contains(CheckItem(report, "alternate user")["detail"].get<std::string>(),
                       "rotation creates it"))
      << checked.out;
  EXPECT_FALSE(admin_->RoleExists(user + "_clone")) << "check changed nothing";

  const ProcessResult rotated = commands_->Run({"rotate", arn});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  EXPECT_TRUE(Contains(rotated.out, "Rotated:")) << rotated.out;
  const JsonValue current = Parse(aws_->ValueAt(arn, "AWSCURRENT"));
  EXPECT_EQ(current["username"], user + "_clone");
  EXPECT_TRUE(testing::LogsIn(server_, user + "_clone", current["password"].get<std::string>()));
  EXPECT_TRUE(testing::LogsIn(server_, user, password)) << "the original keeps working";
  const std::vector<JsonValue> records = testing::EmfRecords(rotated.err);
  ASSERT_EQ(records.size(), 4U) << rotated.err;
  for (const JsonValue& record : records) {
    EXPECT_EQ(testing::EmfProblems(record.dump()), std::vector<std::string>{});
    EXPECT_EQ(record["engine"], "postgres");
    EXPECT_EQ(record["strategy"], "alternating-users");
  }

  // The next check sees the clone as this function's.
  const ProcessResult again = commands_->Run({"check", arn, "--json"});
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_TRUE(Contains(CheckItem(Parse(again.out), "alternate user")["detail"].get<std::string>(),
                       "exists and is this function's"))
      << again.out;
}

TEST_F(PostgresOperatorTest, CheckFindsAnAdminWithoutCreateRoleAndATlsProblem) {
  const std::string weak_admin = testing::UniqueName("opsweak");
  const std::string admin_password = "pw-" + testing::RandomHex(20);
  admin_->CreateRole(weak_admin, admin_password);
  const std::string user = testing::UniqueName("opsapp");
  const std::string arn =
      AlternatingSecret(user, "pw-" + testing::RandomHex(20), weak_admin, admin_password);

  const ProcessResult checked = commands_->Run({"check", arn, "--json"});
  EXPECT_EQ(checked.exit_code, 1) << checked.out << checked.err;
  const JsonValue report = Parse(checked.out);
  const JsonValue create = CheckItem(report, "admin can create users");
  EXPECT_EQ(create["result"], "FAIL") << checked.out;
  EXPECT_TRUE(Contains(create["detail"].get<std::string>(), "CREATEROLE"));

  const ProcessResult tls =
      commands_->Run({"check", arn, "--json"}, {{"DB_TLS_CA_FILE", server_.other_ca}});
  EXPECT_EQ(tls.exit_code, 1);
  EXPECT_EQ(CheckItem(Parse(tls.out), "AWSCURRENT login")["errorType"], "DatabaseTlsError")
      << tls.out;
}

TEST_F(PostgresOperatorTest, SingleUserRotationByHand) {
  const std::string user = testing::UniqueName("opssingle");
  const std::string password = "pw-" + testing::RandomHex(20);
  admin_->CreateRole(user, password);
  const std::string arn = CreateSecret(SecretFor(user, password));
  const ProcessResult rotated = commands_->Run({"rotate", arn, "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out << rotated.err;
  const JsonValue current = Parse(aws_->ValueAt(arn, "AWSCURRENT"));
  EXPECT_TRUE(testing::LogsIn(server_, user, current["password"].get<std::string>()));
  EXPECT_FALSE(testing::LogsIn(server_, user, password));
  const ProcessResult status = commands_->Run({"status", arn, "--json"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_EQ(Parse(status.out)["unfinishedPendingVersion"], nullptr);
  EXPECT_EQ(Parse(status.out)["versions"].size(), 2U);
}

}  // namespace
}  // namespace secret_rotator
