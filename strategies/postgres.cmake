# PostgreSQL and Aurora PostgreSQL, with the static libpq of cmake/libpq.cmake
# (built from Debian's postgresql-15 source without GSSAPI and LDAP).
target_sources(strategies PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/postgres_connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/postgres_session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/postgres_strategy.cpp)
target_link_libraries(strategies PRIVATE libpq_static OpenSSL::Crypto)
