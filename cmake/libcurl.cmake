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
if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(default_curl_cache "$ENV{XDG_CACHE_HOME}/secret-rotator")
else()
  set(default_curl_cache "$ENV{HOME}/.cache/secret-rotator")
endif()
set(SECRET_ROTATOR_CURL_CACHE "${default_curl_cache}" CACHE PATH
    "Where scripts/build-curl.sh keeps the static libcurl it builds")

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
  # A cross build (cmake/aarch64-linux-gnu.cmake) cross-builds it too.
  set(curl_host_arguments)
  if(CMAKE_CROSSCOMPILING)
    set(curl_host_arguments --host ${CMAKE_LIBRARY_ARCHITECTURE})
  endif()
  execute_process(
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/build-curl.sh --cache ${SECRET_ROTATOR_CURL_CACHE}
            ${curl_host_arguments}
    RESULT_VARIABLE curl_result
    OUTPUT_VARIABLE curl_output
    ERROR_VARIABLE curl_errors
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX REPLACE ".*\n" "" curl_prefix "${curl_output}")
  if(NOT curl_result EQUAL 0 OR NOT EXISTS "${curl_prefix}/lib/libcurl.a")
    message(FATAL_ERROR "Cannot build the static libcurl from Debian's source package:\n"
                        "${curl_errors}\n${curl_alternatives}")
  endif()
  file(READ "${curl_prefix}/DEBIAN_VERSION" curl_debian_version)
  string(STRIP "${curl_debian_version}" curl_debian_version)
  message(STATUS "libcurl: ${curl_prefix} (Debian ${curl_debian_version})")
  add_library(CURL::libcurl STATIC IMPORTED GLOBAL)
  set_target_properties(CURL::libcurl PROPERTIES
    IMPORTED_LOCATION "${curl_prefix}/lib/libcurl.a"
    INTERFACE_INCLUDE_DIRECTORIES "${curl_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS CURL_STATICLIB
    INTERFACE_LINK_LIBRARIES "OpenSSL::SSL;OpenSSL::Crypto;Threads::Threads")
endif()
