# Command line and REPL of the host binary, end to end (tests/cli/cli_test.sh).
set(PEERLUA_CLI_CASES options errors args stdin init lib repl interrupt trace sim progress rerun secrets)
foreach(case ${PEERLUA_CLI_CASES})
  add_test(NAME cli.${case}
           COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/cli_test.sh ${case} $<TARGET_FILE:peerlua>)
  set_tests_properties(cli.${case} PROPERTIES TIMEOUT 120)
endforeach()
