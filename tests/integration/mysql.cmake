# MySQL/MariaDB rotations end to end (included from tests/CMakeLists.txt): the
# AWS CLI rotates secrets on the local Secrets Manager, which runs the real
# bootstrap through the local Lambda service against the private MariaDB
# server (fixture "mariadb"). Outcomes are checked on the server with the C
# client library.
# mariadb_test_support comes from tests/strategies/mysql.cmake.

secret_rotator_test(mysql_rotation_test integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/mysql_rotation_test.cpp
  LIBS mariadb_test_support test_support
  PROPERTIES FIXTURES_REQUIRED mariadb TIMEOUT 300
             ENVIRONMENT "SECRET_ROTATOR_MARIADB_DIR=${CMAKE_BINARY_DIR}/servers/mariadb")
add_dependencies(mysql_rotation_test bootstrap)
