# libFuzzer targets (PEERLUA_FUZZ=ON, clang): built and run by scripts/fuzz.sh.
# C targets call the core directly; Lua targets run a driver from this
# folder (a function of the input that raises on a bug) with peerlua loaded.
foreach(name valid retry_after sign)
  add_executable(fuzz_${name} tests/fuzz/fuzz_${name}.c)
  target_link_libraries(fuzz_${name} PRIVATE peerlua_core)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
endforeach()

foreach(name response emulator)
  add_executable(fuzz_${name} tests/fuzz/fuzz_lua.c ${PEERLUA_LUA_OBJECTS})
  target_compile_definitions(fuzz_${name} PRIVATE PEERLUA_FUZZ_DRIVER="${CMAKE_SOURCE_DIR}/tests/fuzz/${name}.lua")
  target_include_directories(fuzz_${name} PRIVATE ${LUA_INCLUDE_DIRS})
  target_link_libraries(fuzz_${name} PRIVATE peerlua_core PkgConfig::LUA)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  set_target_properties(fuzz_${name} PROPERTIES ENABLE_EXPORTS ON)
endforeach()
