// The Lambda package as Lambda runs it: packaging/package.sh builds the zip,
// the zip is unpacked into an empty folder, and its bootstrap runs with a
// clean environment (only the Lambda variables, the region, the credentials
// and the Secrets Manager endpoint) under the local Lambda service for whole
// rotations against the private MariaDB server. Nothing may come from the
// build tree: the test reads the running function's memory map.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/json.h"
#include "tests/support/local_aws.h"
#include "tests/support/mariadb_server.h"

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

class PackageTest : public testing::MariaDbTest {
 protected:
  void SetUp() override {
    MariaDbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dir_ = testing::MakeTempDir("package_test");
    task_ = dir_ + "/task";
    fs::create_directories(task_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Builds the package with the test CA as its database CA bundle and
  // unpacks it into the empty task folder.
  void BuildAndUnpack() {
    const testing::ProcessResult packaged =
        RunProcess({std::string(SOURCE_DIR) + "/packaging/package.sh", "--binary", BOOTSTRAP_PATH,
                    "--output", dir_ + "/secret-rotator.zip", "--db-ca-bundle", server_.ca});
    ASSERT_EQ(packaged.exit_code, 0) << packaged.out << packaged.err;
    EXPECT_NE(packaged.out.find("glibc ceiling: GLIBC_2.3"), std::string::npos) << packaged.out;
    const testing::ProcessResult unpacked =
        RunProcess({"/usr/bin/unzip", "-q", dir_ + "/secret-rotator.zip", "-d", task_});
    ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
  }

  std::string dir_;
  std::string task_;
};

// Without --db-ca-bundle (sam build's Makefile target, the CMake package
// target) the package ships Amazon RDS's global bundle and the Amazon roots
// as db-ca-bundle.pem, which the function trusts when DB_TLS_CA_FILE is unset.
TEST_F(PackageTest, ByDefaultThePackageShipsTheRdsCaBundle) {
  const testing::ProcessResult packaged =
      RunProcess({std::string(SOURCE_DIR) + "/packaging/package.sh", "--binary", BOOTSTRAP_PATH,
                  "--output", dir_ + "/secret-rotator.zip"});
  ASSERT_EQ(packaged.exit_code, 0) << packaged.out << packaged.err;
  EXPECT_NE(packaged.out.find("database CA bundle: Amazon RDS global bundle + Amazon roots (120 "),
            std::string::npos)
      << packaged.out;
  const testing::ProcessResult shipped =
      RunProcess({"/usr/bin/unzip", "-p", dir_ + "/secret-rotator.zip", "db-ca-bundle.pem"});
  ASSERT_EQ(shipped.exit_code, 0) << shipped.err;
  const std::string rds =
      testing::ReadFile(std::string(SOURCE_DIR) + "/packaging/rds-ca/global-bundle.pem");
  ASSERT_FALSE(rds.empty());
  EXPECT_EQ(shipped.out.substr(0, rds.size()), rds);
  EXPECT_NE(shipped.out.find("MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF"),
            std::string::npos)
      << "Amazon Root CA 1 (RDS Proxy)";

  // A bundle that no longer matches its committed checksum stops packaging.
  const std::string copy = dir_ + "/source";
  ASSERT_EQ(RunProcess({"/bin/cp", "-a", std::string(SOURCE_DIR) + "/packaging",
                        std::string(SOURCE_DIR) + "/scripts", std::string(SOURCE_DIR) + "/aws",
                        dir_ + "/"})
                .exit_code,
            0);
  fs::create_directories(copy);
  for (const char* folder : {"packaging", "scripts", "aws"}) {
    fs::rename(dir_ + "/" + folder, copy + "/" + folder);
  }
  std::ofstream(copy + "/packaging/rds-ca/global-bundle.pem", std::ios::app) << "\n";
  const testing::ProcessResult refused =
      RunProcess({copy + "/packaging/package.sh", "--binary", BOOTSTRAP_PATH, "--output",
                  dir_ + "/refused.zip"});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.err.find("does not match"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(dir_ + "/refused.zip"));
}

TEST_F(PackageTest, TheUnpackedZipRotatesWithNothingButGlibcFromTheMachine) {
  BuildAndUnpack();
  ASSERT_TRUE(fs::is_regular_file(task_ + "/bootstrap"));
  EXPECT_TRUE((fs::status(task_ + "/bootstrap").permissions() & fs::perms::owner_exec) !=
              fs::perms::none);
  EXPECT_TRUE(fs::is_regular_file(task_ + "/db-ca-bundle.pem"));
  EXPECT_TRUE(fs::is_regular_file(task_ + "/lib/mariadb/plugin/client_ed25519.so"));
  const testing::ProcessResult dynamic =
      RunProcess({"/usr/bin/readelf", "-d", task_ + "/bootstrap"});
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

  LocalAwsOptions options{task_ + "/bootstrap"};
  options.clean_env = true;
  options.task_root = task_;
  LocalAws local(options);
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
  }

  // Every shared object the running function mapped is the package's own or glibc's.
  const JsonValue stats = local.LambdaStats();
  ASSERT_TRUE(stats.at("childPid").is_number_integer()) << WriteJson(stats);
  std::ifstream maps("/proc/" + std::to_string(stats.at("childPid").get<int>()) + "/maps");
  ASSERT_TRUE(maps.good());
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
  EXPECT_GE(from_package, 4) << "bootstrap, libssl, libcrypto, libmariadb and a plugin";
}

}  // namespace
}  // namespace secret_rotator
