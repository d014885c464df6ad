/* libFuzzer target running a Lua driver in a state with peerlua loaded:
 * the driver file (PEERLUA_FUZZ_DRIVER, tests/fuzz/<name>.lua) returns a
 * function of the input, which checks what it must and raises on a bug;
 * any Lua error is a finding (printed with its traceback, then abort). */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int luaopen_peerlua(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static int driver = LUA_NOREF;

static int traceback(lua_State *L) {
  luaL_traceback(L, L, luaL_tolstring(L, 1, NULL), 1);
  return 1;
}

static void fail(const char *what) {
  fprintf(stderr, "fuzz_lua: %s: %s\n", what, lua_tostring(L, -1));
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  L = luaL_newstate();
  if (!L) abort();
  luaL_openlibs(L);
  luaL_requiref(L, "peerlua", luaopen_peerlua, 0);
  lua_pop(L, 1);
  lua_pushcfunction(L, traceback);
  if (luaL_loadfile(L, PEERLUA_FUZZ_DRIVER) != LUA_OK || lua_pcall(L, 0, 1, 1) != LUA_OK) fail(PEERLUA_FUZZ_DRIVER);
  if (!lua_isfunction(L, -1)) {
    lua_pushliteral(L, "the driver did not return a function");
    fail(PEERLUA_FUZZ_DRIVER);
  }
  driver = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, driver);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 1) != LUA_OK) fail("input");
  lua_settop(L, 0);
  return 0;
}
