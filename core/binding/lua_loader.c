/* The module loader of peerlua's own Lua modules, for every Lua state that
 * runs them: the binding's (scripts, the module) and the emulator's server
 * thread (core/emulator/handler.c). A module comes from $PEERLUA_LUA_DIR in
 * development when the file is there, else from the copy built in
 * (pl_embed.h: its bytecode, or its source if this liblua refuses that
 * bytecode), and runs as chunk(name, origin, core): core is the table
 * the registry holds under PL_CORE_KEY (luaopen_peerlua's primitives, or
 * the few the emulator's state is given), so peerlua's modules get the
 * primitives and nothing else does. */
#include <stdlib.h>
#include <string.h>

#include "pl_embed.h"
#include "pl_lua.h"

int pl_load_embedded(lua_State *L, const pl_embed_file *e) {
  /* the bytecode, unless this liblua's format differs from the build's */
  if (luaL_loadbufferx(L, e->code, e->code_len, e->chunkname, "b") == LUA_OK) return 1;
  lua_pop(L, 1);
  return luaL_loadbufferx(L, e->source, e->len, e->chunkname, "t") == LUA_OK;
}

int pl_load_module(lua_State *L, const char *name) {
  const char *dir = getenv("PEERLUA_LUA_DIR");
  if (dir && *dir) {
    const char *rel = luaL_gsub(L, name, ".", "/"); /* rel */
    static const char *const forms[] = {"%s/%s.lua", "%s/%s/init.lua"};
    for (int i = 0; i < 2; i++) {
      const char *path = lua_pushfstring(L, forms[i], dir, rel); /* rel path */
      int st = luaL_loadfile(L, path);                           /* rel path chunk|msg */
      lua_remove(L, -2);                                         /* rel chunk|msg */
      if (st != LUA_ERRFILE) {
        lua_remove(L, -2); /* chunk|msg */
        return st == LUA_OK;
      }
      lua_pop(L, 1); /* rel */
    }
    lua_pop(L, 1);
  }
  for (const pl_embed_file *e = pl_embed_files; e->module; e++)
    if (strcmp(e->module, name) == 0) return pl_load_embedded(L, e);
  lua_pushfstring(L, "no embedded module '%s'", name);
  return -1;
}

int pl_run_module(lua_State *L) {
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, PL_CORE_KEY);
  lua_call(L, 3, 1);
  return 1;
}

/* core.require(name) -> the module: peerlua's own modules that hold its
 * policy (the client layer, the provider tables' hooks, the dry run, the
 * locks) load through this, once, into a table only the registry holds,
 * not into package.loaded; a script's require of the same name runs the
 * file again and gets a copy of its own, whose changes reach no client.
 * [-1, +1] */
int pl_private_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, "peerlua.private"); /* name cache */
  if (lua_getfield(L, 2, name) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  int st = pl_load_module(L, name); /* name cache chunk|msg */
  if (st != 1) return lua_error(L);
  lua_pushcclosure(L, pl_run_module, 1); /* name cache loader: as require would run it */
  lua_pushvalue(L, 1);
  lua_pushliteral(L, ":embedded:");
  lua_call(L, 2, 1); /* name cache module */
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, 2, name);
  return 1;
}

/* package.searchers entry for peerlua.*: [-1, +2] loader, origin | [-1, +1] message */
static int searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (strncmp(name, "peerlua.", 8) != 0) {
    lua_pushfstring(L, "no embedded module '%s'", name);
    return 1;
  }
  int st = pl_load_module(L, name);
  if (st < 0) return 1;
  if (st == 0) return lua_error(L); /* a syntax error in our own files */
  lua_pushcclosure(L, pl_run_module, 1);
  lua_pushliteral(L, ":embedded:");
  return 2;
}

void pl_install_searcher(lua_State *L) {
  if (lua_getglobal(L, "package") != LUA_TTABLE || lua_getfield(L, -1, "searchers") != LUA_TTABLE) {
    lua_settop(L, lua_gettop(L) - 2);
    return;
  }
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    int mine = lua_tocfunction(L, -1) == searcher;
    lua_pop(L, 1);
    if (mine) {
      lua_pop(L, 2);
      return;
    }
  }
  for (lua_Integer i = n; i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, searcher);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
