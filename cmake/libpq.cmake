# libpq, as target libpq_static (GLOBAL, so that the tests link the same one).
#
# A static libpq with OpenSSL and nothing else (no GSSAPI, LDAP, readline,
# zlib, ICU), with libpgcommon_shlib.a and libpgport_shlib.a, built from
# Debian's own source package of PostgreSQL 15 (postgresql-15) by
# scripts/build-libpq.sh and cached outside the build folder beside the
# static libcurl, so the Lambda package bundles no extra shared library. A
# new Debian version of the source (a security update) is built anew when
# CMake configures.
include(${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake)

message(STATUS "libpq: static, from Debian's source package (cache ${SECRET_ROTATOR_CURL_CACHE})")
secret_rotator_debian_source(build-libpq.sh libpq libpq_prefix
  "Let scripts/install-deps.sh add a deb-src line for Debian's archive (then 'apt-get source postgresql-15' works).")
# Imported archives, so that CMake orders them, and OpenSSL after them, on
# the link line (Debian's linker drops a shared library nothing needed yet).
add_library(postgres_pgport STATIC IMPORTED)
set_target_properties(postgres_pgport PROPERTIES
  IMPORTED_LOCATION "${libpq_prefix}/lib/libpgport_shlib.a")
add_library(postgres_pgcommon STATIC IMPORTED)
set_target_properties(postgres_pgcommon PROPERTIES
  IMPORTED_LOCATION "${libpq_prefix}/lib/libpgcommon_shlib.a"
  INTERFACE_LINK_LIBRARIES "postgres_pgport;OpenSSL::Crypto")
add_library(libpq_static STATIC IMPORTED GLOBAL)
set_target_properties(libpq_static PROPERTIES
  IMPORTED_LOCATION "${libpq_prefix}/lib/libpq.a"
  INTERFACE_INCLUDE_DIRECTORIES "${libpq_prefix}/include"
  INTERFACE_LINK_LIBRARIES
    "postgres_pgcommon;postgres_pgport;OpenSSL::SSL;OpenSSL::Crypto;Threads::Threads")
