// The operators' commands: bootstrap check | status | rotate SECRET_ID.
// Internal to app/.
#pragma once

#include <string_view>

#include "strategies/registry.h"

namespace secret_rotator::app {

// Returns true iff `word` (argv[1]) names an operator command.
bool IsOperatorCommand(std::string_view word);

// Runs the command argv[1] with the arguments after it. Prints a table (or
// JSON with --json) on stdout and errors on stderr. Returns the exit code:
// 0 success (check: ready), 1 a failure (check: something would make rotation
// fail; status --repair: refused), 2 bad usage or configuration.
int RunOperatorCommand(int argc, char** argv, const strategies::StrategyRegistry& engines);

}  // namespace secret_rotator::app
