# The emulator's HTTP server (core/emulator/server.c, part of peerlua_emu; lua/peerlua/sim).
# peerlua_emulator is a small driver calling pl_emulator_main directly, so
# the server is tested on its own; the same script also runs against
# `peerlua --emulator`.
add_executable(peerlua_emulator
  ${CMAKE_SOURCE_DIR}/tests/server/emu_main.c
  ${PEERLUA_LUA_OBJECTS}
)
set_target_properties(peerlua_emulator PROPERTIES ENABLE_EXPORTS ON)
target_include_directories(peerlua_emulator PRIVATE ${CMAKE_SOURCE_DIR}/core/emulator ${CMAKE_SOURCE_DIR}/core/binding)
target_link_libraries(peerlua_emulator PRIVATE peerlua_core PkgConfig::LUA)

set(PEERLUA_SERVER_CASES routes errors malformed delay admin signal options actions state)
foreach(case ${PEERLUA_SERVER_CASES})
  add_test(NAME server.${case}
           COMMAND ${CMAKE_SOURCE_DIR}/tests/server/emulator_test.sh ${case} $<TARGET_FILE:peerlua_emulator>)
  set_tests_properties(server.${case} PROPERTIES TIMEOUT 120)
endforeach()

# The Lua side on its own (router, log, credentials, app), under stock lua5.4.
find_program(PEERLUA_BUSTED busted)
if(PEERLUA_BUSTED)
  add_test(NAME server.lua
           COMMAND lua5.4 ${PEERLUA_BUSTED} -o TAP
                   "--lpath=${CMAKE_SOURCE_DIR}/lua/?.lua$<SEMICOLON>${CMAKE_SOURCE_DIR}/lua/?/init.lua"
                   ${CMAKE_SOURCE_DIR}/tests/server/sim_spec.lua
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(server.lua PROPERTIES TIMEOUT 60)
  # One spec per emulated provider or service: tests/server/sim_<name>_spec.lua.
  # build/peerlua.so is on the C path so specs may require "peerlua" (e.g.
  # for peerlua.auth.huawei_sign).
  file(GLOB PEERLUA_SIM_SPECS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/server/sim_*_spec.lua)
  foreach(spec ${PEERLUA_SIM_SPECS})
    get_filename_component(name ${spec} NAME_WE)
    string(REGEX REPLACE "^sim_(.*)_spec$" "\\1" name ${name})
    add_test(NAME server.sim.${name}
             COMMAND lua5.4 ${PEERLUA_BUSTED} -o TAP
                     "--lpath=${CMAKE_SOURCE_DIR}/lua/?.lua$<SEMICOLON>${CMAKE_SOURCE_DIR}/lua/?/init.lua"
                     "--cpath=${CMAKE_BINARY_DIR}/?.so"
                     ${spec}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(server.sim.${name} PROPERTIES TIMEOUT 120)
    if(PEERLUA_LUA54_ENV)
      set_tests_properties(server.sim.${name} PROPERTIES ENVIRONMENT "${PEERLUA_LUA54_ENV}")
    endif()
  endforeach()
endif()

# The same cases against the real CLI, `peerlua --emulator`, once core/host/host.c
# dispatches to pl_emulator_main (checked at configure time; cmake re-runs
# when host.c changes).
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/core/host/host.c)
file(STRINGS ${CMAKE_SOURCE_DIR}/core/host/host.c PEERLUA_HOST_EMULATOR REGEX "pl_emulator_main")
if(PEERLUA_HOST_EMULATOR)
  foreach(case routes signal options)
    add_test(NAME server.host.${case}
             COMMAND ${CMAKE_SOURCE_DIR}/tests/server/emulator_test.sh ${case} $<TARGET_FILE:peerlua>)
    set_tests_properties(server.host.${case} PROPERTIES TIMEOUT 120)
  endforeach()
endif()
