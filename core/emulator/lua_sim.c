/* The emulator started from Lua (require("peerlua.sim").start{...}): a
 * handle that owns one running pl_server, stopped by stop(), <close> or
 * the garbage collector. Options are checked by lua/peerlua/emulator.lua. */
#include <string.h>

#include "pl_lua.h"
#include "server.h"

#define PL_SIM_MT "peerlua.emulator.server"

typedef struct sim_handle {
  pl_server *server; /* NULL once stopped */
} sim_handle;

static int sim_stop(lua_State *L) {
  sim_handle *h = luaL_checkudata(L, 1, PL_SIM_MT);
  pl_server_stop(h->server);
  h->server = NULL;
  return 0;
}

/* [-0, +0] opts[k] as a string, or NULL when absent. */
static const char *opt_string(lua_State *L, const char *k) {
  lua_getfield(L, 1, k);
  const char *s = lua_tostring(L, -1); /* kept alive by opts while we run */
  lua_pop(L, 1);
  return s;
}

/* core.sim_start{listen=, time_scale=, faults=, seed=, fixture=} ->
 * handle, url | nil, message, usage (true: a bad option or fixture) */
static int l_sim_start(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  sim_handle *h = lua_newuserdatauv(L, sizeof *h, 0); /* created closed: nothing to leak on error */
  h->server = NULL;
  if (luaL_newmetatable(L, PL_SIM_MT)) {
    lua_pushcfunction(L, sim_stop);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, sim_stop);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  pl_server_opts o;
  memset(&o, 0, sizeof o);
  o.listen = opt_string(L, "listen");
  o.faults = opt_string(L, "faults");
  o.fixture = opt_string(L, "fixture");
  lua_getfield(L, 1, "time_scale");
  o.time_scale = lua_tonumber(L, -1);
  lua_getfield(L, 1, "seed");
  o.seed = (unsigned long)lua_tointeger(L, -1);
  lua_pop(L, 2);
  pl_server_error e = {.refused = NULL};
  if (!(h->server = pl_server_start(&o, &e))) {
    luaL_pushfail(L);
    lua_pushstring(L, e.message);
    lua_pushboolean(L, e.refused != NULL);
    return 3;
  }
  lua_pushstring(L, pl_server_url(h->server));
  return 2;
}

/* core.sim_stop(handle) */
static int l_sim_stop(lua_State *L) {
  return sim_stop(L);
}

void pl_open_sim(lua_State *L) {
  static const luaL_Reg funcs[] = {{"sim_start", l_sim_start}, {"sim_stop", l_sim_stop}, {NULL, NULL}};
  luaL_setfuncs(L, funcs, 0);
}
