/* Clients as userdata. What a script holds is a handle with no fields: its
 * metatable (locked, "peerlua.client") answers only the documented methods;
 * the client's state (credentials, tokens, throttle keys, the engine) is
 * the handle's first user value, which Lua code reaches only through
 * core.client_state, a primitive of peerlua's own modules. Closing drops
 * the state after wiping its secrets, so a closed client cannot send.
 *
 *   core.client_wrap(state, methods) -> client   methods: name -> function
 *   core.client_state(v[, method[, form]]) -> state, or raises a message
 *                                       saying how to call method (not a
 *                                       client: a dot call, shown as
 *                                       client:method followed by form,
 *                                       default "(...)"; a closed client)
 *   core.client_close(client)        -> nothing; also __close; again: no-op
 */
#include <string.h>

#include "pl_lua.h"
#include "pl_valid.h"

#define PL_CLIENT_MT "peerlua.client"

enum { UV_STATE = 1, UV_METHODS = 2 };

static int client_wrap(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_newuserdatauv(L, 0, 2);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, UV_STATE);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, UV_METHODS);
  luaL_setmetatable(L, PL_CLIENT_MT);
  return 1;
}

/* Raise message at the line of the method's caller (level 0 is this
 * function, 1 the method, 2 its caller), or of the script's frame above
 * it when that caller is C or peerlua's own (pcall(ic.list_peerings, {})). */
static int misuse(lua_State *L, const char *message) {
  luaL_where(L, pl_caller_level(L, 2, 2));
  lua_pushstring(L, message);
  lua_concat(L, 2);
  return lua_error(L);
}

static int client_state(lua_State *L) {
  const char *method = luaL_optstring(L, 2, "client");
  if (!luaL_testudata(L, 1, PL_CLIENT_MT)) {
    if (lua_isnoneornil(L, 2))
      return misuse(L, lua_pushfstring(L, "a peerlua client expected, got %s", luaL_typename(L, 1)));
    return misuse(L,
                  lua_pushfstring(L, "%s: call it as a method, client:%s%s (with a colon, not a dot)", method, method,
                                  luaL_optstring(L, 3, "(...)")));
  }
  if (lua_getiuservalue(L, 1, UV_STATE) != LUA_TTABLE)
    return misuse(L,
                  lua_pushfstring(L,
                                  "%s: the client is closed (client:close() or a <close> variable); make a "
                                  "new one",
                                  method));
  return 1;
}

/* Wipe the state's secrets (its wipe method, under pcall: closing must not
 * fail) and drop it. */
static int client_close(lua_State *L) {
  luaL_checkudata(L, 1, PL_CLIENT_MT);
  if (lua_getiuservalue(L, 1, UV_STATE) == LUA_TTABLE && lua_getfield(L, -1, "wipe") == LUA_TFUNCTION) {
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
  }
  lua_pushnil(L);
  lua_setiuservalue(L, 1, UV_STATE);
  return 0;
}

/* A name that is no method: nil (so a script can ask whether an API
 * generation has an operation), unless it is a near miss of a method's name,
 * which is raised with that name rather than left to fail as a call of nil. */
static int client_miss(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING) return lua_pushnil(L), 1;
  size_t len = 0;
  const char *name = lua_tolstring(L, 2, &len);
  const char *words[128];
  int n = 0;
  lua_getiuservalue(L, 1, UV_METHODS);
  lua_pushnil(L);
  while (n < 127 && lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) words[n++] = lua_tostring(L, -1); /* anchored by the methods table */
  }
  words[n] = NULL;
  const char *near = pl_nearest(name, len, words);
  if (!near) return lua_pushnil(L), 1;
  const char *provider = "peerlua";
  if (lua_getiuservalue(L, 1, UV_STATE) == LUA_TTABLE && lua_getfield(L, -1, "name") == LUA_TSTRING)
    provider = lua_tostring(L, -1);
  luaL_where(L, 1);
  lua_pushfstring(L, "%s client has no method '%s' (did you mean '%s'?)", provider, name, near);
  lua_concat(L, 2);
  return lua_error(L);
}

static int client_index(lua_State *L) {
  lua_getiuservalue(L, 1, UV_METHODS);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) == LUA_TNIL) return client_miss(L);
  return 1;
}

static int client_newindex(lua_State *L) {
  return luaL_error(L,
                    "a peerlua client has no fields to set ('%s'): its settings are fixed when it is made "
                    "(see client:settings())",
                    luaL_tolstring(L, 2, NULL));
}

static int client_tostring(lua_State *L) {
  if (lua_getiuservalue(L, 1, UV_STATE) != LUA_TTABLE) {
    lua_pushliteral(L, "peerlua client (closed)");
    return 1;
  }
  luaL_tolstring(L, -1, NULL); /* the state's __tostring: provider and URL */
  return 1;
}

/* The REPL's completion (core/host/repl.c reads __complete): the methods. */
static int client_complete(lua_State *L) {
  lua_newtable(L);
  lua_getiuservalue(L, 1, UV_METHODS);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, -4, ++n);
    }
  }
  lua_pop(L, 1);
  return 1;
}

void pl_open_client(lua_State *L) {
  static const luaL_Reg meta[] = {{"__index", client_index},       {"__newindex", client_newindex},
                                  {"__tostring", client_tostring}, {"__close", client_close},
                                  {"__complete", client_complete}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {
      {"client_wrap", client_wrap}, {"client_state", client_state}, {"client_close", client_close}, {NULL, NULL}};
  if (luaL_newmetatable(L, PL_CLIENT_MT)) {
    luaL_setfuncs(L, meta, 0);
    lua_pushliteral(L, PL_CLIENT_MT);
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
}
