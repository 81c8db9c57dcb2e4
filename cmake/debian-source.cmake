# Runs one of the scripts that build a static library from Debian's own
# source package and cache it (scripts/build-curl.sh, scripts/build-libpq.sh,
# both on scripts/lib/debian-source.sh), for the target architecture: a cross
# build (cmake/aarch64-linux-gnu.cmake) cross-builds the library too.
#
# secret_rotator_debian_source(SCRIPT NAME PREFIX_VARIABLE ALTERNATIVES)
# sets PREFIX_VARIABLE to the build's folder (include/, lib/, DEBIAN_VERSION),
# prints the Debian version in use, shows the script's warnings (an older
# source version used because the newest cannot be downloaded), and stops
# with the script's errors and ALTERNATIVES when the build fails.
if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(default_source_cache "$ENV{XDG_CACHE_HOME}/secret-rotator")
else()
  set(default_source_cache "$ENV{HOME}/.cache/secret-rotator")
endif()
set(SECRET_ROTATOR_CURL_CACHE "${default_source_cache}" CACHE PATH
    "Where scripts/build-curl.sh and scripts/build-libpq.sh keep the static libraries they build")

function(secret_rotator_debian_source script name prefix_variable alternatives)
  set(host_arguments)
  if(CMAKE_CROSSCOMPILING)
    set(host_arguments --host ${CMAKE_LIBRARY_ARCHITECTURE})
  endif()
  execute_process(
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/${script} --cache ${SECRET_ROTATOR_CURL_CACHE}
            ${host_arguments}
    RESULT_VARIABLE result
    OUTPUT_VARIABLE output
    ERROR_VARIABLE errors
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX REPLACE ".*\n" "" prefix "${output}")
  if(NOT result EQUAL 0 OR NOT EXISTS "${prefix}/DEBIAN_VERSION")
    message(FATAL_ERROR "Cannot build the static ${name} from Debian's source package:\n"
                        "${errors}\n${alternatives}")
  endif()
  if(errors MATCHES "WARNING:")
    message(WARNING "${errors}")
  endif()
  file(READ "${prefix}/DEBIAN_VERSION" debian_version)
  string(STRIP "${debian_version}" debian_version)
  message(STATUS "${name}: ${prefix} (Debian ${debian_version})")
  set(${prefix_variable} "${prefix}" PARENT_SCOPE)
endfunction()
