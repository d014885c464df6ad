/* core.huawei_sign and core.aws_sign: the signers of pl_sign.c for Lua;
 * and signing keys held in C.
 *
 *   core.signing_key(id, secret[, token]) -> key: an access key (Huawei's
 *     AK/SK and security token, AWS's key id, secret and session token)
 *     copied into C memory; a client keeps this, not the strings. The
 *     signers take key = key in place of the key fields.
 *   key:wipe(): zero and drop it (also when it is collected); a signer
 *     given a wiped key refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pl_buf.h"
#include "pl_http.h"
#include "pl_lua.h"
#include "pl_sign.h"

#define PL_KEY_MT "peerlua.key"

typedef struct key_ud {
  char *part[3]; /* id, secret, token (NULL: none) */
  size_t len[3];
} key_ud;

static int key_wipe(lua_State *L) {
  key_ud *k = luaL_checkudata(L, 1, PL_KEY_MT);
  for (int i = 0; i < 3; i++) {
    if (k->part[i]) pl_wipe(k->part[i], k->len[i]);
    free(k->part[i]);
    k->part[i] = NULL;
    k->len[i] = 0;
  }
  return 0;
}

static int l_signing_key(lua_State *L) {
  int parts = lua_isnoneornil(L, 3) ? 2 : 3;
  lua_settop(L, 3); /* the key goes at 4 */
  key_ud *k = lua_newuserdatauv(L, sizeof *k, 0);
  memset(k, 0, sizeof *k);
  luaL_setmetatable(L, PL_KEY_MT); /* from here, a failure still wipes what was copied */
  for (int i = 0; i < parts; i++) {
    size_t n;
    const char *v = luaL_checklstring(L, i + 1, &n);
    if (!(k->part[i] = malloc(n + 1))) return luaL_error(L, "out of memory");
    memcpy(k->part[i], v, n + 1);
    k->len[i] = n;
  }
  return 1;
}

static int key_tostring(lua_State *L) {
  lua_pushliteral(L, "peerlua signing key");
  return 1;
}

/* [-0, +(0|2)] The key field of the table at 1 into *out (NULL: none): 0,
 * or 2 with nil and an error pushed (not a key, or a wiped one). */
static int key_field(lua_State *L, const key_ud **out);

/* [-0, +2] nil and an "invalid" error naming field and rule. */
static int invalid(lua_State *L, const char *field, const char *rule) {
  lua_pushnil(L);
  pl_push_error(L, "invalid", lua_pushfstring(L, "%s: %s", field, rule));
  lua_remove(L, -2); /* the message string */
  lua_createtable(L, 1, 0);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, field);
  lua_setfield(L, -2, "field");
  lua_pushstring(L, rule);
  lua_setfield(L, -2, "rule");
  lua_rawseti(L, -2, 1);
  lua_setfield(L, -2, "details");
  return 2;
}

/* [-0, +0] The string field k of the table at 1, NULL if absent; *bad set
 * when present but not a string. */
static const char *str_field(lua_State *L, const char *k, size_t *len, int *bad) {
  int t = lua_getfield(L, 1, k);
  const char *s = t == LUA_TSTRING ? lua_tolstring(L, -1, len) : NULL;
  if (t != LUA_TNIL && t != LUA_TSTRING) *bad = 1;
  lua_pop(L, 1); /* the table still holds the string */
  return s;
}

/* [-0, +(0|2)] The string fields of the table at 1 into v (body's length
 * into *body_len): 0, or 2 with nil and an error pushed. */
static int get_strings(lua_State *L, const char *const *fields, int n, const char **v, size_t *body_len) {
  for (int i = 0; i < n; i++) {
    int bad = 0;
    v[i] = str_field(L, fields[i], strcmp(fields[i], "body") == 0 ? body_len : NULL, &bad);
    if (bad) return invalid(L, fields[i], "must be a string");
  }
  return 0;
}

static int key_field(lua_State *L, const key_ud **out) {
  *out = NULL;
  if (lua_getfield(L, 1, "key") == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  const key_ud *k = luaL_testudata(L, -1, PL_KEY_MT);
  lua_pop(L, 1); /* the table keeps it alive */
  if (!k) return invalid(L, "key", "must be a signing key");
  if (!k->part[0]) return invalid(L, "key", "is wiped (its client was closed)");
  *out = k;
  return 0;
}

/* date, or now in UTC as YYYYMMDDTHHMMSSZ written into buf */
static const char *date_or_now(const char *date, char buf[17]) {
  if (date) return date;
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

/* [-0, +(1|2|3)] The headers field of the table at 1 (a table of name ->
 * string, kept alive by the argument) as an array in a userdata left on the
 * stack: 0, or 2 with nil and an error pushed. */
static int get_headers(lua_State *L, pl_sign_header **out, size_t *nout, int *has_host) {
  size_t n = 0;
  pl_sign_header *hs = NULL;
  *has_host = 0;
  int t = lua_getfield(L, 1, "headers"), at = lua_gettop(L);
  if (t == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, at)) {
      lua_pop(L, 1);
      n++;
    }
    hs = lua_newuserdatauv(L, (n + 1) * sizeof *hs, 0); /* collected with the stack; a slot spare */
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, at)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        return invalid(L, "headers", "names and values must be strings");
      }
      hs[i].name = lua_tostring(L, -2);
      hs[i].value = lua_tostring(L, -1);
      if (strcasecmp(hs[i].name, "host") == 0) *has_host = 1;
      i++;
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    return invalid(L, "headers", "must be a table of strings");
  } else {
    hs = lua_newuserdatauv(L, sizeof *hs, 0);
  }
  *out = hs;
  *nout = n;
  return 0;
}

