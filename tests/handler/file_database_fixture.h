// The fixture the handler's tests share: a fake Secrets Manager, the
// file-backed test engine "testdb" in a folder of the test's own, and the log
// lines the test wrote.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "strategies/registry.h"
#include "tests/support/fake_secrets_manager.h"
#include "tests/support/file_database_strategy.h"

namespace secret_rotator::testing {

class FileDatabaseFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigureLogging({}, [this](std::string_view line) { log_.emplace_back(line); });
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        std::filesystem::temp_directory_path() / (std::string(test->test_suite_name()) + "_" +
                                                  std::to_string(::getpid()) + "_" + test->name());
    std::filesystem::create_directories(dir_);
    db_path_ = (dir_ / "db.json").string();
    AddFileDatabaseEngine(engines_);
  }
  void TearDown() override {
    ConfigureLogging({});
    std::filesystem::remove_all(dir_);
  }

  // A secret of engine "testdb" for this test's database; `extra` is more
  // JSON members, each starting with a comma.
  std::string SecretJson(const std::string& username, const std::string& password,
                         const std::string& extra = "") const {
    return R"({"engine":"testdb","host":")" + db_path_ + R"(","username":")" + username +
           R"(","password":")" + password + "\"" + extra + "}";
  }
  void WriteDb(std::map<std::string, std::string> users) {
    ASSERT_TRUE(WriteFileDatabase(db_path_, FileDatabase{std::move(users), 0}).ok());
  }
  FileDatabase Db() const { return ReadFileDatabase(db_path_).value(); }
  std::string Log() const {
    std::string all;
    for (const std::string& line : log_) all += line + "\n";
    return all;
  }

  FakeSecretsManager secrets_;
  strategies::StrategyRegistry engines_;
  std::filesystem::path dir_;
  std::string db_path_;
  std::vector<std::string> log_;
};

}  // namespace secret_rotator::testing
