# PostgreSQL rotations end to end: the AWS CLI's rotate-secret on the local
# Secrets Manager, which invokes the real bootstrap through the local Lambda
# service, against the private PostgreSQL cluster of tests/servers/postgres.sh.
# Included from tests/CMakeLists.txt (secret_rotator_test, test_support and
# the postgres fixture of tests/servers/servers.cmake are defined there;
# postgres_test_support in tests/strategies/postgres.cmake).

secret_rotator_test(postgres_rotation_test integration
  SOURCES integration/postgres_rotation_test.cpp
  LIBS postgres_test_support test_support
  PROPERTIES TIMEOUT 300 FIXTURES_REQUIRED postgres
  ENVIRONMENT "SECRET_ROTATOR_POSTGRES_DIR=${CMAKE_BINARY_DIR}/servers/postgres")
add_dependencies(postgres_rotation_test bootstrap)
