// test_bootstrap: the real bootstrap (same app::BootstrapMain, same engines)
// with the file-backed "testdb" engine added, so that the whole Lambda path
// can run in tests without a database server.
#include "app/bootstrap_main.h"
#include "strategies/registry.h"
#include "tests/support/file_database_strategy.h"

int main(int argc, char** argv) {
  secret_rotator::strategies::StrategyRegistry engines =
      secret_rotator::strategies::BuiltInRegistry();
  secret_rotator::testing::AddFileDatabaseEngine(engines);
  return secret_rotator::app::BootstrapMain(argc, argv, engines);
}
