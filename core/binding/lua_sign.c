/* core.huawei_sign, core.aws_sign and core.aws_presign: the signers of
 * pl_sign.c for Lua; and signing keys held in C.
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
#include "pl_valid.h"

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

/* [-0, +(0|2)] Every key of the table at 1 one of fields (NULL-ended): 0,
 * or 2 with nil and an "invalid" error naming the first that is not, and
 * the field it is near. A misspelled expires or session_token would
 * otherwise be a longer-lived URL, or a request signed without its token. */
static int known_fields(lua_State *L, const char *const *fields) {
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    size_t len = 0;
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    int known = 0;
    for (int i = 0; k && fields[i] && !known; i++) known = strcmp(k, fields[i]) == 0;
    if (known) continue;
    const char *near = k ? pl_nearest(k, len, fields) : NULL;
    const char *name = k ? k : lua_pushfstring(L, "(a %s key)", luaL_typename(L, -1)); /* k: anchored as the key */
    const char *rule =
        near ? lua_pushfstring(L, "is not a field (did you mean %s?)", near) : lua_pushliteral(L, "is not a field");
    return invalid(L, name, rule);
  }
  return 0;
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

/* One request to sign, for either signer. hs has a slot spare (get_headers)
 * for Huawei's token header. */
typedef struct sign_job {
  int aws; /* SigV4; else Huawei's SDK-HMAC-SHA256 */
  const char *method, *url, *body;
  size_t body_len;
  pl_sign_header *hs;
  size_t n;
  int has_host;                    /* the request names its Host: none is added */
  const char *id, *secret, *token; /* token: a temporary key's, or NULL */
  const char *region, *service;    /* AWS only */
  const char *date;                /* YYYYMMDDTHHMMSSZ */
} sign_job;

/* The SigV4 request of j: in the header form (expires 0), or presigned. */
static pl_sigv4_req sigv4_of(const sign_job *j, long expires) {
  pl_sigv4_req r = {j->method, j->url,   j->hs,     j->n,       j->body, j->body_len, j->id,
                    j->secret, j->token, j->region, j->service, j->date, 0,           expires};
  return r;
}

/* Where the headers of a signed request go: 0, or nonzero on failure. */
typedef int (*put_header)(void *to, const char *name, const char *value, size_t len);

/* Sign j and hand put each header the request needs: the date, the
 * Authorization, the key's token, and Host unless the request has one.
 * 0; -1 when the signer refuses (err says why); -2 when put failed. */
static int sign_one(sign_job *j, put_header put, void *to, char *err, size_t errlen) {
  pl_sign_out out;
  int failed;
  if (j->aws) {
    pl_sigv4_req r = sigv4_of(j, 0);
    failed = pl_sign_aws(&r, &out, err, errlen);
  } else {
    /* a temporary key's token is a signed header (huaweicloud-sdk-go-v3
     * core/auth/basic: X-Security-Token set before the signer runs) */
    if (j->token) j->hs[j->n++] = (pl_sign_header){"X-Security-Token", j->token};
    pl_sign_req r = {j->method, j->url, j->hs, j->n, j->body, j->body_len, j->id, j->secret, j->date};
    failed = pl_sign_huawei(&r, &out, err, errlen);
  }
  if (failed) return -1;
  int bad = put(to, j->aws ? "X-Amz-Date" : "X-Sdk-Date", j->date, strlen(j->date)) ||
      put(to, "Authorization", out.authorization.data, out.authorization.len) ||
      (j->token && put(to, j->aws ? "X-Amz-Security-Token" : "X-Security-Token", j->token, strlen(j->token))) ||
      (!j->has_host && put(to, "Host", out.host.data, out.host.len));
  pl_sign_out_free(&out);
  return bad ? -2 : 0;
}

/* put_header into the table on top of the Lua state to */
static int put_field(void *to, const char *name, const char *value, size_t len) {
  lua_State *L = to;
  lua_pushlstring(L, value, len);
  lua_setfield(L, -2, name);
  return 0;
}

/* [-0, +(1|2)] The headers of job as a table, or nil and its error. */
static int push_signed(lua_State *L, sign_job *job) {
  char date[17], err[160];
  job->date = date_or_now(job->date, date);
  lua_createtable(L, 0, 4);
  if (sign_one(job, put_field, L, err, sizeof err) == 0) return 1;
  lua_pop(L, 1);
  return sign_failed(L, err);
}

/* core.huawei_sign{method=, url=, headers=, body=, ak=, sk=[, date=]} ->
 * {["X-Sdk-Date"]=, Authorization=[, Host=]} | nil, err   [-1, +(1|2)] */
