/* luaopen_peerlua: the per-state context, error values, the embedded Lua
 * layer and the module table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_embed.h"
#include "pl_http.h"
#include "pl_lua.h"
#include "pl_valid.h"

/* ---- context ----------------------------------------------------------- */

pl_ctx *pl_ctx_of(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, PL_CTX_KEY);
  pl_ctx *ctx = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return ctx;
}

static int ctx_gc(lua_State *L) {
  pl_ctx *ctx = lua_touserdata(L, 1);
  if (ctx->loop) {
    pl_task_shutdown(ctx);
    pl_policy_free(ctx);
    pl_loop_free(ctx->loop);
    ctx->loop = NULL;
  }
  return 0;
}

/* [-0, +1] This state's context userdata, created on first use. */
static pl_ctx *push_ctx(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, PL_CTX_KEY) == LUA_TUSERDATA) return lua_touserdata(L, -1);
  lua_pop(L, 1);
  pl_ctx *ctx = lua_newuserdatauv(L, sizeof *ctx, 0); /* created closed */
  memset(ctx, 0, sizeof *ctx);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  if (!(ctx->loop = pl_loop_new())) luaL_error(L, "peerlua: cannot start the event loop (libcurl)");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, PL_CTX_KEY);
  return ctx;
}

void pl_set_trace(lua_State *L, FILE *f, int headers) {
  pl_ctx *ctx = pl_ctx_of(L);
  if (ctx) pl_loop_set_trace(ctx->loop, f, headers);
}

void pl_print_stats(lua_State *L, FILE *f) {
  pl_ctx *ctx = pl_ctx_of(L);
  if (!ctx) return;
  const pl_stats *s = pl_loop_stats(ctx->loop);
  fprintf(f,
          "peerlua: stats: requests %llu, retries %llu, throttle waits %llu, "
          "bytes sent %llu, bytes received %llu\n",
          (unsigned long long)s->requests, (unsigned long long)s->retries, (unsigned long long)s->throttle_waits,
          (unsigned long long)s->bytes_sent, (unsigned long long)s->bytes_received);
}

/* peerlua.stats() -> {requests=, retries=, throttle_waits=, bytes_sent=, bytes_received=} */
static int l_stats(lua_State *L) {
  const pl_stats *s = pl_loop_stats(pl_ctx_up(L)->loop);
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, (lua_Integer)s->requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, (lua_Integer)s->retries);
  lua_setfield(L, -2, "retries");
  lua_pushinteger(L, (lua_Integer)s->throttle_waits);
  lua_setfield(L, -2, "throttle_waits");
  lua_pushinteger(L, (lua_Integer)s->bytes_sent);
  lua_setfield(L, -2, "bytes_sent");
  lua_pushinteger(L, (lua_Integer)s->bytes_received);
  lua_setfield(L, -2, "bytes_received");
  return 1;
}

