# The adversarial suites of issue 8 (included from tests/CMakeLists.txt; see tests/README.md):
#   adversarial.tools                 unit: the suites' own proxies, parsers and scanner
#   adversarial.crash.ENGINE.STRATEGY.ROTATION
#                                     SIGKILL at every Secrets Manager call and SQL statement
#   adversarial.crash.summary         the crash matrix's table over all eight runs
#   adversarial.mitm.ENGINE           the TLS man in the middle, every DB_TLS_MODE and attack
#   adversarial.leak_scan             every password searched in every output and server log,
#                                     after every other integration test (a fixture cleanup)
# The fixture "test_output" empties ${SECRET_ROTATOR_TEST_OUTPUT_DIR} at the start of a run;
# every test that starts a local Secrets Manager requires it (or a database fixture), so the leak
# scan, which cleans up all three, runs after all of them and before the servers stop.

set(adversarial_dir "${CMAKE_CURRENT_LIST_DIR}")
set(crash_results_dir "${SECRET_ROTATOR_TEST_OUTPUT_DIR}/crash-results")
set(adversarial_env
  "SECRET_ROTATOR_BOOTSTRAP=$<TARGET_FILE:bootstrap>"
  "SECRET_ROTATOR_MARIADB_DIR=${SECRET_ROTATOR_SERVERS_DIR}/mariadb"
  "SECRET_ROTATOR_POSTGRES_DIR=${SECRET_ROTATOR_SERVERS_DIR}/postgres"
  "SECRET_ROTATOR_TEST_OUTPUT_DIR=${SECRET_ROTATOR_TEST_OUTPUT_DIR}")

add_test(NAME test_output.setup
         COMMAND ${Python3_EXECUTABLE} -c
           "import os, shutil, sys; shutil.rmtree(sys.argv[1], True); os.makedirs(sys.argv[1])"
           "${SECRET_ROTATOR_TEST_OUTPUT_DIR}")
set_tests_properties(test_output.setup PROPERTIES
  FIXTURES_SETUP "test_output;mariadb;postgres" LABELS integration TIMEOUT 60)

add_test(NAME adversarial.tools
         COMMAND ${Python3_EXECUTABLE} -m unittest -v test_adversarial_tools.py
         WORKING_DIRECTORY ${adversarial_dir})
set_tests_properties(adversarial.tools PROPERTIES LABELS unit TIMEOUT 120)

set(crash_tests "")
foreach(engine mariadb postgres)
  foreach(strategy single-user alternating-users)
    foreach(rotation first later)
      set(name adversarial.crash.${engine}.${strategy}.${rotation})
      add_test(NAME ${name}
               COMMAND ${Python3_EXECUTABLE} crash_matrix.py --engine ${engine}
                       --strategy ${strategy} --rotation ${rotation}
                       --results ${crash_results_dir}/${engine}-${strategy}-${rotation}.json
               WORKING_DIRECTORY ${adversarial_dir})
      set_tests_properties(${name} PROPERTIES LABELS "integration;adversarial" TIMEOUT 900
        FIXTURES_REQUIRED ${engine} ENVIRONMENT "${adversarial_env}")
      list(APPEND crash_tests ${name})
    endforeach()
  endforeach()
endforeach()
add_test(NAME adversarial.crash.summary
         COMMAND ${Python3_EXECUTABLE} crash_matrix.py --summary ${crash_results_dir}
         WORKING_DIRECTORY ${adversarial_dir})
set_tests_properties(adversarial.crash.summary PROPERTIES LABELS "integration;adversarial"
  TIMEOUT 60 DEPENDS "${crash_tests}" FIXTURES_REQUIRED test_output)

foreach(engine mariadb postgres)
  add_test(NAME adversarial.mitm.${engine}
           COMMAND ${Python3_EXECUTABLE} mitm_suite.py --engine ${engine}
           WORKING_DIRECTORY ${adversarial_dir})
  set_tests_properties(adversarial.mitm.${engine} PROPERTIES LABELS "integration;adversarial"
    TIMEOUT 900 FIXTURES_REQUIRED ${engine} ENVIRONMENT "${adversarial_env}")
endforeach()

add_test(NAME adversarial.leak_scan
         COMMAND ${Python3_EXECUTABLE} leak_scan.py
                 --output-dir ${SECRET_ROTATOR_TEST_OUTPUT_DIR}
                 --ctest-dir ${CMAKE_BINARY_DIR}/Testing/Temporary
                 --server mariadb=${SECRET_ROTATOR_SERVERS_DIR}/mariadb
                 --server postgres=${SECRET_ROTATOR_SERVERS_DIR}/postgres
         WORKING_DIRECTORY ${adversarial_dir})
set_tests_properties(adversarial.leak_scan PROPERTIES LABELS "integration;adversarial"
  TIMEOUT 600 FIXTURES_CLEANUP "test_output;mariadb;postgres")
# The servers stop after the scan: it reads their logs and admin passwords.
set_tests_properties(servers.mariadb.stop servers.postgres.stop PROPERTIES
  DEPENDS adversarial.leak_scan)
