# MySQL/MariaDB strategy tests (included from tests/CMakeLists.txt).
#   mysql_sql_test       pure functions and registration   label unit
#   mysql_strategy_test  against the private MariaDB server label integration
# mysql_strategy_test talks to the server with the C client library as well,
# to check the outcome independently of the code under test.

# The private MariaDB server's settings and an independent client for checking
# outcomes on it (tests/support/mariadb_server.h); any test that talks to that
# server can link it. Defined here, the first MySQL file tests/CMakeLists.txt
# includes, for the integration and package tests as well.
add_library(mariadb_test_support STATIC ${CMAKE_CURRENT_LIST_DIR}/../support/mariadb_server.cpp)
target_link_libraries(mariadb_test_support PUBLIC test_support PRIVATE PkgConfig::MYSQL_CLIENT
                      project_warnings)

add_executable(mysql_sql_test ${CMAKE_CURRENT_LIST_DIR}/mysql_sql_test.cpp)
target_link_libraries(mysql_sql_test PRIVATE strategies GTest::gtest GTest::gtest_main
                      project_warnings)
gtest_discover_tests(mysql_sql_test DISCOVERY_TIMEOUT 120 PROPERTIES LABELS unit)
set_property(GLOBAL APPEND PROPERTY SECRET_ROTATOR_UNIT_TEST_TARGETS mysql_sql_test)

add_executable(mysql_strategy_test ${CMAKE_CURRENT_LIST_DIR}/mysql_strategy_test.cpp)
target_link_libraries(mysql_strategy_test PRIVATE strategies mariadb_test_support
                      GTest::gtest GTest::gtest_main GTest::gmock project_warnings)
gtest_discover_tests(mysql_strategy_test DISCOVERY_TIMEOUT 120
  PROPERTIES LABELS integration FIXTURES_REQUIRED mariadb TIMEOUT 120
             ENVIRONMENT "SECRET_ROTATOR_MARIADB_DIR=${CMAKE_BINARY_DIR}/servers/mariadb")