/* core.isatty(fd) -> boolean  [-1, +1] */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* core.term_rows(fd) -> the height of the terminal on fd, or nil  [-1, +1] */
static int l_term_rows(lua_State *L) {
  struct winsize ws;
  if (ioctl((int)luaL_checkinteger(L, 1), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
    lua_pushinteger(L, ws.ws_row);
  else
    lua_pushnil(L);
  return 1;
}

/* The word of the list at index 2 within two edits of the string at index
 * 1 (pl_nearest), or NULL; anything but a string at 1 has none. */
static const char *nearest_of(lua_State *L) {
  luaL_checktype(L, 2, LUA_TTABLE);
  if (lua_type(L, 1) != LUA_TSTRING) return NULL;
  size_t len;
  const char *word = lua_tolstring(L, 1, &len);
  const char *words[128];
  luaL_checkstack(L, 128, "nearest");
  lua_Integer n = 0;
  for (; n < 127 && lua_rawgeti(L, 2, n + 1) == LUA_TSTRING; n++) words[n] = lua_tostring(L, -1);
  words[n] = NULL;
  return pl_nearest(word, len, words);
}

/* core.plain_http_rule(host) -> nil when plain http:// may go to host, else
 * the rule it breaks (the transfer's own: pl_http_is_loopback,
 * PL_HTTP_PLAIN_RULE)  [-1, +1] */
static int l_plain_http_rule(lua_State *L) {
  if (pl_http_is_loopback(luaL_checkstring(L, 1)))
    lua_pushnil(L);
  else
    lua_pushliteral(L, PL_HTTP_PLAIN_RULE);
  return 1;
}

/* core.metatable_of(v) -> v's metatable, a locked one's too (as
 * debug.getmetatable, which a host may leave out)  [-1, +1] */
static int l_metatable_of(lua_State *L) {
  luaL_checkany(L, 1);
  if (!lua_getmetatable(L, 1)) lua_pushnil(L);
  return 1;
}

/* core.nearest(word, words) -> the word of the list within two edits of
 * word, or nil  [-2, +1] */
static int l_nearest(lua_State *L) {
  luaL_checkstring(L, 1);
  const char *near = nearest_of(L);
  if (near)
    lua_pushstring(L, near);
  else
    lua_pushnil(L);
  return 1;
}

/* core.did_you_mean(key, words) -> " (did you mean X?)" for the word of
 * the list near key, or "" (also for a key that is not a string): the
 * suffix of an "unknown option" rule  [-2, +1] */
static int l_did_you_mean(lua_State *L) {
  const char *near = nearest_of(L);
  if (near)
    lua_pushfstring(L, " (did you mean %s?)", near);
  else
    lua_pushliteral(L, "");
  return 1;
}

/* core.read_private(path) -> text | nil (no such file) | nil, why  [-1, +(1|2)]
 * A credentials file: a regular file (opened without blocking, so a FIFO
 * cannot hang us), readable by its owner only, at most 1 MiB. */
static int l_read_private(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return 0;
  if (fd < 0) return lua_pushnil(L), lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno)), 2;
  struct stat st;
  const char *why = NULL;
  if (fstat(fd, &st) != 0)
    why = strerror(errno);
  else if (!S_ISREG(st.st_mode))
    why = "is not a regular file";
  else if (st.st_size > 1 << 20)
    why = "is larger than 1 MiB";
  else if (st.st_mode & 077) {
    close(fd);
    lua_pushnil(L);
    char mode[8];
    snprintf(mode, sizeof mode, "%o", (unsigned)(st.st_mode & 0777));
    lua_pushfstring(L, "%s is readable by group or others (mode %s); run: chmod 600 %s", path, mode, path);
    return 2;
  }
  if (why) {
    close(fd);
    return lua_pushnil(L), lua_pushfstring(L, "%s %s", path, why), 2;
  }
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)st.st_size + 1);
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, p + got, (size_t)st.st_size + 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || (got += (size_t)n) > (size_t)st.st_size) break;
  }
  close(fd);
  if (got > (size_t)st.st_size) got = (size_t)st.st_size; /* grew while read: keep what stat said */
  luaL_pushresultsize(&b, got);
  return 1;
}

/* ---- error values ------------------------------------------------------ */

/* Whether a chunk's source is one of peerlua's own Lua files: embedded
 * ("@lua/peerlua/client.lua"), or loaded from PEERLUA_LUA_DIR or LUA_PATH
 * (".../peerlua/client.lua"). */
static int is_library(const char *source) {
  size_t n = strlen(source);
  for (const pl_embed_file *e = pl_embed_files; e->module; e++) {
    const char *rel = strchr(e->chunkname, '/') + 1; /* "peerlua/client.lua" */
    size_t r = strlen(rel);
    if (n > r && strcmp(source + n - r, rel) == 0 && (source[n - r - 1] == '/' || source[n - r - 1] == '@')) return 1;
  }
  return 0;
}

/* [-0, +0] err.where = "script.lua:14", the innermost Lua line on L's stack
 * outside peerlua's own files: where the user's call was made. Kept if err
 * has one; left out if no such line (a library task, the C host). */
static void blame(lua_State *L, int err) {
  err = lua_absindex(L, err);
  if (lua_getfield(L, err, "where") != LUA_TNIL) return (void)lua_pop(L, 1);
  lua_pop(L, 1);
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0 || is_library(ar.source)) continue;
    lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
    lua_setfield(L, err, "where");
    return;
  }
}

void pl_push_error(lua_State *L, const char *code, const char *msg) {
  lua_createtable(L, 0, 5);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, PL_ERROR_MT);
  blame(L, -1);
}

/* __tostring: "[where: ][provider op: ]message (code[, HTTP n][, request id])" */
static int error_tostring(lua_State *L) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (lua_getfield(L, 1, "where") == LUA_TSTRING) {
    luaL_addvalue(&b);
    luaL_addstring(&b, ": ");
  } else {
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 1, "provider") == LUA_TSTRING) {
    luaL_addvalue(&b);
    if (lua_getfield(L, 1, "op") == LUA_TSTRING) {
      luaL_addchar(&b, ' ');
      luaL_addvalue(&b);
    } else {
      lua_pop(L, 1);
    }
    luaL_addstring(&b, ": ");
  } else {
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 1, "message") == LUA_TSTRING)
    luaL_addvalue(&b);
  else
    lua_pop(L, 1), luaL_addstring(&b, "error");
  luaL_addstring(&b, " (");
  if (lua_getfield(L, 1, "code") == LUA_TSTRING)
    luaL_addvalue(&b);
  else
    lua_pop(L, 1), luaL_addstring(&b, "unknown");
  if (lua_getfield(L, 1, "http_status") == LUA_TNUMBER) {
    lua_pushfstring(L, ", HTTP %d", (int)lua_tointeger(L, -1));
    lua_remove(L, -2);
    luaL_addvalue(&b);
  } else {
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 1, "request_id") == LUA_TSTRING) {
    luaL_addstring(&b, ", request ");
    luaL_addvalue(&b);
  } else {
    lua_pop(L, 1);
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

/* peerlua.error{code=, message=, ...} -> err  [-1, +1]: gives t the error metatable */
static int l_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_setmetatable(L, PL_ERROR_MT);
  blame(L, 1);
  return 1;
}

