# Test registration, one file per area (each owned by its area).
set(PEERLUA_BIN $<TARGET_FILE:peerlua>)
include(${CMAKE_SOURCE_DIR}/tests/c/tests.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/tests/spec/tests.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/tests/cli/tests.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/tests/server/tests.cmake OPTIONAL)
