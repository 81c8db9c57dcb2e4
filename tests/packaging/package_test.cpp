// The Lambda package as Lambda runs it: packaging/package.sh builds the zip,
// the zip is unpacked into an empty folder, and its bootstrap runs with a
// clean environment (only the Lambda variables, the region, the credentials
// and the Secrets Manager endpoint) under the local Lambda service for whole
// rotations over verified TLS against the private MariaDB and PostgreSQL
// servers. Nothing may come from the build tree: the test reads the running
// function's memory map.
//
// SECRET_ROTATOR_PACKAGE_ARCH=arm64 (CTest's arm64.* tests, configured with
// -DSECRET_ROTATOR_ARM64_BOOTSTRAP) packages the cross-compiled arm64
// bootstrap instead, and the local Lambda service runs it under qemu-user.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "base/json.h"
#include "tests/support/local_aws.h"
#include "tests/support/mariadb_server.h"
#include "tests/support/postgres_server.h"

namespace secret_rotator {
namespace {

namespace fs = std::filesystem;
using testing::LocalAws;
using testing::LocalAwsOptions;
using testing::MariaDbClient;
using testing::MariaDbServer;
using testing::RunProcess;

// Shared objects that Amazon Linux 2023 provides itself (glibc).
bool IsGlibc(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  for (const char* prefix : {"ld-linux", "libc.so", "libm.so", "libdl.so", "libpthread.so",
                             "librt.so", "libresolv.so", "libnss_", "libmvec.so"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// The bootstrap under test and how to run it: this machine's own, or with
// SECRET_ROTATOR_PACKAGE_ARCH=arm64 the arm64 one under qemu-aarch64.
struct Target {
  std::string arch;
  std::string bootstrap;
  std::string emulator;  // empty: run natively
};

Target PackageTarget() {
  const char* arch = std::getenv("SECRET_ROTATOR_PACKAGE_ARCH");
  if (arch == nullptr || std::string(arch).empty()) return {"native", BOOTSTRAP_PATH, ""};
  if (std::string(arch) == "arm64") return {"arm64", ARM64_BOOTSTRAP_PATH, QEMU_AARCH64_PATH};
  return {arch, "", ""};
}

// The one exposure the README documents (Safety rules): an ed25519 account's
// new password goes to MariaDB inside TLS, in SET PASSWORD ... PASSWORD('...'),
// so a server with the general log on has it there. Tells the leak scan
// (tests/adversarial/leak_scan.py), which then counts it apart, and only in
// the general log.
void DocumentExposure(const std::string& password) {
  const char* output = std::getenv("SECRET_ROTATOR_TEST_OUTPUT_DIR");
  if (output == nullptr || *output == '\0') return;
  const std::string folder = std::string(output) + "/documented-exposures";
  fs::create_directories(folder);
  std::ofstream(folder + "/ed25519-" + testing::RandomHex(8) + ".json")
      << WriteJson(JsonValue{{"value", password},
                             {"file", "general.log"},
                             {"reason",
                              "the new password of an ed25519 account (plain text inside TLS; "
                              "README, Safety rules)"}});
}

// Where the servers' CTest fixtures leave their settings (tests/servers).
void UseServerFixtures() {
  setenv("SECRET_ROTATOR_MARIADB_DIR", MARIADB_SERVER_DIR, 0);
  setenv("SECRET_ROTATOR_POSTGRES_DIR", POSTGRES_SERVER_DIR, 0);
}

// The package's zip in `dir`/secret-rotator.zip, unpacked into `dir`/task,
// and the local AWS services that run its bootstrap as Lambda does.
class UnpackedPackage {
 public:
  // Builds the package with `ca` as its database CA bundle and unpacks it.
  void BuildAndUnpack(const std::string& ca) {
    target_ = PackageTarget();
    ASSERT_FALSE(target_.bootstrap.empty())
        << "SECRET_ROTATOR_PACKAGE_ARCH=" << target_.arch
        << ": no such build (configure with "
           "-DSECRET_ROTATOR_ARM64_BOOTSTRAP=build-arm64/bootstrap)";
    ASSERT_TRUE(fs::is_regular_file(target_.bootstrap))
        << target_.bootstrap << " is not built (cmake --build build-arm64 --target bootstrap)";
    if (target_.arch == "arm64") {
      ASSERT_TRUE(fs::is_regular_file(target_.emulator)) << "qemu-user-static";
    }
    dir_ = testing::MakeTempDir("package_test");
    task_ = dir_ + "/task";
    fs::create_directories(task_);
    const testing::ProcessResult packaged = RunProcess(
        {std::string(SOURCE_DIR) + "/packaging/package.sh", "--binary", target_.bootstrap,
         "--output", dir_ + "/secret-rotator.zip", "--db-ca-bundle", ca});
    ASSERT_EQ(packaged.exit_code, 0) << packaged.out << packaged.err;
    EXPECT_NE(packaged.out.find("glibc ceiling: GLIBC_2.3"), std::string::npos) << packaged.out;
    if (target_.arch == "arm64") {
      EXPECT_NE(packaged.out.find("; arm64)"), std::string::npos) << packaged.out;
    }
    const testing::ProcessResult unpacked =
        RunProcess({"/usr/bin/unzip", "-q", dir_ + "/secret-rotator.zip", "-d", task_});
    ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
  }
  ~UnpackedPackage() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // What the local Lambda service runs: the unpacked bootstrap itself, or a
  // script outside the package that runs it under qemu-user (which maps the
  // arm64 bootstrap, its loader and libraries into its own memory, so the
  // memory map check below sees them).
  LocalAwsOptions Options() const {
    std::string executable = task_ + "/bootstrap";
    if (!target_.emulator.empty()) {
      executable = dir_ + "/run-under-qemu";
      std::ofstream(executable) << "#!/bin/sh\nexec " << target_.emulator << " " << task_
                                << "/bootstrap \"$@\"\n";
      fs::permissions(executable, fs::perms::owner_all);
    }
    LocalAwsOptions options{executable};
    options.clean_env = true;
    options.task_root = task_;
    if (!target_.emulator.empty()) options.timeout_seconds = 120;  // emulated: ~10x slower
    return options;
  }

  // Every shared object the running function mapped is the package's own or
  // glibc's; returns how many came from the package.
  int CheckMappedObjects(const LocalAws& local) const {
    const JsonValue stats = local.LambdaStats();
    EXPECT_TRUE(stats.at("childPid").is_number_integer()) << WriteJson(stats);
    if (!stats.at("childPid").is_number_integer()) return 0;
    std::ifstream maps("/proc/" + std::to_string(stats.at("childPid").get<int>()) + "/maps");
    EXPECT_TRUE(maps.good());
    int from_package = 0;
    for (std::string line; std::getline(maps, line);) {
      const auto slash = line.find('/');
      if (slash == std::string::npos) continue;
      const std::string path = line.substr(slash);
      if (path.find(".so") == std::string::npos && path != task_ + "/bootstrap") continue;
      if (path.rfind(task_ + "/", 0) == 0) {
        ++from_package;
        continue;
      }
      EXPECT_TRUE(IsGlibc(path)) << "the function loaded " << path << " from outside the package";
    }
    return from_package;
  }

  const std::string& task() const { return task_; }

 private:
  Target target_;
  std::string dir_;
  std::string task_;
};

class PackageTest : public testing::MariaDbTest {
 protected:
  void SetUp() override {
    UseServerFixtures();
    MariaDbTest::SetUp();
  }
};

// Without --db-ca-bundle (sam build's Makefile target, the CMake package
// target) the package ships Amazon RDS's global bundle and the Amazon roots
// as db-ca-bundle.pem, which the function trusts when DB_TLS_CA_FILE is unset.
TEST(PackageCaBundle, ByDefaultThePackageShipsTheRdsCaBundle) {
  const std::string dir = testing::MakeTempDir("package_ca_test");
  const testing::ProcessResult packaged =
      RunProcess({std::string(SOURCE_DIR) + "/packaging/package.sh", "--binary", BOOTSTRAP_PATH,
                  "--output", dir + "/secret-rotator.zip"});
  ASSERT_EQ(packaged.exit_code, 0) << packaged.out << packaged.err;
  EXPECT_NE(packaged.out.find("database CA bundle: Amazon RDS global bundle + Amazon roots (120 "),
            std::string::npos)
      << packaged.out;
  const testing::ProcessResult shipped =
      RunProcess({"/usr/bin/unzip", "-p", dir + "/secret-rotator.zip", "db-ca-bundle.pem"});
  ASSERT_EQ(shipped.exit_code, 0) << shipped.err;
  const std::string rds =
      testing::ReadFile(std::string(SOURCE_DIR) + "/packaging/rds-ca/global-bundle.pem");
  ASSERT_FALSE(rds.empty());
  EXPECT_EQ(shipped.out.substr(0, rds.size()), rds);
  EXPECT_NE(shipped.out.find("MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF"),
            std::string::npos)
      << "Amazon Root CA 1 (RDS Proxy)";

  // A bundle that no longer matches its committed checksum stops packaging.
  const std::string copy = dir + "/source";
  ASSERT_EQ(RunProcess({"/bin/cp", "-a", std::string(SOURCE_DIR) + "/packaging",
                        std::string(SOURCE_DIR) + "/scripts", std::string(SOURCE_DIR) + "/aws",
                        dir + "/"})
                .exit_code,
            0);
  fs::create_directories(copy);
  for (const char* folder : {"packaging", "scripts", "aws"}) {
    fs::rename(dir + "/" + folder, copy + "/" + folder);
  }
  std::ofstream(copy + "/packaging/rds-ca/global-bundle.pem", std::ios::app) << "\n";
  const testing::ProcessResult refused =
      RunProcess({copy + "/packaging/package.sh", "--binary", BOOTSTRAP_PATH, "--output",
                  dir + "/refused.zip"});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.err.find("does not match"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(dir + "/refused.zip"));
  fs::remove_all(dir);
}

TEST_F(PackageTest, TheUnpackedZipRotatesWithNothingButGlibcFromTheMachine) {
  UnpackedPackage package;
  ASSERT_NO_FATAL_FAILURE(package.BuildAndUnpack(server_.ca));
  const std::string& task = package.task();
  ASSERT_TRUE(fs::is_regular_file(task + "/bootstrap"));
  EXPECT_TRUE((fs::status(task + "/bootstrap").permissions() & fs::perms::owner_exec) !=
              fs::perms::none);
  EXPECT_TRUE(fs::is_regular_file(task + "/db-ca-bundle.pem"));
  EXPECT_TRUE(fs::is_regular_file(task + "/lib/mariadb/plugin/client_ed25519.so"));
  const testing::ProcessResult dynamic =
      RunProcess({"/usr/bin/readelf", "-d", task + "/bootstrap"});
  EXPECT_NE(dynamic.out.find("(RPATH)              Library rpath: [$ORIGIN/lib]"),
            std::string::npos)
      << dynamic.out;
  EXPECT_EQ(dynamic.out.find("libstdc++"), std::string::npos) << "libstdc++ is linked in";

  // Two users: one with the usual password plugin, one with ed25519, whose
  // client side is a plugin the function must load from the package.
  const std::string suffix = testing::RandomSuffix();
  const std::string native_user = "pkg_native_" + suffix;
  const std::string ed25519_user = "pkg_ed25519_" + suffix;
  const std::string password = "Initial-" + suffix;
  MariaDbClient admin(server_, server_.admin_user, server_.admin_password);
  ASSERT_TRUE(admin.connected()) << admin.error();
  ASSERT_TRUE(admin.Exec("SET SESSION sql_log_off = 1")) << admin.error();  // see MariaDbTest
  ASSERT_TRUE(admin.Exec("CREATE USER " + admin.Account(native_user) + " IDENTIFIED BY " +
                         admin.Quote(password)))
      << admin.error();
  admin.Exec("INSTALL SONAME 'auth_ed25519'");  // fails harmlessly when installed already
  ASSERT_TRUE(admin.Exec("CREATE USER " + admin.Account(ed25519_user) +
                         " IDENTIFIED VIA ed25519 USING PASSWORD(" + admin.Quote(password) + ")"))
      << admin.error();

  LocalAws local(package.Options());
  for (const std::string& user : {native_user, ed25519_user}) {
    const std::string arn = local.CreateSecret(user, WriteJson(JsonValue{{"engine", "mariadb"},
                                                                         {"host", server_.host},
                                                                         {"port", server_.port},
                                                                         {"username", user},
                                                                         {"password", password}}));
    const testing::ProcessResult rotated = local.RotateSecret(arn);
    ASSERT_EQ(rotated.exit_code, 0) << user << ": " << rotated.err << local.FunctionLog();
    const std::string current = ParseJson(local.ValueAt(arn, "AWSCURRENT"), "secret", "Test")
                                    ->at("password")
                                    .get<std::string>();
    EXPECT_EQ(testing::LoginError(server_, user, current), "") << user;
    EXPECT_NE(testing::LoginError(server_, user, password), "") << user << ": old password works";
    if (user == ed25519_user) DocumentExposure(current);
  }

  EXPECT_GE(package.CheckMappedObjects(local), 4)
      << "bootstrap, libssl, libcrypto, libmariadb and a plugin";
}

// PostgreSQL through the package: libpq is linked into bootstrap, so only
// bootstrap and OpenSSL come from the package.
TEST(PackagePostgresTest, TheUnpackedZipRotatesAPostgresSecret) {
  UseServerFixtures();
  std::string error;
  const std::optional<testing::PostgresServer> server = testing::LoadPostgresServer(&error);
  ASSERT_TRUE(server.has_value()) << error;
  UnpackedPackage package;
  ASSERT_NO_FATAL_FAILURE(package.BuildAndUnpack(server->ca));

  const std::string user = testing::UniqueName("pkg_pg");
  const std::string password = "Initial-" + testing::RandomSuffix();
  testing::PgConnection admin(*server, server->admin_user, server->admin_password);
  ASSERT_TRUE(admin.ok()) << admin.error();
  admin.CreateRole(user, password);

  LocalAws local(package.Options());
  const std::string arn = local.CreateSecret(user, WriteJson(JsonValue{{"engine", "postgres"},
                                                                       {"host", server->host},
                                                                       {"port", server->port},
                                                                       {"username", user},
                                                                       {"password", password},
                                                                       {"dbname", "postgres"}}));
  const testing::ProcessResult rotated = local.RotateSecret(arn);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << local.FunctionLog();
  const std::string current = ParseJson(local.ValueAt(arn, "AWSCURRENT"), "secret", "Test")
                                  ->at("password")
                                  .get<std::string>();
  EXPECT_NE(current, password);
  EXPECT_TRUE(testing::LogsIn(*server, user, current));
  EXPECT_FALSE(testing::LogsIn(*server, user, password)) << "the old password still works";
  EXPECT_GE(package.CheckMappedObjects(local), 3) << "bootstrap, libssl, libcrypto";
}

}  // namespace
}  // namespace secret_rotator
