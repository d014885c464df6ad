# Every tests/spec/*_spec.lua runs twice: under build/peerlua and under
# stock lua5.4 loading build/peerlua.so.
find_program(BUSTED_PROGRAM busted REQUIRED)
find_program(LUA54_PROGRAM lua5.4 REQUIRED)
file(GLOB PEERLUA_SPECS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/spec/*_spec.lua)
foreach(spec ${PEERLUA_SPECS})
  get_filename_component(name ${spec} NAME_WE)
  string(REGEX REPLACE "_spec$" "" name ${name})
  foreach(mode host lua54)
    add_test(NAME spec.${mode}.${name}
             COMMAND ${CMAKE_SOURCE_DIR}/tests/spec/run.sh ${mode} ${CMAKE_BINARY_DIR} ${spec})
    set_tests_properties(spec.${mode}.${name} PROPERTIES TIMEOUT 120)
    if(mode STREQUAL "lua54" AND PEERLUA_LUA54_ENV)
      set_tests_properties(spec.${mode}.${name} PROPERTIES ENVIRONMENT "${PEERLUA_LUA54_ENV}")
    elseif(PEERLUA_LUA54_ENV) # for a stock lua5.4 a host-mode spec starts itself
      set_tests_properties(spec.${mode}.${name} PROPERTIES ENVIRONMENT "PEERLUA_LUA54_ENV=${PEERLUA_LUA54_ENV}")
    endif()
  endforeach()
endforeach()