/* [-0, +2] nil and the signer's message err ("field: rule") as an error */
static int sign_failed(lua_State *L, char *err) {
  char *colon = strchr(err, ':');
  if (colon && colon[1] == ' ') {
    *colon = '\0';
    return invalid(L, err, colon + 2);
  }
  lua_pushnil(L);
  pl_push_error(L, "invalid", err);
  return 2;
}

/* core.huawei_sign{method=, url=, headers=, body=, ak=, sk=[, date=]} ->
 * {["X-Sdk-Date"]=, Authorization=[, Host=]} | nil, err   [-1, +(1|2)] */
static int l_huawei_sign(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  static const char *const fields[] = {"method", "url", "body", "ak", "sk", "date"};
  const char *v[6];
  size_t body_len = 0, n;
  pl_sign_header *hs;
  const key_ud *k;
  int has_host, e = get_strings(L, fields, 6, v, &body_len);
  if (e || (e = key_field(L, &k)) || (e = get_headers(L, &hs, &n, &has_host))) return e;
  if (k) {
    v[3] = k->part[0];
    v[4] = k->part[1];
    /* a temporary key's token is a signed header (huaweicloud-sdk-go-v3
     * core/auth/basic: X-Security-Token set before the signer runs) */
    if (k->part[2]) hs[n++] = (pl_sign_header){"X-Security-Token", k->part[2]};
  }
  char date[17];
  v[5] = date_or_now(v[5], date);
  pl_sign_req r = {v[0], v[1], hs, n, v[2], body_len, v[3], v[4], v[5]};
  pl_sign_out out;
  char err[160];
  if (pl_sign_huawei(&r, &out, err, sizeof err) != 0) return sign_failed(L, err);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, v[5]);
  lua_setfield(L, -2, "X-Sdk-Date");
  lua_pushlstring(L, out.authorization.data, out.authorization.len);
  lua_setfield(L, -2, "Authorization");
  if (k && k->part[2]) {
    lua_pushstring(L, k->part[2]);
    lua_setfield(L, -2, "X-Security-Token");
  }
  if (!has_host) {
    lua_pushlstring(L, out.host.data, out.host.len);
    lua_setfield(L, -2, "Host");
  }
  pl_sign_out_free(&out);
  return 1;
}

/* core.aws_sign{method=, url=, headers=, body=, access_key=, secret_key=,
 * session_token=, region=, service=[, date=]} ->
 * {["X-Amz-Date"]=, Authorization=[, ["X-Amz-Security-Token"]=][, Host=]}
 * | nil, err   [-1, +(1|2)] */
static int l_aws_sign(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  static const char *const fields[] = {"method",        "url",    "body",    "access_key", "secret_key",
                                       "session_token", "region", "service", "date"};
  const char *v[9];
  size_t body_len = 0, n;
  pl_sign_header *hs;
  const key_ud *k;
  int has_host, e = get_strings(L, fields, 9, v, &body_len);
  if (e || (e = key_field(L, &k)) || (e = get_headers(L, &hs, &n, &has_host))) return e;
  if (k) {
    v[3] = k->part[0];
    v[4] = k->part[1];
    v[5] = k->part[2];
  }
  char date[17];
  v[8] = date_or_now(v[8], date);
  pl_sigv4_req r = {v[0], v[1], hs, n, v[2], body_len, v[3], v[4], v[5], v[6], v[7], v[8], 0};
  pl_sign_out out;
  char err[160];
  if (pl_sign_aws(&r, &out, err, sizeof err) != 0) return sign_failed(L, err);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, v[8]);
  lua_setfield(L, -2, "X-Amz-Date");
  lua_pushlstring(L, out.authorization.data, out.authorization.len);
  lua_setfield(L, -2, "Authorization");
  if (v[5]) {
    lua_pushstring(L, v[5]);
    lua_setfield(L, -2, "X-Amz-Security-Token");
  }
  if (!has_host) {
    lua_pushlstring(L, out.host.data, out.host.len);
    lua_setfield(L, -2, "Host");
  }
  pl_sign_out_free(&out);
  return 1;
}

