// The explicit table of engines: which strategy serves an engine in each
// rotation style, and the engine's defaults. No self-registration: every
// engine is listed in registry.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "strategies/strategy.h"

namespace secret_rotator::strategies {

enum class RotationKind { kSingleUser, kAlternatingUsers };

// "single-user" / "alternating-users".
std::string_view RotationKindName(RotationKind kind);
// Parses "single-user" or "alternating-users"; else InvalidArgument naming
// `setting_name`.
Result<RotationKind> ParseRotationKind(std::string_view setting_name, std::string_view value);

using StrategyFactory =
    std::function<std::unique_ptr<Strategy>(RotationKind kind, const StrategyConfig& config)>;

struct EngineEntry {
  std::string engine;  // the secret's "engine" value, e.g. "mysql"
  int default_port = 0;
  // GetRandomPassword's ExcludeCharacters when EXCLUDE_CHARACTERS is unset:
  // the characters AWS's own functions exclude for this engine.
  std::string default_exclude_characters;
  StrategyFactory make;
};

class StrategyRegistry {
 public:
  // Adds `entry`; a later entry for the same engine replaces the earlier one.
  void Add(EngineEntry entry);
  // The entry for `engine`, or nullptr.
  const EngineEntry* Find(std::string_view engine) const;
  // Engine names, for error messages.
  std::string EngineNames() const;

 private:
  std::vector<EngineEntry> entries_;
};

// Every engine this build supports.
StrategyRegistry BuiltInRegistry();

}  // namespace secret_rotator::strategies
