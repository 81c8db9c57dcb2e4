// The executable's entry point: command line, configuration, and the wiring
// of runtime/, aws/, handler/ and the engines.
#pragma once

#include "strategies/registry.h"

namespace secret_rotator::app {

// Exit codes of the command line.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a rotation error, or the Runtime API failed
inline constexpr int kExitUsage = 2;    // bad arguments or configuration

// Runs `bootstrap` with `engines`: the Runtime API loop, or one event with
// --event. Returns the process exit code.
int BootstrapMain(int argc, char** argv, const strategies::StrategyRegistry& engines);

}  // namespace secret_rotator::app
