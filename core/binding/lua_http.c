/* The HTTP primitive: core.http_request(opts) -> resp | nil, err.
 * lua/peerlua/http.lua checks and encodes the user's options (query, json,
 * body tables) and wraps the response; this file sends the request. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pl_lazy.h"
#include "pl_lua.h"

/* ---- sealed text ---------------------------------------------------------
 * core.seal(text) -> sealed: text that holds a credential (a token
 * request's body with the client secret or the IAM password), copied into
 * C memory; the Lua string it came from is the caller's to let go.
 * http.send{..., sealed_body = sealed} sends it as the body.
 * sealed:equals(text) -> whether it is exactly text (for tests; it never
 * gives the text back). sealed:wipe(): zero and drop it (also when it is
 * collected). */
#define PL_SEALED_MT "peerlua.sealed"

typedef struct sealed_ud {
  char *data;
  size_t len;
} sealed_ud;

static int sealed_wipe(lua_State *L) {
  sealed_ud *s = luaL_checkudata(L, 1, PL_SEALED_MT);
  if (s->data) pl_wipe(s->data, s->len);
  free(s->data);
  s->data = NULL;
  s->len = 0;
  return 0;
}

static int l_seal(lua_State *L) {
  size_t n;
  const char *text = luaL_checklstring(L, 1, &n);
  sealed_ud *s = lua_newuserdatauv(L, sizeof *s, 0);
  s->data = NULL;
  s->len = 0;
  luaL_setmetatable(L, PL_SEALED_MT);
  if (!(s->data = malloc(n + 1))) return luaL_error(L, "out of memory");
  memcpy(s->data, text, n + 1);
  s->len = n;
  return 1;
}

static int sealed_equals(lua_State *L) {
  sealed_ud *s = luaL_checkudata(L, 1, PL_SEALED_MT);
  size_t n;
  const char *text = luaL_checklstring(L, 2, &n);
  lua_pushboolean(L, s->data && n == s->len && memcmp(text, s->data, n) == 0);
  return 1;
}

static int sealed_tostring(lua_State *L) {
  lua_pushliteral(L, "peerlua sealed text");
  return 1;
}

static void on_done(pl_http *h, void *ud) {
  (void)h;
  pl_wake(ud, PL_WAKE_HTTP);
}

/* [-0, +1] The response headers as a table with lower-case names; repeated
 * headers are joined with ", ". */
static void push_headers(lua_State *L, const pl_buf *raw) {
  lua_newtable(L);
  if (!raw->data) return;
  const char *end = raw->data + raw->len;
  const char *p = memchr(raw->data, '\n', raw->len); /* skip the status line */
  if (!p) return;
  for (p++; p < end;) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon && colon > p) {
      luaL_Buffer name;
      luaL_buffinit(L, &name);
      for (const char *c = p; c < colon; c++) luaL_addchar(&name, (char)tolower((unsigned char)*c));
      luaL_pushresult(&name);
      const char *v = colon + 1, *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && isspace((unsigned char)ve[-1])) ve--;
      lua_pushvalue(L, -1);
      if (lua_rawget(L, -3) == LUA_TSTRING) {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
      } else {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v));
      }
      lua_rawset(L, -3);
    }
    p = eol < end ? eol + 1 : end;
  }
}

static int push_http_error(lua_State *L, const pl_http *h) {
  static const char *const codes[] = {"ok", "invalid", "timeout", "network", "network", "network"};
  lua_pushnil(L);
  pl_push_error(L, codes[h->err], h->errmsg);
  if (h->err == PL_HTTP_REFUSED) { /* trying again would fail the same way */
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "retryable");
  }
  return 2;
}

static int request_done(lua_State *L, int status, lua_KContext kc) {
  (void)status;
  pl_task *w = (pl_task *)kc;
  pl_http *h = w->http;
  w->http = NULL;
  int n;
  if (h->err != PL_HTTP_OK) {
    n = push_http_error(L, h);
  } else {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, h->status);
    lua_setfield(L, -2, "status");
    push_headers(L, &h->resp_headers);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, h->resp_body.data ? h->resp_body.data : "", h->resp_body.len);
    lua_setfield(L, -2, "body");
    n = 1;
  }
  pl_http_free(h);
  return n;
}

