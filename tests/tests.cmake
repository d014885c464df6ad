# Test registration, one file per area (each owned by its area).
set(PEERLUA_BIN $<TARGET_FILE:peerlua>)
# Stock lua5.4 loading a sanitized peerlua.so needs the ASan runtime first.
set(PEERLUA_LUA54_ENV "")
if(PEERLUA_SANITIZE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE PEERLUA_LIBASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(PEERLUA_LUA54_ENV "LD_PRELOAD=${PEERLUA_LIBASAN}")
endif()
include(${CMAKE_SOURCE_DIR}/tests/c/tests.cmake OPTIONAL)
if(NOT PEERLUA_EMULATOR)
  # Without the emulator: the C unit tests, and every way to start the
  # emulator saying the build has none (the rest of the suite needs it).
  add_test(NAME noemu.refused
           COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/noemu_test.sh $<TARGET_FILE:peerlua> ${CMAKE_BINARY_DIR})
  return()
endif()
include(${CMAKE_SOURCE_DIR}/tests/spec/tests.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/tests/cli/tests.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/tests/server/tests.cmake OPTIONAL)

# Benchmark helpers (run by scripts/bench.sh, not by ctest).
add_executable(bench_curl_loop ${CMAKE_SOURCE_DIR}/tests/bench/curl_loop.c)
target_link_libraries(bench_curl_loop PRIVATE PkgConfig::CURL)

# Lua lint (config in .luacheckrc).
find_program(LUACHECK_PROGRAM luacheck REQUIRED)
add_test(NAME lint.luacheck
         COMMAND ${LUACHECK_PROGRAM} --no-color --formatter plain lua tests/spec tests/server tests/bench tests/soak tests/fuzz examples
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})

find_program(CPPCHECK_PROGRAM cppcheck REQUIRED)
add_test(NAME lint.cppcheck
         COMMAND ${CPPCHECK_PROGRAM} --quiet --enable=warning,performance,portability --std=c11
                 --error-exitcode=1 --suppress=missingIncludeSystem -I core core tests/c tests/bench tests/fuzz
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})

find_program(CLANG_FORMAT_PROGRAM clang-format REQUIRED)
file(GLOB PEERLUA_C_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/core/*/*.[ch] ${CMAKE_SOURCE_DIR}/tests/c/*.[ch]
     ${CMAKE_SOURCE_DIR}/tests/fuzz/*.c ${CMAKE_SOURCE_DIR}/tests/bench/*.c)
add_test(NAME lint.format COMMAND ${CLANG_FORMAT_PROGRAM} --dry-run --Werror ${PEERLUA_C_SOURCES})

# Every example runs as an integration test against the emulator (--sim).
file(GLOB PEERLUA_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/examples/*.lua)
foreach(ex ${PEERLUA_EXAMPLES})
  get_filename_component(name ${ex} NAME_WE)
  add_test(NAME example.${name} COMMAND $<TARGET_FILE:peerlua> --sim ${ex})
  set_tests_properties(example.${name} PROPERTIES TIMEOUT 120)
endforeach()
# The README's busted example: a user's script tested against an emulator
# started from Lua, under stock lua5.4 with peerlua.so.
add_test(NAME example.spec.instaclustr
         COMMAND ${CMAKE_SOURCE_DIR}/tests/spec/run.sh lua54 ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR}/examples/spec/instaclustr_spec.lua)
set_tests_properties(example.spec.instaclustr PROPERTIES TIMEOUT 120)
if(PEERLUA_LUA54_ENV) # the sanitizer runtime preloaded, as for the lua54 specs
  set_tests_properties(example.spec.instaclustr PROPERTIES ENVIRONMENT "${PEERLUA_LUA54_ENV}")
endif()
# The bulk run again on a flaky provider: rate limits, 5xx before and after
# the request took effect, connection resets. Every peering still ends
# active, none twice.
add_test(NAME example.bulk.faults
         COMMAND $<TARGET_FILE:peerlua> --sim --sim-seed 7 --quiet
                 --sim-faults 429:0.03,500:0.03,reset:0.01,500after:0.02 ${CMAKE_SOURCE_DIR}/examples/bulk.lua)
set_tests_properties(example.bulk.faults PROPERTIES TIMEOUT 120)

# Fault soak: 102 workflows across the five providers while a fifth of all
# requests fail (every fault kind, tests/soak/run.sh); all must end active,
# none twice, no 429 from the rate limit.
add_test(NAME soak.faults COMMAND ${CMAKE_SOURCE_DIR}/tests/soak/run.sh 0.2 1 ${CMAKE_BINARY_DIR})
set_tests_properties(soak.faults PROPERTIES TIMEOUT 120)

# Leak and memory-error checks: a whole workflow per provider under --sim,
# and the REPL with piped input, under valgrind (definite and indirect leaks
# and invalid accesses fail the test).
# (Not in a sanitizer build: ASan and valgrind do not mix.)
if(NOT PEERLUA_SANITIZE)
  find_program(VALGRIND_PROGRAM valgrind REQUIRED)
  set(PEERLUA_VALGRIND ${VALGRIND_PROGRAM} -q --leak-check=full --errors-for-leak-kinds=definite,indirect
      --show-leak-kinds=definite,indirect --error-exitcode=99)
  foreach(name instaclustr huawei aerospike upcloud aiven)
    add_test(NAME valgrind.${name}
             COMMAND ${PEERLUA_VALGRIND} $<TARGET_FILE:peerlua> --sim --quiet ${CMAKE_SOURCE_DIR}/examples/${name}.lua)
    set_tests_properties(valgrind.${name} PROPERTIES TIMEOUT 180)
  endforeach()
  add_test(NAME valgrind.repl
           COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/valgrind_repl.sh $<TARGET_FILE:peerlua> ${PEERLUA_VALGRIND})
  set_tests_properties(valgrind.repl PROPERTIES TIMEOUT 180)
endif()
