# The operators' commands (bootstrap check, status, rotate) end to end, against
# the local Secrets Manager and both private servers. Included from
# tests/CMakeLists.txt; mariadb_test_support and postgres_test_support come
# from tests/strategies/*.cmake. One CTest test for the whole binary, since it
# needs both servers' fixtures (ctest -V -R operator_commands shows each case).
if(TARGET mariadb_test_support AND TARGET postgres_test_support)
  add_executable(operator_commands_test ${CMAKE_CURRENT_LIST_DIR}/operator_commands_test.cpp)
  target_link_libraries(operator_commands_test PRIVATE mariadb_test_support postgres_test_support
                        test_support GTest::gtest GTest::gtest_main project_warnings)
  target_compile_definitions(operator_commands_test PRIVATE
    BOOTSTRAP_PATH="$<TARGET_FILE:bootstrap>" SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    PYTHON3="${Python3_EXECUTABLE}")
  add_dependencies(operator_commands_test bootstrap)
  add_test(NAME integration.operator_commands COMMAND operator_commands_test)
  set_tests_properties(integration.operator_commands PROPERTIES
    LABELS integration TIMEOUT 600
    FIXTURES_REQUIRED "test_output;mariadb;postgres"
    ENVIRONMENT "SECRET_ROTATOR_MARIADB_DIR=${CMAKE_BINARY_DIR}/servers/mariadb;SECRET_ROTATOR_POSTGRES_DIR=${CMAKE_BINARY_DIR}/servers/postgres;SECRET_ROTATOR_TEST_OUTPUT_DIR=${SECRET_ROTATOR_TEST_OUTPUT_DIR}")
endif()
