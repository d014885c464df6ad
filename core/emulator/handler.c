/* The emulator's Lua side: one lua_State per server thread, whose handler
 * (from the embedded module peerlua.sim) answers every request. Here the
 * request becomes a Lua table and the handler's answer an MHD response,
 * with what it asks of the connection (a delay, a reset, a cut or streamed
 * body); server.c does the rest. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "peerlua.h"
#include "pl_lua.h"
#include "handler.h"
#include "pl_pool.h"

#define PL_HANDLER_MAX_DELAY 3600.0 /* seconds */

/* Truncated body: MHD is told len bytes, gets cut, then an error. */
typedef struct pl_trunc {
  size_t len, cut;
  char data[];
} pl_trunc;

/* Streamed body: data repeated to total bytes, its length not announced
 * (chunked), for the tests of a client's body cap. */
typedef struct pl_stream {
  uint64_t total;
  size_t len;
  char data[];
} pl_stream;

double pl_handler_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* [-0, +1] () -> wall-clock epoch seconds, fractional */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
  return 1;
}

/* [-0, +1] () -> monotonic seconds */
static int l_clock(lua_State *L) {
  lua_pushnumber(L, pl_handler_mono());
  return 1;
}

/* [-1, +1] message -> message with a traceback */
static int l_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* [-0, +0] The emulator's modules load through the binding's loader
 * (core/binding/lua_loader.c) with a core of their own: of the runtime's
 * primitives they use only peerlua.json's json_integers. A `require
 * "peerlua"` in this state (the signers) replaces it with the runtime's. */
static void install_loader(lua_State *L) {
  pl_install_searcher(L);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, pl_json_integers);
  lua_setfield(L, -2, "json_integers");
  lua_setfield(L, LUA_REGISTRYINDEX, PL_CORE_KEY);
}

/* [-1, +0] Boot: opts table -> nothing; requires peerlua.sim, calls its
 * handler(opts) and keeps the returned function and app in the registry
 * (upvalue 1 is the handler). Raises on any failure. */
static int l_boot(lua_State *L) {
  pl_handler *h = lua_touserdata(L, lua_upvalueindex(1));
  lua_getglobal(L, "require");
  lua_pushliteral(L, "peerlua.sim");
  lua_call(L, 1, 1);              /* opts sim */
  lua_getfield(L, -1, "handler"); /* opts sim handler */
  lua_pushvalue(L, 1);
  lua_call(L, 1, 2); /* opts sim fn app */
  if (!lua_isfunction(L, -2)) return luaL_error(L, "peerlua.sim.handler did not return a function");
  h->app = luaL_ref(L, LUA_REGISTRYINDEX);
  h->fn = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* [-0, +1] The options table given to peerlua.sim.handler. */
static void push_opts(lua_State *L, const pl_server_opts *o, double scale, const char *url) {
  lua_createtable(L, 0, 8);
  lua_pushnumber(L, scale);
  lua_setfield(L, -2, "time_scale");
  if (o->faults) {
    lua_pushstring(L, o->faults);
    lua_setfield(L, -2, "faults");
  }
  lua_pushinteger(L, (lua_Integer)o->seed);
  lua_setfield(L, -2, "seed");
  if (o->state) {
    lua_pushstring(L, o->state);
    lua_setfield(L, -2, "state");
  }
  if (o->fixture) {
    lua_pushstring(L, o->fixture);
    lua_setfield(L, -2, "fixture");
  }
  lua_pushstring(L, url);
  lua_setfield(L, -2, "url");
  lua_pushcfunction(L, l_now);
  lua_setfield(L, -2, "now");
  lua_pushcfunction(L, l_clock);
  lua_setfield(L, -2, "clock");
}

/* The option a boot error names ({option =, message =}, from
 * peerlua.sim's refuse), as one of the names pl_server_error documents. */
static const char *refused_option(lua_State *L) {
  static const char *const names[] = {"faults", "fixture", "state", NULL};
  const char *option = lua_getfield(L, -1, "option") == LUA_TSTRING ? lua_tostring(L, -1) : "";
  const char *found = "";
  for (int i = 0; names[i]; i++)
    if (strcmp(option, names[i]) == 0) found = names[i];
  lua_pop(L, 1);
  return found;
}

/* An error outside any pcall (lauxlib's panic, which a state made with
 * lua_newstate does not get): said, then abort. */
static int panic(lua_State *L) {
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "an error object";
  fprintf(stderr, "peerlua emulator: unprotected error in Lua: %s\n", msg);
  return 0;
}

int pl_handler_open(pl_handler *h, const pl_server_opts *o, double scale, const char *url, pl_server_error *e) {
  h->fn = h->app = LUA_NOREF;
  h->pool = pl_pool_new();
  h->L = h->pool ? lua_newstate(pl_pool_alloc, h->pool) : NULL;
  if (h->L) lua_atpanic(h->L, panic);
  e->refused = NULL;
  if (!h->L) {
    snprintf(e->message, sizeof e->message, "cannot create a Lua state");
    return -1;
  }
  lua_State *L = h->L;
  luaL_openlibs(L);
  install_loader(L);
  /* `require "peerlua"` gives the emulator the same primitives as scripts
   * (JSON, the Huawei signer used to verify AK/SK requests). */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_peerlua);
  lua_setfield(L, -2, "peerlua");
  lua_pop(L, 1);
  lua_pushlightuserdata(L, h);
  lua_pushcclosure(L, l_boot, 1);
  push_opts(L, o, scale, url);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    if (lua_istable(L, -1)) { /* a refusal: the caller's mistake */
      e->refused = refused_option(L);
      lua_getfield(L, -1, "message");
    }
    snprintf(e->message, sizeof e->message, "emulator: %s", lua_tostring(L, -1));
    return -1;
  }
  lua_settop(L, 0);
  return 0;
}

void pl_handler_close(pl_handler *h) {
  if (h->L) lua_close(h->L);
  h->L = NULL;
  pl_pool_free(h->pool);
  h->pool = NULL;
}

/* ---- the request ----------------------------------------------------- */
/* MHD iterator: add a header (lower-case name) to the table at the top;
 * a repeated header is joined with ", ". */
static enum MHD_Result add_header(void *ud, enum MHD_ValueKind kind, const char *key, const char *value) {
  lua_State *L = ud;
  (void)kind;
  size_t n = strlen(key);
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)key[i];
    p[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  luaL_pushresultsize(&b, n); /* t name */
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) == LUA_TSTRING) { /* t name old */
    lua_pushliteral(L, ", ");
    lua_pushstring(L, value ? value : "");
    lua_concat(L, 3);
  } else {
    lua_pop(L, 1);
    lua_pushstring(L, value ? value : "");
  }
  lua_rawset(L, -3);
  return MHD_YES;
}

/* MHD iterator: add a query argument to the table at the top; repeated
 * keys collect their values in a list. */
static enum MHD_Result add_query(void *ud, enum MHD_ValueKind kind, const char *key, const char *value) {
  lua_State *L = ud;
  (void)kind;
  if (!key) return MHD_YES;
  lua_pushstring(L, key); /* t key */
  lua_pushvalue(L, -1);
  switch (lua_rawget(L, -3)) { /* t key old */
    case LUA_TSTRING:
      lua_createtable(L, 2, 0); /* t key old list */
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
      lua_pushstring(L, value ? value : "");
      lua_rawseti(L, -2, 2); /* t key list */
      lua_rawset(L, -3);
      break;
    case LUA_TTABLE:
      lua_pushstring(L, value ? value : "");
      lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      lua_pop(L, 2);
      break;
    default:
      lua_pop(L, 1);
      lua_pushstring(L, value ? value : "");
      lua_rawset(L, -3);
  }
  return MHD_YES;
}

/* [-0, +1] The request table {method, path, query, headers, body, version}.
 * (MHD's value iterators are plain loops, so a memory error raised inside
 * them unwinds nothing of MHD's.) */
static void push_request(lua_State *L, const pl_exchange *r) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, r->method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, r->url);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, r->version ? r->version : "");
  lua_setfield(L, -2, "version");
  lua_newtable(L);
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_query, L);
  lua_setfield(L, -2, "query");
  lua_createtable(L, 0, 8);
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header, L);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, r->body ? r->body : "", r->len);
  lua_setfield(L, -2, "body");
}

/* ---- the answer ------------------------------------------------------ */

static ssize_t trunc_read(void *cls, uint64_t pos, char *buf, size_t max) {
  pl_trunc *t = cls;
  if (pos >= t->cut) return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = t->cut - (size_t)pos;
  if (n > max) n = max;
  memcpy(buf, t->data + pos, n);
  return (ssize_t)n;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  pl_stream *t = cls;
  if (pos >= t->total) return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = 0;
  for (uint64_t at = pos; n < max && at < t->total; at = pos + n) {
    size_t off = (size_t)(at % t->len), k = t->len - off;
    if (k > max - n) k = max - n;
    if (k > t->total - at) k = (size_t)(t->total - at);
    memcpy(buf + n, t->data + off, k);
    n += k;
  }
  return (ssize_t)n;
}

/* Add one header from the Lua value at the top (string or number). */
static void add_resp_header(lua_State *L, pl_exchange *r, const char *name) {
  int t = lua_type(L, -1);
  if (t != LUA_TSTRING && t != LUA_TNUMBER) return;
  const char *v = lua_tostring(L, -1);
  if (MHD_add_response_header(r->resp, name, v) != MHD_YES)
    fprintf(stderr, "peerlua emulator: %s %s: response header '%s' refused\n", r->method, r->url, name);
}

/* [-0, +0] Turn the handler's results at base..top into r->resp (plus
 * status, delay and action). Returns a static message on a bad response. */
static const char *to_response(lua_State *L, pl_exchange *r, int base) {
  int top = lua_gettop(L), hidx, tbl = lua_type(L, base) == LUA_TTABLE;
  lua_Integer truncate = -1, stream = 0;
  if (top < base) return "handler returned nothing";
  if (tbl) {
    lua_getfield(L, base, "status");
    lua_getfield(L, base, "headers");
    lua_getfield(L, base, "body");
    lua_getfield(L, base, "delay");
    lua_getfield(L, base, "action");
    lua_getfield(L, base, "truncate");
    if (lua_isinteger(L, -1)) truncate = lua_tointeger(L, -1);
    lua_getfield(L, base, "stream");
    if (lua_isinteger(L, -1)) stream = lua_tointeger(L, -1);
    lua_pop(L, 2);
  } else {
    lua_settop(L, base + 3);
    lua_pushnil(L);
  }
  /* status headers body delay action */
  int st = lua_gettop(L) - 4;
  hidx = st + 1;
  int isint = 0;
  lua_Integer status = lua_type(L, st) == LUA_TNUMBER ? lua_tointegerx(L, st, &isint) : 0;
  if (!isint) return "response status is not an integer";
  if (status < 200 || status > 599) return "response status out of range 200..599";
  r->status = (unsigned)status;
  if (!lua_isnil(L, hidx) && !lua_istable(L, hidx)) return "response headers are not a table";
  int bt = lua_type(L, st + 2);
  if (bt != LUA_TNIL && bt != LUA_TSTRING && bt != LUA_TNUMBER) return "response body is not a string";
  size_t len = 0;
  const char *body = bt == LUA_TNIL ? "" : lua_tolstring(L, st + 2, &len);
  if (!lua_isnil(L, st + 3)) {
    if (!lua_isnumber(L, st + 3)) return "response delay is not a number";
    double d = lua_tonumber(L, st + 3);
    r->delay = d > 0 ? (d < PL_HANDLER_MAX_DELAY ? d : PL_HANDLER_MAX_DELAY) : 0;
  }
  r->action = PL_ACT_NONE;
  if (!lua_isnil(L, st + 4)) {
    const char *a = lua_tostring(L, st + 4);
    if (a && strcmp(a, "reset") == 0)
      r->action = PL_ACT_RESET;
    else if (a && strcmp(a, "truncate") == 0)
      r->action = PL_ACT_TRUNCATE;
    else if (a && strcmp(a, "stream") == 0 && len > 0 && stream > 0)
      r->action = PL_ACT_STREAM;
    else
      return "unknown response action (expected \"reset\", \"truncate\" or \"stream\" with a body and stream = n)";
  }
  if (r->action == PL_ACT_TRUNCATE) {
    size_t total = len ? len : 1;
    pl_trunc *t = malloc(sizeof *t + total);
    if (!t) return "out of memory";
    t->len = total;
    t->cut = truncate >= 0 && (size_t)truncate < total ? (size_t)truncate : total / 2;
    memcpy(t->data, body, len);
    r->resp = MHD_create_response_from_callback(total, 64 * 1024, trunc_read, t, free);
    if (!r->resp) free(t);
  } else if (r->action == PL_ACT_STREAM) {
    pl_stream *t = malloc(sizeof *t + len);
    if (!t) return "out of memory";
    t->total = (uint64_t)stream;
    t->len = len;
    memcpy(t->data, body, len);
    r->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, t, free);
    if (!r->resp) free(t);
  } else {
    r->resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  }
  if (!r->resp) return "cannot create the response";
  if (lua_istable(L, hidx)) {
    lua_pushnil(L);
    while (lua_next(L, hidx)) { /* ... name value */
      if (lua_type(L, -2) == LUA_TSTRING) {
        const char *name = lua_tostring(L, -2);
        if (lua_istable(L, -1)) {
          lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
          for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            add_resp_header(L, r, name);
            lua_pop(L, 1);
          }
        } else {
          add_resp_header(L, r, name);
        }
      }
      lua_pop(L, 1);
    }
  }
  return NULL;
}

/* [-2, +0] exchange, handler (lightuserdata) -> nothing: call the handler with the
 * request table (under a traceback) and prepare the response in r->resp;
 * r->resp stays NULL if the handler failed (the failure is logged). */
static int l_dispatch(lua_State *L) {
  pl_exchange *r = lua_touserdata(L, 1);
  const pl_handler *h = lua_touserdata(L, 2);
  lua_pushcfunction(L, l_traceback);               /* r h tb */
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->fn);        /* r h tb fn */
  push_request(L, r);                              /* r h tb fn req */
  if (lua_pcall(L, 1, LUA_MULTRET, 3) != LUA_OK) { /* r h tb results... | msg */
    fprintf(stderr, "peerlua emulator: %s %s: %s\n", r->method, r->url, lua_tostring(L, -1));
    return 0;
  }
  const char *bad = to_response(L, r, 4);
  if (bad) {
    fprintf(stderr, "peerlua emulator: %s %s: %s\n", r->method, r->url, bad);
    if (r->resp) MHD_destroy_response(r->resp);
    r->resp = NULL;
  }
  return 0;
}

void pl_handler_answer(pl_handler *h, pl_exchange *x) {
  lua_State *L = h->L;
  x->resp = NULL;
  x->delay = 0;
  x->action = PL_ACT_NONE;
  lua_pushcfunction(L, l_dispatch);
  lua_pushlightuserdata(L, x);
  lua_pushlightuserdata(L, h);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "peerlua emulator: %s %s: %s\n", x->method, x->url, lua_tostring(L, -1));
    if (x->resp) MHD_destroy_response(x->resp);
    x->resp = NULL;
  }
  lua_settop(L, 0);
}

/* ---- the --state file ------------------------------------------------- */

int pl_handler_save_state(pl_handler *h, const char *path) {
  if (!path || !h->L || h->app == LUA_NOREF) return 0;
  lua_State *L = h->L;
  /* The state may hold tokens the emulated APIs issued: PATH.tmp (renamed to PATH)
   * is made owner-only here, and Lua's io.open then truncates it in place. */
  size_t n = strlen(path);
  char *tmp = malloc(n + 5);
  if (tmp) {
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      (void)fchmod(fd, 0600); /* one left by an earlier run, of another mode */
      close(fd);
    }
    free(tmp);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->app);
  lua_getfield(L, -1, "save_state");
  lua_insert(L, -2);
  lua_pushstring(L, path);
  int ok = lua_pcall(L, 2, 2, 0) == LUA_OK && lua_toboolean(L, -2);
  if (!ok)
    fprintf(stderr, "peerlua emulator: --state %s: not written: %s\n", path,
            lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  lua_settop(L, 0);
  return ok ? 0 : -1;
}
