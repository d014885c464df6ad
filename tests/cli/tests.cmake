# Command line and REPL of the host binary, end to end (tests/cli/cli_test.sh).
set(PEERLUA_CLI_CASES options manpage redis errors args stdin init lib repl interrupt trace sim progress rerun secrets dryrun terminal)
foreach(case ${PEERLUA_CLI_CASES})
  add_test(NAME cli.${case}
           COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/cli_test.sh ${case} $<TARGET_FILE:peerlua>)
  set_tests_properties(cli.${case} PROPERTIES TIMEOUT 120)
endforeach()
# the cases that run stock lua5.4 with peerlua.so (lib, interrupt) preload
# the sanitizer runtime in a sanitized build, as the lua54 specs do
if(PEERLUA_LUA54_ENV)
  foreach(case ${PEERLUA_CLI_CASES})
    set_tests_properties(cli.${case} PROPERTIES ENVIRONMENT "PEERLUA_LUA54_PRELOAD=${PEERLUA_LIBASAN}")
  endforeach()
endif()
# cli.redis measures request timing across processes: alone, not beside busy tests
set_tests_properties(cli.redis PROPERTIES RUN_SERIAL TRUE)

# Installation into a temporary prefix and a temporary rock tree (not under
# the sanitizers: stock lua5.4 cannot load an instrumented module).
if(NOT PEERLUA_SANITIZE)
  add_test(NAME install.prefix COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/install_test.sh prefix ${CMAKE_BINARY_DIR})
  add_test(NAME install.rock COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/install_test.sh rock ${CMAKE_SOURCE_DIR})
  set_tests_properties(install.prefix install.rock PROPERTIES TIMEOUT 600)
endif()
