// The test engine "testdb": a "database" that is a JSON file of users and
// passwords, {"users": {"name": "password"}, "changes": N}, at the path the
// secret names as its host. It lets the real bootstrap run all four steps
// without a database server; "changes" counts password changes so tests can
// prove a re-run changed nothing.
#pragma once

#include <map>
#include <string>

#include "base/status.h"
#include "strategies/registry.h"

namespace secret_rotator::testing {

inline constexpr char kFileDatabaseEngine[] = "testdb";

// Registers engine "testdb" (single-user and alternating-users).
void AddFileDatabaseEngine(strategies::StrategyRegistry& registry);

struct FileDatabase {
  std::map<std::string, std::string> users;
  int changes = 0;
};

Result<FileDatabase> ReadFileDatabase(const std::string& path);
Status WriteFileDatabase(const std::string& path, const FileDatabase& database);

}  // namespace secret_rotator::testing
