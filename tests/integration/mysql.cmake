# MySQL/MariaDB rotations end to end (included from tests/CMakeLists.txt): the
# AWS CLI rotates secrets on the local Secrets Manager, which runs the real
# bootstrap through the local Lambda service against the private MariaDB
# server (fixture "mariadb"). Outcomes are checked on the server with the C
# client library.

# The private MariaDB server's settings and an independent client for checking
# outcomes on it; any test that talks to that server can link it.
add_library(mariadb_test_support STATIC ${CMAKE_CURRENT_LIST_DIR}/../support/mariadb_server.cpp)
target_link_libraries(mariadb_test_support PUBLIC test_support PRIVATE PkgConfig::MYSQL_CLIENT
                      project_warnings)

secret_rotator_test(mysql_rotation_test integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/mysql_rotation_test.cpp
  LIBS mariadb_test_support test_support
  PROPERTIES FIXTURES_REQUIRED mariadb TIMEOUT 300
             ENVIRONMENT "SECRET_ROTATOR_MARIADB_DIR=${CMAKE_BINARY_DIR}/servers/mariadb")
add_dependencies(mysql_rotation_test bootstrap)
