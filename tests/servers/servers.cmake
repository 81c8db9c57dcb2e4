# CTest fixtures that start the private database servers the integration tests
# use (on 127.0.0.1, in folders under the build tree) and stop them afterwards.
# A test that needs a server sets FIXTURES_REQUIRED mariadb or postgres and
# reads the connection details from <dir>/server.env (see the scripts).
set(SECRET_ROTATOR_SERVERS_DIR "${CMAKE_BINARY_DIR}/servers")
set(SECRET_ROTATOR_TLS_DIR "${SECRET_ROTATOR_SERVERS_DIR}/tls")

foreach(server mariadb postgres)
  set(script "${CMAKE_CURRENT_LIST_DIR}/${server}.sh")
  if(EXISTS "${script}")
    add_test(NAME servers.${server}.start
             COMMAND "${script}" start "${SECRET_ROTATOR_SERVERS_DIR}/${server}" "${SECRET_ROTATOR_TLS_DIR}")
    set_tests_properties(servers.${server}.start PROPERTIES
      FIXTURES_SETUP ${server} LABELS integration TIMEOUT 300)
    add_test(NAME servers.${server}.stop
             COMMAND "${script}" stop "${SECRET_ROTATOR_SERVERS_DIR}/${server}")
    set_tests_properties(servers.${server}.stop PROPERTIES
      FIXTURES_CLEANUP ${server} LABELS integration TIMEOUT 60)
  endif()
endforeach()
