# libcurl, as target CURL::libcurl.
#
# By default a static libcurl with only HTTP and HTTPS on the project's
# OpenSSL, built from Debian's own source package of curl by
# scripts/build-curl.sh and cached outside the build folder, so the Lambda
# package bundles no extra shared library. A new Debian version of the source
# (a security update) is built anew when CMake configures.
# -DSECRET_ROTATOR_SYSTEM_CURL=ON links the system's libcurl instead (for
# example Amazon Linux's libcurl-minimal with libcurl-devel).
option(SECRET_ROTATOR_SYSTEM_CURL
       "Link the system's libcurl instead of a static one built from Debian's source package" OFF)
include(${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake)

# 7.84: the headers API (curl_easy_nextheader); 7.77: CURLOPT_CAINFO_BLOB.
set(curl_minimum_version 7.84)
set(curl_alternatives
    "Either let scripts/install-deps.sh add a deb-src line for Debian's archive (then 'apt-get source curl' works), or configure with -DSECRET_ROTATOR_SYSTEM_CURL=ON and a system libcurl ${curl_minimum_version} or newer built with OpenSSL (Debian: libcurl4-openssl-dev; Amazon Linux 2023: libcurl-minimal and libcurl-devel).")

if(SECRET_ROTATOR_SYSTEM_CURL)
  find_package(CURL ${curl_minimum_version})
  if(NOT CURL_FOUND)
    message(FATAL_ERROR "SECRET_ROTATOR_SYSTEM_CURL is ON but no libcurl ${curl_minimum_version} or "
                        "newer was found. ${curl_alternatives}")
  endif()
  message(STATUS "libcurl: the system's ${CURL_VERSION_STRING}")
else()
  message(STATUS "libcurl: static, from Debian's source package (cache ${SECRET_ROTATOR_CURL_CACHE})")
  secret_rotator_debian_source(build-curl.sh libcurl curl_prefix "${curl_alternatives}")
  add_library(CURL::libcurl STATIC IMPORTED GLOBAL)
  set_target_properties(CURL::libcurl PROPERTIES
    IMPORTED_LOCATION "${curl_prefix}/lib/libcurl.a"
    INTERFACE_INCLUDE_DIRECTORIES "${curl_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS CURL_STATICLIB
    INTERFACE_LINK_LIBRARIES "OpenSSL::SSL;OpenSSL::Crypto;Threads::Threads")
endif()
