# C unit tests of the Lua-free core.
foreach(name heap buf http_util)
  add_executable(test_${name} ${CMAKE_SOURCE_DIR}/tests/c/test_${name}.c)
  target_link_libraries(test_${name} PRIVATE peerlua_core)
  add_test(NAME c.${name} COMMAND test_${name})
endforeach()
