#include "tests/support/file_database_strategy.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "base/json.h"

namespace secret_rotator::testing {
namespace {

using strategies::DbCredentials;

Status LoginFailed(const DbCredentials& who) {
  return Status(StatusCode::kPermissionDenied, "DatabaseLoginFailed",
                "login failed for " + strategies::Describe(who));
}

bool LogsIn(const FileDatabase& database, const DbCredentials& who) {
  const auto found = database.users.find(who.username);
  return found != database.users.end() && found->second == who.password.reveal();
}

class FileDatabaseStrategy final : public strategies::Strategy {
 public:
  explicit FileDatabaseStrategy(strategies::RotationKind kind) : kind_(kind) {}

  Result<strategies::Warnings> SetSecret(const strategies::SetSecretRequest& request,
                                         Deadline) override {
    Result<FileDatabase> database = ReadFileDatabase(request.pending.host);
    if (!database.ok()) return database.status();
    if (LogsIn(*database, request.pending)) return strategies::Warnings{};
    if (!LogsIn(*database, request.current)) {
      if (kind_ == strategies::RotationKind::kAlternatingUsers || request.previous == nullptr ||
          !LogsIn(*database, *request.previous)) {
        return LoginFailed(request.current);
      }
    }
    if (kind_ == strategies::RotationKind::kAlternatingUsers &&
        (request.admin == nullptr || !LogsIn(*database, *request.admin))) {
      return request.admin == nullptr
                 ? Status(StatusCode::kInvalidArgument, "InvalidSecret", "no admin credentials")
                 : LoginFailed(*request.admin);
    }
    database->users[request.pending.username] = std::string(request.pending.password.reveal());
    ++database->changes;
    if (Status written = WriteFileDatabase(request.pending.host, *database); !written.ok()) {
      return written;
    }
    return strategies::Warnings{};
  }

  Status TestSecret(const DbCredentials& pending, Deadline) override {
    Result<FileDatabase> database = ReadFileDatabase(pending.host);
    if (!database.ok()) return database.status();
    return LogsIn(*database, pending) ? Status::Ok() : LoginFailed(pending);
  }

 private:
  strategies::RotationKind kind_;
};

}  // namespace

void AddFileDatabaseEngine(strategies::StrategyRegistry& registry) {
  registry.Add({kFileDatabaseEngine, 1, "",
                [](strategies::RotationKind kind, const strategies::StrategyConfig&) {
                  return std::unique_ptr<strategies::Strategy>(
                      std::make_unique<FileDatabaseStrategy>(kind));
                }});
}

Result<FileDatabase> ReadFileDatabase(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return Status(StatusCode::kUnavailable, "DatabaseError", "cannot open database file " + path);
  }
  const std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  Result<JsonValue> parsed = ParseJson(text, "database file " + path, "DatabaseError");
  if (!parsed.ok()) return parsed.status();
  FileDatabase database;
  for (const auto& [name, password] : parsed->at("users").items()) {
    database.users[name] = password.get<std::string>();
  }
  database.changes = parsed->at("changes").get<int>();
  return database;
}

Status WriteFileDatabase(const std::string& path, const FileDatabase& database) {
  JsonValue root;
  root["users"] = JsonValue::object();
  for (const auto& [name, password] : database.users) root["users"][name] = password;
  root["changes"] = database.changes;
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << WriteJson(root);
    if (!file) return Status(StatusCode::kInternal, "DatabaseError", "cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Status(StatusCode::kInternal, "DatabaseError", "cannot replace " + path);
  }
  return Status::Ok();
}

}  // namespace secret_rotator::testing