static int l_huawei_sign(lua_State *L) {
  if (!lua_istable(L, 1)) return luaL_error(L, "huawei_sign: expects a table of fields, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  static const char *const fields[] = {"method", "url", "body", "ak", "sk", "date", "headers", "key", NULL};
  const char *v[6];
  sign_job job = {0};
  const key_ud *k;
  int e = known_fields(L, fields);
  if (!e) e = get_strings(L, fields, 6, v, &job.body_len);
  if (e || (e = key_field(L, &k)) || (e = get_headers(L, &job.hs, &job.n, &job.has_host))) return e;
  job.method = v[0], job.url = v[1], job.body = v[2], job.date = v[5];
  job.id = k ? k->part[0] : v[3], job.secret = k ? k->part[1] : v[4], job.token = k ? k->part[2] : NULL;
  return push_signed(L, &job);
}

/* core.aws_sign{method=, url=, headers=, body=, access_key=, secret_key=,
 * session_token=, region=, service=[, date=]} ->
 * {["X-Amz-Date"]=, Authorization=[, ["X-Amz-Security-Token"]=][, Host=]}
 * | nil, err   [-1, +(1|2)] */
/* [-0, +(1|2|3)] The SigV4 fields of the table at 1 into job (fields: the
 * nine strings first, then the others a signer takes): 0, or 2 with nil
 * and an error pushed. The headers' array is left on the stack. */
static int aws_job(lua_State *L, const char *const *fields, sign_job *job) {
  const char *v[9];
  const key_ud *k;
  int e = known_fields(L, fields);
  if (!e) e = get_strings(L, fields, 9, v, &job->body_len);
  if (e || (e = key_field(L, &k)) || (e = get_headers(L, &job->hs, &job->n, &job->has_host))) return e;
  job->aws = 1;
  job->method = v[0], job->url = v[1], job->body = v[2], job->region = v[6], job->service = v[7], job->date = v[8];
  job->id = k ? k->part[0] : v[3], job->secret = k ? k->part[1] : v[4], job->token = k ? k->part[2] : v[5];
  return 0;
}

static int l_aws_sign(lua_State *L) {
  if (!lua_istable(L, 1)) return luaL_error(L, "aws_sign: expects a table of fields, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  static const char *const fields[] = {"method", "url",     "body", "access_key", "secret_key", "session_token",
                                       "region", "service", "date", "headers",    "key",        NULL};
  sign_job job = {0};
  int e = aws_job(L, fields, &job);
  return e ? e : push_signed(L, &job);
}

/* core.aws_presign{method=, url=, headers=, body=, access_key=,
 * secret_key=, session_token=, region=, service=[, expires=][, date=]}
 * -> url | nil, err   [-1, +(1|2)]
 * The URL with the signature in its query (SigV4's query form), good for
 * expires seconds: 3600 unless given, as `aws s3 presign --expires-in`
 * (AWS CLI Command Reference). */
static int l_aws_presign(lua_State *L) {
  if (!lua_istable(L, 1)) return luaL_error(L, "aws_presign: expects a table of fields, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  static const char *const fields[] = {"method",        "url",     "body",    "access_key", "secret_key",
                                       "session_token", "region",  "service", "date",       "headers",
                                       "key",           "expires", NULL};
  sign_job job = {0};
  int e = aws_job(L, fields, &job);
  if (e) return e;
  lua_Integer expires = 3600;
  int t = lua_getfield(L, 1, "expires");
  if (t != LUA_TNIL) {
    int isint = 0;
    if (t == LUA_TNUMBER) expires = lua_tointegerx(L, -1, &isint);
    if (!isint || expires < 1 || expires > PL_SIGV4_MAX_EXPIRES)
      return invalid(L, "expires", "must be a whole number of seconds from 1 to 604800 (seven days)");
  }
  char date[17], err[160];
  if (!job.method) job.method = "GET";
  job.date = date_or_now(job.date, date);
  pl_sigv4_req r = sigv4_of(&job, (long)expires);
  pl_sign_out out;
  if (pl_sign_aws(&r, &out, err, sizeof err) != 0) return sign_failed(L, err);
  lua_pushlstring(L, out.url.data, out.url.len);
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

/* put_header into the transfer to: a copy that is zeroed once h has it */
static int put_into(void *to, const char *name, const char *value, size_t len) {
  pl_http *h = to;
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
  sign_job job = {
      .aws = scheme && strcmp(scheme, "aws") == 0, .region = lua_tostring(L, -2), .service = lua_tostring(L, -1)};
  if (!job.aws && !(scheme && strcmp(scheme, "huawei") == 0))
    bad = sign_error(h, "scheme must be \"aws\" or \"huawei\"");
  if (!bad && !k) bad = sign_error(h, "key must be a signing key");
  if (!bad && !k->part[0]) bad = sign_error(h, "the key is wiped (its client was closed)");
  if (!bad && job.aws && (!job.region || !job.service)) bad = sign_error(h, "aws needs region and service");
  const char *v[3] = {NULL, NULL, NULL}; /* method url body */
  static const char *const fields[] = {"method", "url", "body"};
  if (!bad && (get_strings(L, fields, 3, v, &job.body_len) || get_headers(L, &job.hs, &job.n, &job.has_host)))
    bad = sign_error(h, "the request's method, url, headers or body are not strings");
  if (bad) {
    lua_settop(L, top);
    return -1;
  }
  char date[17], err[160];
  job.method = v[0] ? v[0] : "GET", job.url = v[1], job.body = v[2] ? v[2] : "";
  job.id = k->part[0], job.secret = k->part[1], job.token = k->part[2], job.date = date_or_now(NULL, date);
  int r = sign_one(&job, put_into, h, err, sizeof err);
  lua_settop(L, top);
  if (r == -1) return sign_error(h, err);
  return r ? -1 : 0;
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
  lua_pushcfunction(L, l_aws_presign);
  lua_setfield(L, -2, "aws_presign");
}