/* core.blame(err) -> err: sets err.where if it has none (see blame) */
static int l_blame(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  blame(L, 1);
  return 1;
}

/* peerlua.is_error(v) -> boolean  [-1, +1] */
static int l_is_error(lua_State *L) {
  int yes = 0;
  if (lua_getmetatable(L, 1)) {
    luaL_getmetatable(L, PL_ERROR_MT);
    yes = lua_rawequal(L, -1, -2);
  }
  lua_pushboolean(L, yes);
  return 1;
}

/* ---- JSON ---------------------------------------------------------------- */

/* [-0, +0] Turn the floats of the table at idx (and of the tables in it)
 * that are whole numbers a double holds exactly into integers. */
static void integers(lua_State *L, int idx, int depth) {
  luaL_checkstack(L, 3, "JSON nesting");
  if (depth > 1000) {
    luaL_error(L, "JSON nesting deeper than 1000");
    return;
  }
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      integers(L, -1, depth + 1);
    } else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      lua_Number x = lua_tonumber(L, -1);
      lua_Integer i;
      if (x > -9007199254740992.0 && x < 9007199254740992.0 && lua_numbertointeger(x, &i) && (lua_Number)i == x) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, i);
        lua_rawset(L, idx); /* an existing key: lua_next goes on */
      }
    }
    lua_pop(L, 1);
  }
}

/* core.json_integers(v) -> v: the whole-number floats in v (a table lua-cjson
 * decoded, which reads every number as a float) become integers. */
int pl_json_integers(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  integers(L, 1, 0);
  return 1;
}

PL_EXPORT int luaopen_peerlua(lua_State *L) {
  static const luaL_Reg funcs[] = {{"stats", l_stats},
                                   {"error", l_error},
                                   {"is_error", l_is_error},
                                   {"blame", l_blame},
                                   {"read_private", l_read_private},
                                   {"isatty", l_isatty},
                                   {"term_rows", l_term_rows},
                                   {"plain_http_rule", l_plain_http_rule},
                                   {"metatable_of", l_metatable_of},
                                   {"nearest", l_nearest},
                                   {"did_you_mean", l_did_you_mean},
                                   {"json_integers", pl_json_integers},
                                   {"require", pl_private_require},
                                   {NULL, NULL}};
  if (luaL_newmetatable(L, PL_ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "peerlua.error");
    lua_setfield(L, -2, "__name");
    /* locked, as a client's and a peering's are: a script cannot change
     * how every error reads, peerlua's own messages included */
    lua_pushliteral(L, "peerlua.error");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  push_ctx(L); /* ctx */
  int ctxidx = lua_gettop(L);
  pl_install_searcher(L);
  if (pl_load_module(L, "peerlua") != 1) return lua_error(L); /* ctx init */
  lua_newtable(L);                                            /* ctx init core */
  lua_pushvalue(L, ctxidx);
  luaL_setfuncs(L, funcs, 1);
  pl_open_task(L, ctxidx);
  pl_open_provider(L, ctxidx);
  pl_open_policy(L, ctxidx);
  pl_open_operate(L, ctxidx);
  pl_open_sign(L);
  pl_open_xml(L);
  pl_open_wire(L);
  pl_open_client(L);
  pl_open_sim(L);
  pl_open_http(L, ctxidx);
  lua_pushliteral(L, PEERLUA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, PL_CORE_KEY);
  lua_call(L, 1, 1); /* ctx module */
  lua_remove(L, ctxidx);
  return 1;
}

/* [-0, +1] require "peerlua.sim" from stock lua5.4 before require
 * "peerlua": its C loader finds this in peerlua.so. Opens peerlua (which
 * installs the searcher), then loads the embedded module as require would. */
PL_EXPORT int luaopen_peerlua_sim(lua_State *L) {
  const char *name = luaL_optstring(L, 1, "peerlua.sim");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "peerlua");
  lua_call(L, 1, 0);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, name) != LUA_TNIL) return 1; /* loaded while peerlua opened */
  lua_pop(L, 2);
  if (pl_load_module(L, name) != 1) return lua_error(L);
  lua_pushcclosure(L, pl_run_module, 1);
  lua_pushstring(L, name);
  lua_pushliteral(L, ":embedded:");
  lua_call(L, 2, 1);
  return 1;
}