/* ---- signing at send time ------------------------------------------------
 * http.send{method=, url=, headers=, body=, sign = {scheme = "aws" | "huawei",
 * key =, region =, service =}}: the request (the options table at 1) is
 * signed here, as the transfer is set up, and the signature headers and
 * the key's token go straight to h's header list (whose credential lines
 * are zeroed when freed): no Lua value ever holds them. */
static int sign_error(pl_http *h, const char *msg) {
  h->err = PL_HTTP_INVALID;
  snprintf(h->errmsg, sizeof h->errmsg, "sign: %s", msg);
  return -1;
}

/* [-0, +0] Add name: value (len bytes) to h; -1 on failure (h says why). */
static int add_header_n(pl_http *h, const char *name, const char *value, size_t len) {
  char *v = malloc(len + 1);
  if (!v) return sign_error(h, "out of memory");
  memcpy(v, value, len);
  v[len] = '\0';
  int bad = pl_http_add_header(h, name, v);
  pl_wipe(v, len);
  free(v);
  return bad;
}

int pl_sign_into(lua_State *L, int sign, pl_http *h) {
  int top = lua_gettop(L), bad = 0;
  sign = lua_absindex(L, sign);
  lua_getfield(L, sign, "scheme");
  const char *scheme = lua_tostring(L, -1);
  lua_getfield(L, sign, "key");
  const key_ud *k = luaL_testudata(L, -1, PL_KEY_MT);
  lua_getfield(L, sign, "region");
  lua_getfield(L, sign, "service");
  const char *region = lua_tostring(L, -2), *service = lua_tostring(L, -1);
  int aws = scheme && strcmp(scheme, "aws") == 0;
  if (!aws && !(scheme && strcmp(scheme, "huawei") == 0)) bad = sign_error(h, "scheme must be \"aws\" or \"huawei\"");
  if (!bad && !k) bad = sign_error(h, "key must be a signing key");
  if (!bad && !k->part[0]) bad = sign_error(h, "the key is wiped (its client was closed)");
  if (!bad && aws && (!region || !service)) bad = sign_error(h, "aws needs region and service");
  const char *v[3] = {NULL, NULL, NULL}; /* method url body */
  static const char *const fields[] = {"method", "url", "body"};
  size_t body_len = 0, n = 0;
  pl_sign_header *hs = NULL;
  int has_host = 0;
  if (!bad && (get_strings(L, fields, 3, v, &body_len) || get_headers(L, &hs, &n, &has_host)))
    bad = sign_error(h, "the request's method, url, headers or body are not strings");
  if (bad) {
    lua_settop(L, top);
    return -1;
  }
  char date[17];
  const char *when = date_or_now(NULL, date), *date_name = aws ? "X-Amz-Date" : "X-Sdk-Date";
  const char *method = v[0] ? v[0] : "GET", *body = v[2] ? v[2] : "";
  pl_sign_out out;
  char err[160];
  int failed;
  if (aws) {
    pl_sigv4_req r = {method,     v[1],       hs,     n,       body, body_len, k->part[0],
                      k->part[1], k->part[2], region, service, when, 0};
    failed = pl_sign_aws(&r, &out, err, sizeof err);
  } else {
    /* a temporary key's token is a signed header (huaweicloud-sdk-go-v3
     * core/auth/basic: X-Security-Token set before the signer runs) */
    if (k->part[2]) hs[n++] = (pl_sign_header){"X-Security-Token", k->part[2]};
    pl_sign_req r = {method, v[1], hs, n, body, body_len, k->part[0], k->part[1], when};
    failed = pl_sign_huawei(&r, &out, err, sizeof err);
  }
  lua_settop(L, top);
  if (failed) return sign_error(h, err);
  bad = pl_http_add_header(h, date_name, when) ||
      add_header_n(h, "Authorization", out.authorization.data, out.authorization.len) ||
      (k->part[2] && pl_http_add_header(h, aws ? "X-Amz-Security-Token" : "X-Security-Token", k->part[2])) ||
      (!has_host && add_header_n(h, "Host", out.host.data, out.host.len));
  pl_sign_out_free(&out);
  return bad ? -1 : 0;
}

void pl_open_sign(lua_State *L) {
  if (luaL_newmetatable(L, PL_KEY_MT)) {
    static const luaL_Reg meta[] = {
        {"__gc", key_wipe}, {"__close", key_wipe}, {"__tostring", key_tostring}, {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, key_wipe);
    lua_setfield(L, -2, "wipe");
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, PL_KEY_MT);
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_signing_key);
  lua_setfield(L, -2, "signing_key");
  lua_pushcfunction(L, l_huawei_sign);
  lua_setfield(L, -2, "huawei_sign");
  lua_pushcfunction(L, l_aws_sign);
  lua_setfield(L, -2, "aws_sign");
}
