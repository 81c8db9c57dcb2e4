# PostgreSQL and Aurora PostgreSQL, with Debian's libpq (libpq-dev).
# GLOBAL so that the tests can use libpq for their own checks.
if(NOT TARGET PkgConfig::LIBPQ)
  pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET GLOBAL libpq)
endif()
target_sources(strategies PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/postgres_connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/postgres_session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/postgres_strategy.cpp)
target_link_libraries(strategies PRIVATE PkgConfig::LIBPQ OpenSSL::Crypto)
