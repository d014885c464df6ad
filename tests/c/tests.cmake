# C unit tests of the Lua-free core, and of the loader of the embedded Lua layer.
file(GLOB PEERLUA_C_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/c/test_*.c)
foreach(src ${PEERLUA_C_TESTS})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "^test_" "" name ${name})
  add_executable(test_${name} ${CMAKE_SOURCE_DIR}/tests/c/test_${name}.c)
  target_link_libraries(test_${name} PRIVATE peerlua_core)
  # where the repository is: test_sigv4 reads ../shared/fixtures beside it
  target_compile_definitions(test_${name} PRIVATE PL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  add_test(NAME c.${name} COMMAND test_${name})
endforeach()
# test_loader drives the binding's loader over the embedded Lua layer
target_sources(test_loader PRIVATE ${CMAKE_SOURCE_DIR}/core/binding/lua_loader.c $<TARGET_OBJECTS:peerlua_embedded>)
target_include_directories(test_loader PRIVATE ${CMAKE_SOURCE_DIR}/core/binding ${CURL_INCLUDE_DIRS} ${MHD_INCLUDE_DIRS})
target_link_libraries(test_loader PRIVATE PkgConfig::LUA)