/* [-0, +0] Number field k of the table at 1, or def. */
static double opt_number(lua_State *L, const char *k, double def) {
  lua_getfield(L, 1, k);
  double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

/* Fill h from the options table at index 1; -1 with h->errmsg on bad input. */
static int configure(lua_State *L, pl_http *h) {
  lua_getfield(L, 1, "method");
  int bad = pl_http_set_method(h, luaL_optstring(L, -1, "GET"));
  lua_getfield(L, 1, "insecure");
  int insecure = lua_toboolean(L, -1);
  lua_getfield(L, 1, "url");
  bad = bad || pl_http_set_url(h, lua_tostring(L, -1), insecure);
  lua_pop(L, 3);
  if (lua_getfield(L, 1, "ca_file") == LUA_TSTRING && !bad && !(h->ca_file = strdup(lua_tostring(L, -1)))) {
    h->err = PL_HTTP_NOMEM;
    snprintf(h->errmsg, sizeof h->errmsg, "out of memory");
    bad = 1;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "headers") == LUA_TTABLE) {
    lua_pushnil(L);
    while (!bad && lua_next(L, -2)) {
      const char *k = lua_tostring(L, -2), *v = lua_tostring(L, -1);
      bad = pl_http_add_header(h, k, v);
      lua_pop(L, 1);
    }
    if (bad) lua_pop(L, 1);
  }
  lua_pop(L, 1);
  const char *aname, *avalue; /* a client's credential (http.send: auth = its engine) */
  if (lua_getfield(L, 1, "auth") != LUA_TNIL && !bad && pl_engine_auth(L, -1, &aname, &avalue))
    bad = pl_http_add_header(h, aname, avalue);
  lua_pop(L, 1);
  size_t len;
  if (lua_getfield(L, 1, "body") == LUA_TSTRING) {
    const char *body = lua_tolstring(L, -1, &len);
    bad = bad || pl_http_set_body(h, body, len);
  }
  lua_pop(L, 1);
  const sealed_ud *sealed = NULL;
  if (lua_getfield(L, 1, "sealed_body") != LUA_TNIL && !(sealed = luaL_testudata(L, -1, PL_SEALED_MT))) {
    h->err = PL_HTTP_INVALID;
    snprintf(h->errmsg, sizeof h->errmsg, "sealed_body: must be sealed text");
    bad = 1;
  } else if (sealed) {
    h->secret_body = 1;
    if (!sealed->data) {
      h->err = PL_HTTP_INVALID;
      snprintf(h->errmsg, sizeof h->errmsg, "sealed_body: is wiped (its client was closed)");
      bad = 1;
    }
    bad = bad || pl_http_set_body(h, sealed->data, sealed->len);
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "sign") == LUA_TTABLE && !bad) bad = pl_sign_into(L, -1, h) != 0; /* after headers and body */
  lua_pop(L, 1);
  lua_getfield(L, 1, "tls_verify");
  h->no_verify = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  h->max_body = (size_t)opt_number(L, "max_body", (double)h->max_body);
  h->timeout = opt_number(L, "timeout", h->timeout);
  h->connect_timeout = opt_number(L, "connect_timeout", h->connect_timeout);
  if (h->connect_timeout > h->timeout && h->timeout > 0) h->connect_timeout = h->timeout;
  return bad ? -1 : 0;
}

/* core.http_request{method=, url=, headers={name=value}, body=string,
 *   timeout=, connect_timeout=, insecure=, tls_verify=, ca_file=, max_body=}
 *   -> {status, headers, body} | nil, err
 * [-1, +(1|2)]; the Lua layer has checked the types already. */
static int l_http_request(lua_State *L) {
  pl_ctx *ctx = pl_ctx_up(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "url");
  luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "url must be a string");
  lua_pop(L, 1);
  pl_task standin, *w = pl_waiter(L, ctx, &standin); /* may raise: before allocating */
  pl_http *h = pl_http_new(ctx->loop);
  if (!h) return luaL_error(L, "out of memory");
  if (configure(L, h) != 0) {
    int n = push_http_error(L, h);
    pl_http_free(h);
    return n;
  }
  h->done = on_done;
  h->ud = w;
  if (pl_loop_start(ctx->loop, h) != 0) {
    int n = push_http_error(L, h);
    pl_http_free(h);
    return n;
  }
  w->http = h;
  return pl_suspend(L, w, request_done);
}

/* core.http_load() -> true | nil, message: open libcurl now rather than
 * with the first transfer. A provider client calls it when it is made, so
 * its first request does not pay for loading libcurl (several ms) after
 * the throttle has given it its slot.  [-0, +1|2] */
static int l_http_load(lua_State *L) {
  const char *why = pl_lazy_curl();
  if (why) {
    luaL_pushfail(L);
    lua_pushstring(L, why);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

void pl_open_http(lua_State *L, int ctxidx) {
  if (luaL_newmetatable(L, PL_SEALED_MT)) {
    static const luaL_Reg meta[] = {
        {"__gc", sealed_wipe}, {"__close", sealed_wipe}, {"__tostring", sealed_tostring}, {NULL, NULL}};
    static const luaL_Reg funcs[] = {{"wipe", sealed_wipe}, {"equals", sealed_equals}, {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, funcs);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, PL_SEALED_MT);
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_seal);
  lua_setfield(L, -2, "seal");
  lua_pushvalue(L, ctxidx);
  lua_pushcclosure(L, l_http_request, 1);
  lua_setfield(L, -2, "http_request");
  lua_pushcfunction(L, l_http_load);
  lua_setfield(L, -2, "http_load");
}
