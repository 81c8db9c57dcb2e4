# MySQL, MariaDB and Aurora MySQL (included by strategies/CMakeLists.txt).
# SECRET_ROTATOR_MYSQL_CLIENT picks the client library: "mariadb" (MariaDB
# Connector/C, pkg-config libmariadb, Debian libmariadb-dev) or "mysqlclient"
# (pkg-config mysqlclient, Debian default-libmysqlclient-dev). The imported
# target PkgConfig::MYSQL_CLIENT is GLOBAL so that tests can use the same library.
if(NOT DEFINED SECRET_ROTATOR_MYSQL_CLIENT)
  set(SECRET_ROTATOR_MYSQL_CLIENT "mariadb" CACHE STRING
      "MySQL client library: mariadb (libmariadb-dev) or mysqlclient (default-libmysqlclient-dev)")
endif()
set_property(CACHE SECRET_ROTATOR_MYSQL_CLIENT PROPERTY STRINGS mariadb mysqlclient)

if(SECRET_ROTATOR_MYSQL_CLIENT STREQUAL "mariadb")
  pkg_check_modules(MYSQL_CLIENT REQUIRED IMPORTED_TARGET GLOBAL libmariadb)
elseif(SECRET_ROTATOR_MYSQL_CLIENT STREQUAL "mysqlclient")
  pkg_check_modules(MYSQL_CLIENT REQUIRED IMPORTED_TARGET GLOBAL mysqlclient)
else()
  message(FATAL_ERROR
    "SECRET_ROTATOR_MYSQL_CLIENT must be mariadb or mysqlclient, not '${SECRET_ROTATOR_MYSQL_CLIENT}'")
endif()
message(STATUS "MySQL client library: ${SECRET_ROTATOR_MYSQL_CLIENT} ${MYSQL_CLIENT_VERSION}")

target_sources(strategies PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/mysql_session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mysql_sql.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mysql_strategy.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mysql_tls_gate.cpp)
# OpenSSL for the system CA store's location (X509_get_default_cert_file).
target_link_libraries(strategies PRIVATE PkgConfig::MYSQL_CLIENT OpenSSL::Crypto)
# mysql_sql.h uses C++20 (defaulted comparisons) and tests include it.
target_compile_features(strategies PUBLIC cxx_std_20)
