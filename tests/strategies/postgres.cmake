# PostgreSQL strategy tests. Included from tests/CMakeLists.txt (GTest found,
# GoogleTest included, tests/servers/servers.cmake included for the postgres
# fixture).
#   postgres_connection_test  unit: settings, names, error classification.
#   postgres_strategy_test    integration: the strategies against the private
#                             PostgreSQL cluster of tests/servers/postgres.sh.
# libpq_static comes from cmake/libpq.cmake.

# The private PostgreSQL cluster's settings and direct libpq access to it
# (tests/support/postgres_server.h), for postgres_strategy_test here and
# postgres_rotation_test in tests/integration/postgres.cmake.
add_library(postgres_test_support STATIC ${CMAKE_CURRENT_LIST_DIR}/../support/postgres_server.cpp)
target_link_libraries(postgres_test_support PUBLIC test_support PRIVATE libpq_static
                      project_warnings)

add_executable(postgres_connection_test
  ${CMAKE_CURRENT_LIST_DIR}/postgres_connection_test.cpp)
target_link_libraries(postgres_connection_test PRIVATE
  strategies GTest::gtest GTest::gtest_main project_warnings)
gtest_discover_tests(postgres_connection_test DISCOVERY_TIMEOUT 120
  PROPERTIES LABELS unit)
set_property(GLOBAL APPEND PROPERTY SECRET_ROTATOR_UNIT_TEST_TARGETS postgres_connection_test)

add_executable(postgres_strategy_test
  ${CMAKE_CURRENT_LIST_DIR}/postgres_strategy_test.cpp)
target_link_libraries(postgres_strategy_test PRIVATE
  strategies postgres_test_support GTest::gtest GTest::gtest_main project_warnings)
gtest_discover_tests(postgres_strategy_test DISCOVERY_TIMEOUT 120
  PROPERTIES LABELS integration TIMEOUT 120 FIXTURES_REQUIRED postgres
  ENVIRONMENT "SECRET_ROTATOR_POSTGRES_DIR=${CMAKE_BINARY_DIR}/servers/postgres")
