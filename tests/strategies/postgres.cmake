# PostgreSQL strategy tests. Included from tests/CMakeLists.txt (GTest found,
# GoogleTest included, tests/servers/servers.cmake included for the postgres
# fixture).
#   postgres_connection_test  unit: settings, names, error classification.
#   postgres_strategy_test    integration: the strategies against the private
#                             PostgreSQL cluster of tests/servers/postgres.sh.
# libpq_static comes from strategies/postgres.cmake.
add_executable(postgres_connection_test
  ${CMAKE_CURRENT_LIST_DIR}/postgres_connection_test.cpp)
target_link_libraries(postgres_connection_test PRIVATE
  strategies GTest::gtest GTest::gtest_main project_warnings)
gtest_discover_tests(postgres_connection_test DISCOVERY_TIMEOUT 30
  PROPERTIES LABELS unit)

add_executable(postgres_strategy_test
  ${CMAKE_CURRENT_LIST_DIR}/postgres_strategy_test.cpp)
target_link_libraries(postgres_strategy_test PRIVATE
  strategies libpq_static GTest::gtest GTest::gtest_main project_warnings)
gtest_discover_tests(postgres_strategy_test DISCOVERY_TIMEOUT 30
  PROPERTIES LABELS integration TIMEOUT 120 FIXTURES_REQUIRED postgres
  ENVIRONMENT "SECRET_ROTATOR_POSTGRES_DIR=${CMAKE_BINARY_DIR}/servers/postgres")
