# A cross build's MariaDB client development files (included by the top
# CMakeLists.txt when cross-compiling): scripts/target-dev-packages.sh
# unpacks Debian's libmariadb-dev for the target architecture into the
# cache, because installing it with apt would remove the machine's own.
# pkg-config is pointed at it and at the target's multiarch folder only.
# (libpq is cross-built from source: cmake/libpq.cmake.)
if(CMAKE_LIBRARY_ARCHITECTURE STREQUAL "aarch64-linux-gnu")
  set(target_dev_arch arm64)
else()
  message(FATAL_ERROR "Cross-compiling is supported for aarch64-linux-gnu only "
                      "(cmake/aarch64-linux-gnu.cmake), not '${CMAKE_LIBRARY_ARCHITECTURE}'")
endif()
execute_process(
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/target-dev-packages.sh --cache ${SECRET_ROTATOR_CURL_CACHE}
          --arch ${target_dev_arch}
  RESULT_VARIABLE target_dev_result
  OUTPUT_VARIABLE target_dev_output
  ERROR_VARIABLE target_dev_errors
  OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX REPLACE ".*\n" "" target_dev_root "${target_dev_output}")
if(NOT target_dev_result EQUAL 0 OR NOT IS_DIRECTORY "${target_dev_root}/usr")
  message(FATAL_ERROR "Cannot unpack the ${target_dev_arch} database client packages:\n"
                      "${target_dev_errors}")
endif()
message(STATUS "${target_dev_arch} database client development files: ${target_dev_root}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${target_dev_root}/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/pkgconfig:$ENV{PKG_CONFIG_LIBDIR}")
