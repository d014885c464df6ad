/* stub: replaced by the host CLI */
#include <stdio.h>
#include "peerlua.h"
#include "lualib.h"
int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "peerlua", luaopen_peerlua, 1);
  lua_pop(L, 1);
  int st = argc > 1 ? luaL_loadfile(L, argv[1]) : LUA_OK;
  if (st == LUA_OK && argc > 1) st = pl_run(L, 0, 0);
  if (st != LUA_OK) fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
  lua_close(L);
  return st == LUA_OK ? 0 : 1;
}
