#include "strategies/registry.h"

#include "strategies/mysql_strategy.h"
#include "strategies/postgres_strategy.h"

#include <algorithm>
#include <utility>

namespace secret_rotator::strategies {

std::string_view RotationKindName(RotationKind kind) {
  return kind == RotationKind::kSingleUser ? "single-user" : "alternating-users";
}

Result<RotationKind> ParseRotationKind(std::string_view setting_name, std::string_view value) {
  if (value == "single-user") return RotationKind::kSingleUser;
  if (value == "alternating-users") return RotationKind::kAlternatingUsers;
  return Status(StatusCode::kInvalidArgument, "ConfigurationError",
                std::string(setting_name) + " must be single-user or alternating-users, not '" +
                    std::string(value) + "'");
}

void StrategyRegistry::Add(EngineEntry entry) {
  auto same = [&](const EngineEntry& existing) { return existing.engine == entry.engine; };
  if (auto found = std::find_if(entries_.begin(), entries_.end(), same); found != entries_.end()) {
    *found = std::move(entry);
  } else {
    entries_.push_back(std::move(entry));
  }
}

const EngineEntry* StrategyRegistry::Find(std::string_view engine) const {
  for (const EngineEntry& entry : entries_) {
    if (entry.engine == engine) return &entry;
  }
  return nullptr;
}

std::string StrategyRegistry::EngineNames() const {
  std::string names;
  for (const EngineEntry& entry : entries_) {
    if (!names.empty()) names += ", ";
    names += entry.engine;
  }
  return names.empty() ? "(none)" : names;
}

StrategyRegistry BuiltInRegistry() {
  StrategyRegistry registry;
  AddMySqlEngines(registry);
  AddPostgresEngines(registry);
  return registry;
}

}  // namespace secret_rotator::strategies
