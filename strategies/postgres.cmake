# PostgreSQL and Aurora PostgreSQL, with Debian's libpq linked statically
# (libpq-dev; libpgcommon/libpgport from postgresql-server-dev-15) and without
# its LDAP and GSSAPI libraries: see postgres_no_ldap_gssapi.cpp.
# The target libpq_static is GLOBAL so that tests use the same libpq.
if(NOT TARGET libpq_static)
  pkg_check_modules(LIBPQ REQUIRED libpq)
  # A cross build sets PG_PKGLIBDIR (cmake/target-dev-packages.cmake).
  if(NOT PG_PKGLIBDIR)
    find_program(PG_CONFIG pg_config REQUIRED)
    execute_process(COMMAND ${PG_CONFIG} --pkglibdir OUTPUT_VARIABLE PG_PKGLIBDIR
                    OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  endif()
  find_library(LIBPQ_ARCHIVE NAMES libpq.a HINTS ${LIBPQ_LIBDIR} REQUIRED)
  find_library(PGCOMMON_ARCHIVE NAMES libpgcommon_shlib.a HINTS ${PG_PKGLIBDIR} REQUIRED)
  find_library(PGPORT_ARCHIVE NAMES libpgport_shlib.a HINTS ${PG_PKGLIBDIR} REQUIRED)
  add_library(postgres_no_ldap_gssapi OBJECT ${CMAKE_CURRENT_LIST_DIR}/postgres_no_ldap_gssapi.cpp)
  target_link_libraries(postgres_no_ldap_gssapi PRIVATE project_warnings)
  # Imported archives, so that CMake orders OpenSSL after them on the link
  # line (Debian's linker drops a shared library nothing needed yet).
  add_library(postgres_pgport STATIC IMPORTED)
  set_target_properties(postgres_pgport PROPERTIES IMPORTED_LOCATION ${PGPORT_ARCHIVE})
  add_library(postgres_pgcommon STATIC IMPORTED)
  set_target_properties(postgres_pgcommon PROPERTIES IMPORTED_LOCATION ${PGCOMMON_ARCHIVE}
    INTERFACE_LINK_LIBRARIES "postgres_pgport;OpenSSL::Crypto")
  add_library(libpq_static STATIC IMPORTED GLOBAL)
  # The stand-ins go in as objects, so they resolve libpq's references
  # whatever the link order.
  set_target_properties(libpq_static PROPERTIES
    IMPORTED_LOCATION ${LIBPQ_ARCHIVE}
    INTERFACE_INCLUDE_DIRECTORIES "${LIBPQ_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES
      "postgres_pgcommon;postgres_pgport;$<TARGET_OBJECTS:postgres_no_ldap_gssapi>;OpenSSL::SSL;OpenSSL::Crypto;Threads::Threads")
endif()
target_sources(strategies PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/postgres_connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/postgres_session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/postgres_strategy.cpp)
target_link_libraries(strategies PRIVATE libpq_static OpenSSL::Crypto)
