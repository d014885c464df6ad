/* The provider tables (pl_provider.c) seen from Lua:
 *   core.providers                      descriptions of every provider/op
 *   core.prepare(provider, api, op, args) -> request | nil, err
 *   core.error_info(provider, api, resp) -> {message=, code_word=, code=, request_id=, details=} | nil
 *   core.matches(provider, api, raw, args) -> whether a listed peering is the one args ask for
 *   core.find_args(provider, api, args) -> the list that finds it, the key naming it
 *   core.conflict(provider, api, raw, args) -> what a found one has otherwise than args ask, or nil
 *   core.next_page(provider, api, op, args, body) -> the arguments of the page after body, or nil
 *   core.take_token(engine, provider, api, resp) -> true | nil, err: the fetched token, held by engine
 *   core.credential_id(provider, api, creds) -> what names the credential a header is made from
 *   core.hold_auth(engine, provider, api, creds) -> whether engine holds the header made from creds
 * prepare checks every argument against the op's parameters (all problems
 * at once, in err.details) and builds method, path, query and body;
 * error_info reads a failed answer by the provider's error shapes. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pl_buf.h"
#include "pl_http.h"
#include "pl_lua.h"
#include "pl_provider.h"
#include "pl_valid.h"

#define ARRAY_MT_KEY "peerlua.json.array_mt"

/* [-0, +0] t.k = v (nil when v is NULL) for the table t on top. */
static void set_string(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

/* ---- problems ---------------------------------------------------------- */

/* [-0, +0] Append {field=, rule=} to the list at index list. */
static void problem(lua_State *L, int list, const char *field, const char *rule) {
  lua_createtable(L, 0, 2);
  set_string(L, "field", field);
  set_string(L, "rule", rule);
  lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

/* [-0, +0] Give the table at the top the JSON array marker. */
static void mark_array(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, ARRAY_MT_KEY) == LUA_TTABLE)
    lua_setmetatable(L, -2);
  else
    lua_pop(L, 1);
}

#define RAW_PREFIX "raw:"

/* An open list (Instaclustr firewall rule types: the API adds new ones) also
 * takes a well-formed value outside it, written "raw:VALUE". */
static int open_list(const pl_param *p) {
  return p->oneof == pl_firewall_types;
}

/* Upper-case letters, digits and underscores, starting with a letter. */
static int upper_word(const char *s, size_t len) {
  if (len == 0 || s[0] < 'A' || s[0] > 'Z') return 0;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) return 0;
  return 1;
}

/* The value to send for s: s without its "raw:" on an open list. */
static size_t raw_skip(const pl_param *p, const char *s, size_t len) {
  size_t n = sizeof RAW_PREFIX - 1;
  return open_list(p) && len > n && memcmp(s, RAW_PREFIX, n) == 0 ? n : 0;
}

/* The rule of a region in the other's form, with the value written as the
 * field wants it: us-west-2 for an Instaclustr region (US_WEST_2), and
 * US_EAST_1 for an AWS one (us-east-1). Else rule as it is. */
static const char *region_hint(const char *check, const char *rule, const char *s, size_t len, char *msg, size_t n) {
  int to_upper = strcmp(check, "ic_region") == 0;
  if (!to_upper && strcmp(check, "aws_region") != 0) return rule;
  if (len >= 40 || (to_upper ? pl_valid_aws_region(s, len) : pl_valid_ic_region(s, len))) return rule;
  char other[40];
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    other[i] = to_upper ? (c == '-' ? '_' : (char)toupper((unsigned char)c))
                        : (c == '_' ? '-' : (char)tolower((unsigned char)c));
  }
  other[len] = 0;
  snprintf(msg, n, "%s: write %s as %s", rule, s, other);
  return msg;
}

/* Check one string against the parameter's rules; NULL if fine. A message
 * naming the allowed values is written into msg. */
static const char *check_string(const pl_param *p, const char *s, size_t len, char *msg, size_t n) {
  if (p->minlen || p->maxlen) { /* in characters, as JSON Schema's minLength and maxLength count */
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (len == 0 && p->minlen) return "must not be empty";
    int shorter = chars < p->minlen;
    if (shorter || (p->maxlen && chars > p->maxlen)) {
      snprintf(msg, n,
               shorter ? "is too short (at least %zu characters, not %zu)"
                       : "is too long (at most %zu characters, not %zu)",
               (size_t)(shorter ? p->minlen : p->maxlen), chars);
      return msg;
    }
  }
  if (p->where == PL_IN_PATH) {
    const char *rule = pl_valid_segment(s, len);
    if (rule) return rule;
  }
  if (p->check) {
    pl_validator v = pl_valid_by_name(p->check);
    const char *rule = v ? v(s, len) : NULL;
    if (rule) return region_hint(p->check, rule, s, len, msg, n);
  }
  if (p->oneof) {
    size_t skip = raw_skip(p, s, len);
    if (skip)
      return upper_word(s + skip, len - skip) ? NULL
                                              : "after raw: must come upper-case letters, digits and _ (raw:NEW_TYPE)";
    for (const char *const *o = p->oneof; *o; o++)
      if (strlen(*o) == len && memcmp(*o, s, len) == 0) return NULL;
    int open = open_list(p) && upper_word(s, len);
    const char *near = pl_nearest(s, len, p->oneof);
    if (near && open) { /* a near miss of a known type: not a newer one to send raw, nor worth the list */
      snprintf(msg, n, "is not a known type (did you mean %s?)", near);
      return msg;
    }
    size_t used = (size_t)snprintf(msg, n, open ? "is not a known type (known:" : "is not one of:");
    for (const char *const *o = p->oneof; *o && used < n; o++)
      used += (size_t)snprintf(msg + used, n - used, "%s %s", o == p->oneof ? "" : ",", *o);
    if (open && used < n) snprintf(msg + used, n - used, "); to send a newer one, write it raw:%.*s", (int)len, s);
    if (!open && near && used < n) snprintf(msg + used, n - used, " (did you mean %s?)", near);
    return msg;
  }
  return NULL;
}

/* [-0, +0] "field[i]" into buf */
static const char *item_name(char *buf, size_t n, const char *field, lua_Integer i) {
  snprintf(buf, n, "%s[%lld]", field, (long long)i);
  return buf;
}

/* [-0, +0] Is the table at the top a list, its keys 1..n and nothing
 * else? A named key or a hole would be dropped without a word. */
static const char *list_shape(lua_State *L) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1), keys = 0;
  int named = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    keys++;
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) named = 1;
  }
  if (named) return "must be a list {a, b, ...}, not a table with other keys";
  return keys == n ? NULL : "must be a list without holes (nil in the middle)";
}

/* [-1, +1] Convert and check the argument at the top for parameter p.
 * Leaves the value to send, or nil after recording problems. */
static void convert(lua_State *L, int list, const pl_param *p) {
  char name[96], msg[1536];
  int t = lua_type(L, -1);
  switch (p->type) {
    case PL_T_BOOL:
      if (t != LUA_TBOOLEAN) {
        problem(L, list, p->name, "must be true or false");
        lua_pop(L, 1), lua_pushnil(L);
      }
      return;
    case PL_T_WHOLE:
      if (t == LUA_TNUMBER) { /* 100 as "100", the query string Huawei documents */
        int whole;
        lua_Integer n = lua_tointegerx(L, -1, &whole);
        if (!whole) {
          problem(L, list, p->name, "must be a whole number");
          lua_pop(L, 1), lua_pushnil(L);
          return;
        }
        lua_pop(L, 1);
        lua_pushfstring(L, "%I", (LUAI_UACINT)n);
        t = LUA_TSTRING;
      }
      /* FALLTHROUGH */
    case PL_T_STRING: {
      if (t == LUA_TTABLE && strchr(p->field, '.')) { /* {uuid = "..."} for network.uuid */
        lua_getfield(L, -1, strchr(p->field, '.') + 1);
        lua_remove(L, -2);
        t = lua_type(L, -1);
      }
      if (t == LUA_TNUMBER && lua_isinteger(L, -1)) { /* an account id written bare: 123456789012 */
        snprintf(msg, sizeof msg, "must be a string: write it in quotes (\"%lld\"%s)", (long long)lua_tointeger(L, -1),
                 p->check ? ", with any leading zeros a bare number drops" : ""); /* an id, not a name */
        problem(L, list, p->name, msg);
        lua_pop(L, 1), lua_pushnil(L);
        return;
      }
      if (t != LUA_TSTRING) {
        problem(L, list, p->name, p->type == PL_T_WHOLE ? "must be a whole number or a string" : "must be a string");
        lua_pop(L, 1), lua_pushnil(L);
        return;
      }
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      const char *rule = check_string(p, s, len, msg, sizeof msg);
      if (rule) {
        problem(L, list, p->name, rule);
        lua_pop(L, 1), lua_pushnil(L);
      } else if (raw_skip(p, s, len)) {
        lua_pushstring(L, s + raw_skip(p, s, len));
        lua_remove(L, -2);
      }
      return;
    }
    case PL_T_TABLE:
      if (t != LUA_TTABLE) {
        problem(L, list, p->name, "must be a table");
        lua_pop(L, 1), lua_pushnil(L);
      }
      return;
    default: break;
  }
  /* lists */
  if (p->type == PL_T_LABELS && t == LUA_TTABLE && lua_rawlen(L, -1) == 0 && (lua_pushnil(L), lua_next(L, -2))) {
    lua_pop(L, 2); /* a map {key = value}: turned into [{key=, value=}] below */
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) { /* named by its key */
        int key = lua_type(L, -2) == LUA_TSTRING;
        const char *field = key ? lua_pushfstring(L, "%s.%s", p->name, lua_tostring(L, -2)) : p->name;
        snprintf(msg, sizeof msg,
                 key ? "must be a string (labels map strings to strings), not a %s"
                     : "must map strings to strings: a key is a %s",
                 luaL_typename(L, -2)); /* the value under the field name, or the key */
        problem(L, list, field, msg);
        lua_pop(L, 4 + key), lua_pushnil(L);
        return;
      }
      lua_createtable(L, 0, 2);
      lua_pushvalue(L, -3);
      lua_setfield(L, -2, "key");
      lua_insert(L, -2);
      lua_setfield(L, -2, "value");
      lua_rawseti(L, -3, (lua_Integer)lua_rawlen(L, -3) + 1);
    }
    lua_remove(L, -2);
    mark_array(L);
    return;
  }
  const char *shape = t != LUA_TTABLE ? "must be a list" : list_shape(L);
  if (shape && p->type == PL_T_LABELS) /* not a table, or a map and list items in one */
    shape = "must be a map {key = \"value\"} or a list {{key = \"k\", value = \"v\"}, ...} (not both in one table)";
  if (t == LUA_TSTRING && p->type != PL_T_LABELS &&
      lua_rawlen(L, -1) < 64) { /* one value for a list: rules = "CASSANDRA" */
    snprintf(msg, sizeof msg, "must be a list: write {\"%s\"} for the one", lua_tostring(L, -1));
    shape = msg;
  }
  if (!shape && lua_rawlen(L, -1) == 0 && p->type != PL_T_LABELS) shape = "must not be empty";
  if (shape) {
    problem(L, list, p->name, shape);
    lua_pop(L, 1), lua_pushnil(L);
    return;
  }
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  int bad = 0;
  lua_createtable(L, (int)n, 0); /* src out */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    int it = lua_type(L, -1);
    const char *rule = NULL;
    if (p->type == PL_T_STRINGS) {
      size_t len;
      const char *s = it == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
      rule = s ? check_string(p, s, len, msg, sizeof msg) : "must be a string";
    } else if (p->type == PL_T_RULES) { /* "CASSANDRA" or {type = "CASSANDRA"} */
      if (it == LUA_TSTRING) {
        lua_createtable(L, 0, 1);
        lua_insert(L, -2);
        lua_setfield(L, -2, "type");
      }
      size_t len = 0;
      int table = lua_type(L, -1) == LUA_TTABLE;
      const char *s = table && lua_getfield(L, -1, "type") == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
      rule = s ? check_string(p, s, len, msg, sizeof msg) : "must be a rule type or {type = ...}";
      if (!rule && raw_skip(p, s, len)) { /* a copy of the rule with the type to send */
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, -4)) lua_pushvalue(L, -2), lua_insert(L, -2), lua_settable(L, -4);
        set_string(L, "type", s + raw_skip(p, s, len));
        lua_replace(L, -3);
      }
      if (table) lua_pop(L, 1); /* the type */
    } else {                    /* labels */
      int ok = it == LUA_TTABLE && lua_getfield(L, -1, "key") == LUA_TSTRING;
      if (it == LUA_TTABLE) lua_pop(L, 1);
      rule = ok ? NULL : "must be {key = ..., value = ...}";
    }
    if (rule) {
      problem(L, list, item_name(name, sizeof name, p->name, i), rule);
      bad = 1;
    }
    lua_rawseti(L, -2, i);
  }
  lua_remove(L, -2);
  if (bad)
    lua_pop(L, 1), lua_pushnil(L);
  else
    mark_array(L);
}

/* [-1, +0] Set the value at the top at dotted path field in the table at t. */
static void set_field(lua_State *L, int t, const char *field) {
  const char *dot = strchr(field, '.');
  if (!dot) {
    lua_setfield(L, t, field);
    return;
  }
  lua_pushlstring(L, field, (size_t)(dot - field));
  if (lua_rawget(L, t) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushlstring(L, field, (size_t)(dot - field));
    lua_pushvalue(L, -2);
    lua_rawset(L, t);
  }
  lua_insert(L, -2);
  set_field(L, lua_absindex(L, -2), dot + 1);
  lua_pop(L, 1);
}

static const pl_param *param_named(const pl_op *op, const char *name) {
  for (const pl_param *p = op->params; p->name; p++)
    if (strcmp(p->name, name) == 0) return p;
  return NULL;
}

/* A parameter named name of the same operation in q, else of any of q's
 * operations (v2's cdc_id, given to a v1 list that v2 has no form of);
 * *in is the operation it is found in. */
static const pl_param *param_in(const pl_provider *q, const pl_op *op, const char *name, const pl_op **in) {
  const pl_op *qop = pl_op_find(q, op->name);
  const pl_param *there = qop ? param_named(qop, name) : NULL;
  for (const pl_op *o = q->ops; !there && o->name; o++) there = param_named(qop = o, name);
  *in = qop;
  return there;
}

/* The one parameter of op checked by rule, or NULL for none or several. */
static const char *only_checked(const pl_op *op, const char *rule) {
  const char *one = NULL;
  for (const pl_param *p = op->params; p->name && rule; p++) {
    if (!p->check || strcmp(p->check, rule) != 0) continue;
    if (one) return NULL; /* two alike: no guess */
    one = p->name;
  }
  return one;
}

/* An argument of the same operation (or, failing that, of another one) in
 * another API generation of pv (Instaclustr v1's cluster_data_centre_id
 * on a v2 client): that generation, and in *same the parameter of op it
 * is, where both operations have one parameter checked by its rule (v2's
 * cdc_id), else NULL. NULL if no generation has it. */
static const pl_provider *other_api(const pl_provider *pv, const pl_op *op, const char *name, const char **same) {
  for (const pl_provider *q = pl_providers; q->name; q++) {
    const pl_op *in = NULL;
    const pl_param *there = q == pv || strcmp(q->name, pv->name) != 0 ? NULL : param_in(q, op, name, &in);
    if (!there) continue;
    *same = only_checked(in, there->check) ? only_checked(op, there->check) : NULL;
    return q;
  }
  return NULL;
}

/* [-0, +0] The rule for the unknown argument name at the top: with the
 * parameter it is a slip of, if one is near, or its name in this API
 * generation, if it is another generation's. */
static const char *unknown_rule(const pl_provider *pv, const pl_op *op, lua_State *L, char *msg, size_t n) {
  const char *names[64];
  size_t k = 0, len;
  for (const pl_param *p = op->params; p->name && k < 63; p++) names[k++] = p->name;
  names[k] = NULL;
  const char *s = lua_tolstring(L, -1, &len);
  const char *near = pl_nearest(s, len, names), *same = NULL;
  const pl_provider *other = near ? NULL : other_api(pv, op, s, &same);
  if (other && same)
    snprintf(msg, n, "is not an argument of this operation (it is api %s's; on api %s, did you mean %s?)", other->api,
             pv->api, same);
  else if (other)
    snprintf(msg, n, "is not an argument of this operation (it is api %s's; this client is api %s)", other->api,
             pv->api);
  else if (near)
    snprintf(msg, n, "is not an argument of this operation (did you mean %s?)", near);
  else
    return "is not an argument of this operation";
  return msg;
}

typedef struct {
  lua_State *L;
  int args;
} path_ud;

static const char *path_arg(const char *name, size_t len, void *ud) {
  path_ud *u = ud;
  lua_pushlstring(u->L, name, len);
  lua_rawget(u->L, u->args);
  const char *s = lua_tostring(u->L, -1);
  lua_pop(u->L, 1); /* still referenced by args */
  return s;
}

/* [-0, +2] nil, err{code="invalid", details=problems at list} */
static int invalid(lua_State *L, int list, const pl_provider *pv, const pl_op *op) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "invalid arguments: ");
  lua_Integer n = (lua_Integer)lua_rawlen(L, list);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    lua_getfield(L, -1, "field");
    lua_getfield(L, -2, "rule");
    lua_pushfstring(L, "%s%s: %s", i > 1 ? "; " : "", lua_tostring(L, -2), lua_tostring(L, -1));
    lua_replace(L, -4);
    lua_pop(L, 2);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  lua_pushnil(L);
  pl_push_error(L, "invalid", lua_tostring(L, -2));
  lua_pushvalue(L, list);
  lua_setfield(L, -2, "details");
  set_string(L, "provider", pv->name);
  set_string(L, "op", op->name);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "retryable");
  return 2;
}

/* core.check(rule, value) -> nil | the rule value breaks (a string value
 * against a named validator: "uuid", "hw_region", ...) [-2, +1] */
static int l_check(lua_State *L) {
  pl_validator v = pl_valid_by_name(luaL_checkstring(L, 1));
  if (!v) return luaL_error(L, "unknown rule '%s'", lua_tostring(L, 1));
  size_t len;
  const char *s = lua_tolstring(L, 2, &len);
  const char *rule = s ? v(s, len) : "must be a string";
  if (rule)
    lua_pushstring(L, rule);
  else
    lua_pushnil(L);
  return 1;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* [-0, +1] p's default as the value an argument would be. */
static void push_default(lua_State *L, const pl_param *p) {
  if (p->type == PL_T_BOOL)
    lua_pushboolean(L, strcmp(p->dflt, "true") == 0);
  else
    lua_pushstring(L, p->dflt);
}

/* core.prepare(provider, api, op, args) -> {method, service, path, query, body} | nil, err
 * [-4, +(1|2)] */
static int l_prepare(lua_State *L) {
  const char *pname = luaL_checkstring(L, 1), *api = luaL_optstring(L, 2, "");
  const char *opname = luaL_checkstring(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  const pl_provider *pv = pl_provider_find(pname, api);
  if (!pv) return luaL_error(L, "unknown provider '%s' (api '%s')", pname, api);
  const pl_op *op = pl_op_find(pv, opname);
  if (!op) return luaL_error(L, "%s has no operation '%s'", pname, opname);
  lua_settop(L, 4);
  lua_newtable(L); /* 5 problems */
  lua_newtable(L); /* 6 body */
  lua_newtable(L); /* 7 query */
  lua_newtable(L); /* 8 path values (converted) */
  char msg[160];
  /* unknown argument names, sorted for a stable message (a table's order
   * differs from run to run) */
  size_t nkeys = 0, nunknown = 0;
  for (lua_pushnil(L); lua_next(L, 4); lua_pop(L, 1)) nkeys++;
  const char **unknown = lua_newuserdatauv(L, (nkeys ? nkeys : 1) * sizeof *unknown, 0); /* 9, dropped below */
  lua_pushnil(L);
  while (lua_next(L, 4)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      const char *key = lua_pushfstring(L, "[%s]", luaL_tolstring(L, -1, NULL));
      problem(L, 5, key, "argument names must be strings: give each as name = value");
      lua_pop(L, 2);
    } else if (!param_named(op, lua_tostring(L, -1))) {
      unknown[nunknown++] = lua_tostring(L, -1); /* anchored by the args table */
    }
  }
  qsort(unknown, nunknown, sizeof *unknown, by_name);
  for (size_t i = 0; i < nunknown; i++) {
    lua_pushstring(L, unknown[i]);
    problem(L, 5, unknown[i], unknown_rule(pv, op, L, msg, sizeof msg));
    lua_pop(L, 1);
  }
  lua_pop(L, 1); /* the list of unknown names */
  int given = 0;
  for (const pl_param *p = op->params; p->name; p++) {
    if (lua_getfield(L, 4, p->name) == LUA_TNIL && p->dflt) {
      lua_pop(L, 1);
      push_default(L, p);
    } else if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      if (p->required) problem(L, 5, p->name, "is required");
      continue;
    }
    given = given || p->where == PL_IN_BODY;
    convert(L, 5, p);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      continue;
    }
    if (p->where == PL_IN_BODY)
      set_field(L, 6, p->field);
    else
      lua_setfield(L, p->where == PL_IN_QUERY ? 7 : 8, p->where == PL_IN_QUERY ? p->field : p->name);
  }
  if (op->exclusive[0]) {
    int a = lua_getfield(L, 4, op->exclusive[0]) != LUA_TNIL;
    int b = lua_getfield(L, 4, op->exclusive[1]) != LUA_TNIL;
    lua_pop(L, 2);
    if (a && b) {
      lua_pushfstring(L, "cannot be given together with %s", op->exclusive[1]);
      problem(L, 5, op->exclusive[0], lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  if (op->one_of[0]) {
    int any = 0;
    for (int i = 0; i < 3 && op->one_of[i]; i++) any |= lua_getfield(L, 4, op->one_of[i]) != LUA_TNIL, lua_pop(L, 1);
    if (!any) { /* named by them all ("name|configured_status|labels"), as no one of them is missing */
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (int i = 0; i < 3 && op->one_of[i]; i++) {
        if (i) luaL_addchar(&b, '|');
        luaL_addstring(&b, op->one_of[i]);
      }
      luaL_pushresult(&b);
      problem(L, 5, lua_tostring(L, -1),
              op->exclusive[0] ? "give one of them" : "give at least one of them: without one there is nothing to do");
      lua_pop(L, 1);
    }
  }
  if (lua_rawlen(L, 5) > 0) return invalid(L, 5, pv, op);

  lua_createtable(L, 0, 6); /* 9 request */
  path_ud u = {L, 8};
  pl_buf path;
  const char *bad;
  size_t badlen;
  pl_buf_init(&path);
  int rc = pl_path_expand(op->path, path_arg, &u, &path, &bad, &badlen);
  if (rc == 0) lua_pushlstring(L, path.data, path.len);
  pl_buf_free(&path);
  if (rc != 0) return luaL_error(L, "cannot expand the path of %s.%s", pname, opname);
  lua_setfield(L, 9, "path");
  lua_pushstring(L, op->method);
  lua_setfield(L, 9, "method");
  lua_pushstring(L, op->service);
  lua_setfield(L, 9, "service");
  lua_pushstring(L, op->name);
  lua_setfield(L, 9, "op");
  lua_pushvalue(L, 7);
  lua_setfield(L, 9, "query");
  if (given || (op->wrap && strcmp(op->method, "GET") != 0)) {
    if (op->wrap) { /* {"network_peering": {...}} */
      lua_createtable(L, 0, 1);
      lua_pushvalue(L, 6);
      lua_setfield(L, -2, op->wrap);
    } else {
      lua_pushvalue(L, 6);
    }
    lua_setfield(L, 9, "body");
  }
  return 1;
}

/* [-0, +1] A description of op. */
static void push_op(lua_State *L, const pl_op *op) {
  lua_createtable(L, 0, 10);
  set_string(L, "method", op->method);
  set_string(L, "path", op->path);
  set_string(L, "service", op->service);
  lua_newtable(L);
  for (int i = 0; i < 4 && op->ok[i]; i++) {
    lua_pushboolean(L, 1);
    lua_rawseti(L, -2, op->ok[i]);
  }
  lua_setfield(L, -2, "ok");
  if (op->result) {
    set_string(L, "result", op->result);
  }
  lua_pushboolean(L, op->idempotent);
  lua_setfield(L, -2, "idempotent");
  lua_pushboolean(L, op->missing_ok);
  lua_setfield(L, -2, "missing_ok");
  lua_pushboolean(L, op->conflict_ok);
  lua_setfield(L, -2, "conflict_ok");
  lua_newtable(L);
  int optional = !op->one_of[0]; /* every argument may be left out */
  for (const pl_param *p = op->params; p->name; p++) {
    lua_pushstring(L, p->where == PL_IN_PATH ? "path" : p->where == PL_IN_QUERY ? "query" : "body");
    lua_setfield(L, -2, p->name);
    if (p->required || p->where == PL_IN_PATH) optional = 0;
  }
  lua_setfield(L, -2, "params");
  lua_newtable(L);
  for (const pl_param *p = op->params; p->name; p++)
    if (p->dflt) push_default(L, p), lua_setfield(L, -2, p->name);
  lua_setfield(L, -2, "defaults");
  lua_pushboolean(L, optional);
  lua_setfield(L, -2, "args_optional");
}

/* ---- error answers ------------------------------------------------------ */

/* [-0, +1] The value at one path (no '|') of len bytes: fields of the table
 * at body, a number indexing a list; "@name" a header of the response at
 * resp. nil where any step is missing. */
void pl_push_at(lua_State *L, int body, int resp, const char *path, size_t len) {
  if (*path == '@') {
    if (lua_getfield(L, resp, "headers") != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    lua_pushlstring(L, path + 1, len - 1);
    lua_gettable(L, -2);
    lua_remove(L, -2);
    return;
  }
  lua_pushvalue(L, body);
  for (const char *end = path + len; path < end && !lua_isnil(L, -1);) {
    const char *dot = memchr(path, '.', (size_t)(end - path));
    size_t n = dot ? (size_t)(dot - path) : (size_t)(end - path);
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      break;
    }
    char *num;
    long i = strtol(path, &num, 10);
    if (n > 0 && num == path + n)
      lua_geti(L, -1, i);
    else
      lua_pushlstring(L, path, n), lua_gettable(L, -2);
    lua_remove(L, -2);
    path += n + (dot != NULL);
  }
}

/* [-0, +1] The first of the paths ("a|b") holding a value of the type
 * wanted (LUA_TSTRING also takes a number, as its decimal word), or nil. */
static void push_field(lua_State *L, int body, int resp, const char *paths, int want) {
  for (const char *p = paths; p;) {
    const char *bar = strchr(p, '|');
    pl_push_at(L, body, resp, p, bar ? (size_t)(bar - p) : strlen(p));
    int t = lua_type(L, -1);
    if (t == want) return;
    if (want == LUA_TSTRING && t == LUA_TNUMBER) {
      lua_tostring(L, -1);
      return;
    }
    lua_pop(L, 1);
    p = bar ? bar + 1 : NULL;
  }
  lua_pushnil(L);
}

/* The provider's find, or NULL (none: AWS creates no peering).  [-0, +0] */
static const pl_find *find_of(lua_State *L) {
  const pl_provider *pv = pl_provider_find(luaL_checkstring(L, 1), luaL_optstring(L, 2, ""));
  return pv ? pv->find : NULL;
}

/* core.matches(provider, api, raw, args) -> whether the peering object raw
 * is the one args ask for, by the provider's pl_match pairs; nil when the
 * provider has none.  [-4, +1] */
static int l_matches(lua_State *L) {
  const pl_find *f = find_of(L);
  luaL_checktype(L, 4, LUA_TTABLE);
  if (!f) {
    lua_pushnil(L);
    return 1;
  }
  int ok = lua_type(L, 3) == LUA_TTABLE;
  for (const pl_match *m = f->match; ok && m->arg; m++) {
    push_field(L, 4, 4, m->arg, LUA_TSTRING);
    push_field(L, 3, 3, m->field, LUA_TSTRING);
    int no_arg = lua_isnil(L, -2), no_field = lua_isnil(L, -1);
    if (!((no_arg && (m->flags & PL_MATCH_IF_ARG)) || (no_field && (m->flags & PL_MATCH_IF_FIELD))))
      ok = !no_arg && !no_field && lua_rawequal(L, -2, -1);
    lua_pop(L, 2);
  }
  lua_pushboolean(L, ok);
  return 1;
}

/* Whether name is one of the alternatives of paths ("a|b"). */
static int path_names(const char *paths, const char *name) {
  for (size_t n = strlen(name); paths; paths = strchr(paths, '|'), paths = paths ? paths + 1 : NULL)
    if (strncmp(paths, name, n) == 0 && (paths[n] == '|' || paths[n] == '\0')) return 1;
  return 0;
}

/* core.find_args(provider, api, args) -> the list's arguments (the scope
 * taken from args), the key naming the peering args ask for (a list of
 * strings: the match arguments, then the scope ones they do not name;
 * "" for one not given); nil when the provider has no find.  [-3, +2] */
static int l_find_args(lua_State *L) {
  const pl_find *f = find_of(L);
  luaL_checktype(L, 3, LUA_TTABLE);
  if (!f) {
    lua_pushnil(L);
    return 1;
  }
  lua_newtable(L); /* 4: the list's arguments */
  lua_newtable(L); /* 5: the key */
  lua_Integer n = 0;
  for (const pl_match *m = f->match; m->arg; m++) {
    if (m->flags & PL_MATCH_IF_ARG) continue;
    push_field(L, 3, 3, m->arg, LUA_TSTRING);
    if (lua_isnil(L, -1)) lua_pop(L, 1), lua_pushliteral(L, "");
    lua_rawseti(L, 5, ++n);
  }
  for (const char *const *k = f->scope; *k; k++) {
    lua_getfield(L, 3, *k);
    lua_pushvalue(L, -1);
    lua_setfield(L, 4, *k);
    int named = 0;
    for (const pl_match *m = f->match; m->arg && !named; m++) named = path_names(m->arg, *k);
    if (named) {
      lua_pop(L, 1);
      continue;
    }
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) lua_pop(L, 1), lua_pushliteral(L, "");
    lua_tostring(L, -1);
    lua_rawseti(L, 5, ++n);
  }
  return 2;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* [-0, +1] The value at paths in the table at t as a set: a string, or a
 * list's strings sorted and joined with ","; nil when absent or empty. */
#define SET_MAX 64
static void push_set(lua_State *L, int t, const char *paths) {
  push_field(L, t, t, paths, LUA_TTABLE);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    push_field(L, t, t, paths, LUA_TSTRING);
    return;
  }
  int list = lua_gettop(L);
  const char *item[SET_MAX] = {NULL};
  size_t n = 0;
  luaL_checkstack(L, SET_MAX + 2, "set");
  for (lua_Integer i = 1; n < SET_MAX && lua_rawgeti(L, list, i) != LUA_TNIL; i++)
    if (lua_type(L, -1) == LUA_TSTRING) item[n++] = lua_tostring(L, -1); /* held on the stack */
  qsort(item, n, sizeof *item, cmp_str);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    if (i) luaL_addchar(&b, ',');
    luaL_addstring(&b, item[i]);
  }
  luaL_pushresult(&b);
  lua_replace(L, list);
  lua_settop(L, list);
  if (n == 0) lua_pop(L, 1), lua_pushnil(L);
}

/* core.conflict(provider, api, raw, args) -> what differs between the
 * peering object raw, found for args, and args, in a field it cannot
 * change in place ("its CIDR block is X, not Y"), or nil.  [-4, +1] */
static int l_conflict(lua_State *L) {
  const pl_find *f = find_of(L);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  for (const pl_fixed *x = f ? f->fixed : NULL; x && x->arg; x++) {
    if (x->set)
      push_set(L, 4, x->arg), push_set(L, 3, x->field);
    else
      push_field(L, 4, 4, x->arg, LUA_TSTRING), push_field(L, 3, 3, x->field, LUA_TSTRING);
    if (!lua_isnil(L, -2) && !lua_isnil(L, -1) && !lua_rawequal(L, -2, -1)) {
      lua_pushfstring(L, "its %s %s, not %s", x->what, lua_tostring(L, -1), lua_tostring(L, -2));
      return 1;
    }
    lua_pop(L, 2);
  }
  lua_pushnil(L);
  return 1;
}

/* [-0, +1] A copy of the table at t (its own keys only). */
static void push_copy(lua_State *L, int t) {
  lua_newtable(L);
  for (lua_pushnil(L); lua_next(L, t);) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* [-0, +1] The value of the query parameter name in url, percent-decoded,
 * or nil. */
static void push_query_param(lua_State *L, const char *url, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strchr(url, '?'); p && *p && *p != '#'; p = strchr(p + 1, '&')) {
    if (strncmp(p + 1, name, n) != 0 || p[1 + n] != '=') continue;
    const char *v = p + 2 + n;
    size_t len;
    char *value = pl_percent_decode(v, strcspn(v, "&#"), &len);
    if (!value) luaL_error(L, "out of memory");
    lua_pushlstring(L, value, len);
    free(value);
    return;
  }
  lua_pushnil(L);
}

/* core.next_page(provider, api, op, args, body) -> the arguments of the
 * page after body, the answer to op with args, or nil: the last page, a
 * list that does not come in pages, or args asked for one page
 * (pl_pages).  [-5, +1] */
static int l_next_page(lua_State *L) {
  const pl_provider *pv = pl_provider_find(luaL_checkstring(L, 1), luaL_optstring(L, 2, ""));
  const char *opname = luaL_checkstring(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  const pl_pages *pg = pv ? pv->pages : NULL;
  while (pg && pg->op && strcmp(pg->op, opname) != 0) pg++;
  const pl_op *op = pv ? pl_op_find(pv, opname) : NULL;
  lua_settop(L, 5);
  if (!pg || !pg->op || !op || lua_type(L, 5) != LUA_TTABLE || lua_getfield(L, 4, pg->arg) != LUA_TNIL) {
    lua_pushnil(L);
    return 1;
  }
  lua_pop(L, 1);
  if (pg->how == PL_PAGE_OFFSET) {
    if (op->result)
      push_field(L, 5, 5, op->result, LUA_TTABLE);
    else
      lua_pushvalue(L, 5);
    lua_Integer count = lua_istable(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : 0;
    push_field(L, 5, 5, pg->at, LUA_TNUMBER);
    push_field(L, 5, 5, pg->total, LUA_TNUMBER);
    int have_total;
    lua_Integer offset = lua_tointegerx(L, -2, NULL), total = lua_tointegerx(L, -1, &have_total);
    if (count == 0 || !have_total || offset < 0 || offset + count >= total) {
      lua_pushnil(L);
      return 1;
    }
    push_copy(L, 4);
    lua_pushfstring(L, "%I", (LUAI_UACINT)(offset + count));
    lua_setfield(L, -2, pg->arg);
    return 1;
  }
  push_field(L, 5, 5, pg->at, LUA_TTABLE); /* 6: the links */
  for (lua_Integer i = 1; lua_istable(L, 6) && lua_rawgeti(L, 6, i) == LUA_TTABLE; i++) {
    lua_getfield(L, -1, "rel");
    lua_getfield(L, -2, "href");
    const char *rel = lua_tostring(L, -2), *href = lua_tostring(L, -1);
    if (lua_type(L, -2) == LUA_TSTRING && strcmp(rel, "next") == 0 && lua_type(L, -1) == LUA_TSTRING) {
      push_query_param(L, href, pg->arg);
      if (!lua_isnil(L, -1)) {
        push_copy(L, 4);
        lua_insert(L, -2);
        lua_setfield(L, -2, pg->arg);
        return 1;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 3);
  }
  lua_pushnil(L);
  return 1;
}

/* [-0, +1] resp:json() as a table, or nil (no body, not JSON). */
static void push_body(lua_State *L, int resp) {
  if (lua_getfield(L, resp, "json") == LUA_TFUNCTION) {
    lua_pushvalue(L, resp);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) return;
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

/* core.take_token(engine, provider, api, resp) -> true | nil, err: the
 * token in the answer resp to the provider's token request (pl_token),
 * held by engine; err, a refusal or an answer without a token, says what
 * the answer does (never the token).  [-4, +(1|2)] */
static int l_take_token(lua_State *L) {
  const pl_provider *pv = pl_provider_find(luaL_checkstring(L, 2), luaL_optstring(L, 3, ""));
  luaL_checktype(L, 4, LUA_TTABLE);
  const pl_token *tk = pv ? pv->token : NULL;
  if (!tk) return luaL_error(L, "take_token: %s fetches no token", lua_tostring(L, 2));
  lua_settop(L, 4);
  lua_getfield(L, 4, "status");
  int status = (int)lua_tointeger(L, -1), ok = 0;
  for (const int *s = tk->ok; *s && !ok; s++) ok = *s == status;
  push_body(L, 4); /* 6 */
  if (ok) {
    push_field(L, 6, 4, tk->value, LUA_TSTRING);
    size_t len;
    const char *value = lua_tolstring(L, -1, &len);
    if (value && len > 0) {
      double life = tk->life;
      if (tk->lifetime) {
        push_field(L, 6, 4, tk->lifetime, LUA_TNUMBER);
        if (lua_tonumber(L, -1) > 0) life = lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
      const char *why = pl_engine_hold(L, 1, tk->header, tk->prefix, value, len, life * PL_TOKEN_EARLY);
      if (!why) return lua_pushboolean(L, 1), 1;
      ok = 0;
      lua_pushfstring(L, "the token in the answer cannot be sent (%s)", why);
    } else {
      lua_pushliteral(L, "the answer holds no token");
    }
  } else {
    if (tk->message)
      push_field(L, 6, 4, tk->message, LUA_TSTRING); /* the refusal's own words */
    else
      lua_pushnil(L);
    if (lua_isnil(L, -1)) lua_pop(L, 1), lua_pushfstring(L, "HTTP %d", status);
  }
  lua_pushfstring(L, "cannot get %s: %s", tk->what, lua_tostring(L, -1));
  pl_push_error(L, status == 429 ? "rate_limited" : "auth", lua_tostring(L, -1));
  set_string(L, "provider", pv->name);
  set_string(L, "op", "token");
  lua_pushinteger(L, status);
  lua_setfield(L, -2, "http_status");
  lua_pushboolean(L, status >= 500 || status == 429);
  lua_setfield(L, -2, "retryable");
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* ---- the header made from the credentials (pl_auth) --------------------- */

/* The first of the provider's rows whose fields the table at creds has (as
 * strings, not empty), or NULL. */
static const pl_auth *auth_row(lua_State *L, const pl_provider *pv, int creds) {
  for (const pl_auth *a = pv ? pv->auth : NULL; a && a->how; a++) {
    int given = 1;
    for (const char *f = a->user ? a->user : a->secret; given && f; f = f == a->secret ? NULL : a->secret) {
      size_t len = 0;
      given = lua_getfield(L, creds, f) == LUA_TSTRING && (lua_tolstring(L, -1, &len), len > 0);
      lua_pop(L, 1);
    }
    if (given) return a;
  }
  return NULL;
}

/* [-0, +1] FNV-1a of the string at idx as 8 hex digits: a short, one-way
 * name for a secret (throttle keys, locks, traces); not a digest (32
 * bits), only a label that gives none of it away. */
static void push_fingerprint(lua_State *L, int idx) {
  size_t len;
  const unsigned char *t = (const unsigned char *)lua_tolstring(L, idx, &len);
  uint32_t h = 0x811c9dc5u;
  for (size_t i = 0; i < len; i++) h = (h ^ t[i]) * 0x01000193u;
  char id[9];
  snprintf(id, sizeof id, "%08x", (unsigned)h);
  lua_pushstring(L, id);
}

/* core.credential_id(provider, api, creds) -> what names the credential
 * the header will be made from (throttle keys, locks): the user, or
 * "token:" and a fingerprint of the token (FNV-1a: a label that gives
 * nothing of it away); nil when the provider makes no header.  [-3, +1] */
static int l_credential_id(lua_State *L) {
  const pl_provider *pv = pl_provider_find(luaL_checkstring(L, 1), luaL_optstring(L, 2, ""));
  luaL_checktype(L, 3, LUA_TTABLE);
  const pl_auth *a = auth_row(L, pv, 3);
  if (!a) return lua_pushnil(L), 1;
  if (a->how == PL_AUTH_BASIC) return lua_getfield(L, 3, a->user), 1;
  lua_pushliteral(L, "token:");
  lua_getfield(L, 3, a->secret);
  push_fingerprint(L, -1);
  lua_replace(L, -2);
  lua_concat(L, 2);
  return 1;
}

/* core.fingerprint(s) -> push_fingerprint's label of s.  [-1, +1] */
static int l_fingerprint(lua_State *L) {
  luaL_checkstring(L, 1);
  push_fingerprint(L, 1);
  return 1;
}

/* core.hold_auth(engine, provider, api, creds) -> whether the engine now
 * holds the header made from creds by the provider's rows (Authorization);
 * the secret field is then dropped from creds.  [-4, +1] */
static int l_hold_auth(lua_State *L) {
  const pl_provider *pv = pl_provider_find(luaL_checkstring(L, 2), luaL_optstring(L, 3, ""));
  luaL_checktype(L, 4, LUA_TTABLE);
  const pl_auth *a = auth_row(L, pv, 4);
  if (!a) return lua_pushboolean(L, 0), 1;
  size_t ulen = 0, slen;
  const char *user = a->how == PL_AUTH_BASIC ? (lua_getfield(L, 4, a->user), lua_tolstring(L, -1, &ulen)) : NULL;
  lua_getfield(L, 4, a->secret);
  const char *secret = lua_tolstring(L, -1, &slen);
  size_t plain = ulen + 1 + slen, n = a->how == PL_AUTH_BASIC ? 4 * ((plain + 2) / 3) : slen;
  char *value = malloc(n + 1), *pair = a->how == PL_AUTH_BASIC ? malloc(plain) : NULL;
  if (!value || (a->how == PL_AUTH_BASIC && !pair)) {
    free(value);
    free(pair);
    return luaL_error(L, "out of memory");
  }
  if (a->how == PL_AUTH_BASIC) {
    memcpy(pair, user, ulen);
    pair[ulen] = ':';
    memcpy(pair + ulen + 1, secret, slen);
    n = pl_base64(pair, plain, value);
    pl_wipe(pair, plain);
    free(pair);
  } else {
    memcpy(value, secret, slen);
  }
  const char *why = pl_engine_hold(L, 1, "Authorization", a->how == PL_AUTH_BASIC ? "Basic " : a->prefix, value, n, 0);
  pl_wipe(value, n);
  free(value);
  if (why) return luaL_error(L, "%s: the credential %s cannot be sent (%s)", pv->name, a->secret, why);
  lua_pushnil(L);
  lua_setfield(L, 4, a->secret);
  lua_pushboolean(L, 1);
  return 1;
}

/* [-1, +0] The string on top reduced as an RFC 9457 type URI is: what follows
 * "#ERROR_", else "#", else "urn:P:errors:", else the whole; set as field k
 * of the table at t ("" sets nothing). */
static void set_type_code(lua_State *L, int t, const char *k) {
  size_t len;
  const char *s = lua_tolstring(L, -1, &len), *from = s;
  const char *hash = strchr(s, '#'), *urn = strncmp(s, "urn:", 4) == 0 ? strchr(s + 4, ':') : NULL;
  if (hash)
    from = strncmp(hash, "#ERROR_", 7) == 0 ? hash + 7 : hash + 1;
  else if (urn && strncmp(urn, ":errors:", 8) == 0)
    from = urn + 8;
  if (*from) {
    lua_pushstring(L, from);
    lua_setfield(L, t, k);
  }
  lua_pop(L, 1);
}

/* [-0, +1] The body's own text as a message: trimmed, cut to max bytes,
 * withheld when it names a credential or the word hide; nil when empty. */
static void push_text(lua_State *L, int resp, unsigned max, const char *hide) {
  lua_getfield(L, resp, "body");
  size_t len = 0;
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : "";
  while (len && isspace((unsigned char)*s)) s++, len--;
  while (len && isspace((unsigned char)s[len - 1])) len--;
  int named = pl_http_mentions_secret(s, len);
  for (size_t i = 0, h = hide ? strlen(hide) : 0; !named && h && i + h <= len; i++)
    named = strncasecmp(s + i, hide, h) == 0;
  if (len == 0) {
    lua_pushnil(L);
  } else if (named) {
    lua_getfield(L, resp, "status");
    lua_Integer status = lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushfstring(L, "HTTP %I (its body names a credential, not shown)", (LUAI_UACINT)status);
  } else {
    lua_pushlstring(L, s, len > max ? max : len);
    if (len > max) lua_pushliteral(L, "..."), lua_concat(L, 2);
  }
  lua_remove(L, -2);
}

/* peerlua's code for a provider's code word (pl_code_map), or NULL. */
static const char *mapped_code(const pl_code_map *m, const char *w) {
  size_t n = strlen(w);
  for (; m && m->word; m++) {
    size_t k = strlen(m->word);
    if (m->word[0] == '*'           ? n >= k - 1 && strcmp(w + n - (k - 1), m->word + 1) == 0
            : m->word[k - 1] == '*' ? strncmp(w, m->word, k - 1) == 0
                                    : strcmp(w, m->word) == 0)
      return m->code;
  }
  return NULL;
}

/* [-0, +0] The body at slot (4: as JSON, 5: as XML) decoded on first use:
 * a table, or nil when it is not one. */
static void decode_body(lua_State *L, int slot) {
  if (!lua_isboolean(L, slot)) return; /* false: not decoded yet */
  if (slot == 4) {
    push_body(L, 3);
  } else {
    int top = lua_gettop(L);
    lua_pushcfunction(L, pl_xml_decode);
    lua_getfield(L, 3, "body");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
      lua_settop(L, top);
      lua_pushnil(L);
    }
  }
  lua_replace(L, slot);
}

/* What the failed answer resp ({status, headers, body, json()}) says, read
 * by the provider's error shapes (pl_provider.c): {message=, code_word=,
 * code=, request_id=, details=}, each only when it is there with the right
 * type; nil when no shape reads it. (provider, api, resp) -> info | nil */
static int read_error_info(lua_State *L) {
  const pl_provider *pv = pl_provider_find(luaL_checkstring(L, 1), luaL_optstring(L, 2, ""));
  luaL_argcheck(L, pv && pv->errors, 1, "no provider with error shapes of that name");
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  lua_pushboolean(L, 0); /* 4: the body as JSON, decoded when a shape asks */
  lua_pushboolean(L, 0); /* 5: as XML */
  const char *ct = "";
  if (lua_getfield(L, 3, "headers") == LUA_TTABLE && lua_getfield(L, -1, "content-type") == LUA_TSTRING)
    ct = lua_tostring(L, -1); /* anchored on the stack below the answer */
  lua_newtable(L);
  int info = lua_gettop(L);
  for (const pl_error_shape *e = pv->errors; e->message || e->code || e->text; e++) {
    if (e->content_type && !strstr(ct, e->content_type)) continue;
    int body = e->xml ? 5 : 4;
    if (!e->text) {
      decode_body(L, body);
      if (lua_isnil(L, body)) continue;
    }
    if (e->text)
      push_text(L, 3, e->text, e->hide);
    else if (e->message)
      push_field(L, body, 3, e->message, LUA_TSTRING);
    else
      lua_pushnil(L);
    int found = !lua_isnil(L, -1);
    lua_setfield(L, info, "message");
    if (e->code) {
      push_field(L, body, 3, e->code, LUA_TSTRING);
      found |= !lua_isnil(L, -1);
      if (e->code_from == PL_CODE_TYPE_URI && !lua_isnil(L, -1))
        set_type_code(L, info, "code_word");
      else
        lua_setfield(L, info, "code_word");
    }
    if (!found) continue;
    const char *word = lua_getfield(L, info, "code_word") == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    const char *code = word ? mapped_code(e->codes, word) : NULL;
    lua_pop(L, 1);
    if (code) lua_pushstring(L, code), lua_setfield(L, info, "code");
    if (e->request_id) push_field(L, body, 3, e->request_id, LUA_TSTRING), lua_setfield(L, info, "request_id");
    if (e->details) push_field(L, body, 3, e->details, LUA_TTABLE), lua_setfield(L, info, "details");
    return 1;
  }
  lua_pushnil(L);
  return 1;
}

#define ERROR_INFO_KEY "peerlua.error_info" /* resp -> info | false, weak keys */

/* core.error_info(provider, api, resp) -> info | nil (read_error_info),
 * read once per answer: the busy and done rules, the provider's confirm
 * and reauthorize rules and the error itself all ask about the same
 * failed answer. */
static int l_error_info(lua_State *L) {
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  if (!luaL_getsubtable(L, LUA_REGISTRYINDEX, ERROR_INFO_KEY)) { /* 4 */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  lua_pushvalue(L, 3);
  if (lua_rawget(L, 4) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushcfunction(L, read_error_info);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_call(L, 3, 1);
    lua_pushvalue(L, 3);
    if (lua_isnil(L, -2))
      lua_pushboolean(L, 0);
    else
      lua_pushvalue(L, -2);
    lua_rawset(L, 4);
  }
  if (lua_isboolean(L, -1)) lua_pushnil(L); /* read before: nothing */
  return 1;
}

void pl_push_error_info(lua_State *L, const char *provider, const char *api, int resp) {
  resp = lua_absindex(L, resp);
  lua_pushcfunction(L, l_error_info);
  lua_pushstring(L, provider);
  lua_pushstring(L, api);
  lua_pushvalue(L, resp);
  lua_call(L, 3, 1);
}

/* [-0, +0] creds = {fields = {names}, env = {field = {VAR, ...}}, need =,
 * secrets =, settings = {names}} into the table on top: what
 * credentials.lua's resolve reads (the pl_cred table of the provider). */
static void push_creds(lua_State *L, const pl_cred *creds) {
  static const struct {
    const char *name;
    unsigned char flag;
  } lists[] = {{"fields", 0}, {"need", PL_CRED_NEED}, {"secrets", PL_CRED_SECRET}, {"settings", PL_CRED_SETTING}};
  lua_createtable(L, 0, 5);
  for (size_t l = 0; l < sizeof lists / sizeof *lists; l++) {
    lua_newtable(L);
    lua_Integer n = 0;
    for (const pl_cred *c = creds; c->field; c++)
      if (!lists[l].flag || (c->flags & lists[l].flag)) lua_pushstring(L, c->field), lua_rawseti(L, -2, ++n);
    if (n > 0 || !lists[l].flag)
      lua_setfield(L, -2, lists[l].name);
    else
      lua_pop(L, 1); /* none of that kind: the list is absent (resolve's defaults) */
  }
  lua_newtable(L);
  for (const pl_cred *c = creds; c->field; c++) {
    lua_newtable(L);
    for (int i = 0; i < 3 && c->env[i]; i++) lua_pushstring(L, c->env[i]), lua_rawseti(L, -2, i + 1);
    lua_setfield(L, -2, c->field);
  }
  lua_setfield(L, -2, "env");
  lua_setfield(L, -2, "creds");
}

/* [-0, +1] core.providers: ["instaclustr/v1"] = {name, api, ops, states, id_field, status_field, reason_field,
 * rate, burst, base_url, sim_prefix, creds, settled, gone, token} */
static void push_providers(lua_State *L) {
  lua_newtable(L);
  for (const pl_provider *pv = pl_providers; pv->name; pv++) {
    lua_createtable(L, 0, 8);
    set_string(L, "name", pv->name);
    set_string(L, "api", pv->api);
    set_string(L, "id_field", pv->id_field);
    set_string(L, "status_field", pv->status_field);
    set_string(L, "reason_field", pv->reason_field);
    lua_pushnumber(L, pv->rate);
    lua_setfield(L, -2, "rate");
    lua_pushnumber(L, pv->burst);
    lua_setfield(L, -2, "burst");
    set_string(L, "base_url", pv->base_url);
    set_string(L, "sim_prefix", pv->sim_prefix);
    if (pv->creds) push_creds(L, pv->creds);
    lua_newtable(L); /* settled = {op = {read =, field =, want =}} */
    for (const pl_settled *st = pv->settled; st && st->op; st++) {
      lua_createtable(L, 0, 3);
      set_string(L, "read", st->read);
      set_string(L, "field", st->field);
      set_string(L, "want", st->want);
      lua_setfield(L, -2, st->op);
    }
    lua_setfield(L, -2, "settled");
    if (pv->token) { /* token = {url =, sim_path =} */
      lua_createtable(L, 0, 2);
      set_string(L, "url", pv->token->url);
      set_string(L, "sim_path", pv->token->sim_path);
      lua_setfield(L, -2, "token");
    }
    if (pv->find) { /* gone = {state = true} */
      lua_newtable(L);
      for (const char *const *g = pv->find->gone; *g; g++) lua_pushboolean(L, 1), lua_setfield(L, -2, *g);
      lua_setfield(L, -2, "gone");
    }
    lua_newtable(L);
    for (const pl_op *op = pv->ops; op->name; op++) {
      push_op(L, op);
      lua_setfield(L, -2, op->name);
    }
    lua_setfield(L, -2, "ops");
    lua_newtable(L);
    for (const pl_state_map *m = pv->states; m->status; m++) {
      lua_pushstring(L, m->state);
      lua_setfield(L, -2, m->status);
    }
    lua_setfield(L, -2, "states");
    char key[64];
    snprintf(key, sizeof key, *pv->api ? "%s/%s" : "%s", pv->name, pv->api);
    lua_setfield(L, -2, key);
  }
}

/* core.set_array_mt(mt): the metatable peerlua.json uses to mark arrays */
static int l_set_array_mt(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, ARRAY_MT_KEY);
  return 0;
}

/* core's __index: core.providers is made on first use, so that a script
 * that makes no client does not pay for it when peerlua opens. */
static int core_index(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING || strcmp(lua_tostring(L, 2), "providers") != 0) return 0;
  push_providers(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, 1, "providers");
  return 1;
}

void pl_open_provider(lua_State *L, int ctxidx) {
  static const luaL_Reg funcs[] = {{"prepare", l_prepare},
                                   {"check", l_check},
                                   {"error_info", l_error_info},
                                   {"matches", l_matches},
                                   {"find_args", l_find_args},
                                   {"conflict", l_conflict},
                                   {"next_page", l_next_page},
                                   {"take_token", l_take_token},
                                   {"credential_id", l_credential_id},
                                   {"fingerprint", l_fingerprint},
                                   {"hold_auth", l_hold_auth},
                                   {"set_array_mt", l_set_array_mt},
                                   {NULL, NULL}};
  lua_pushvalue(L, ctxidx);
  luaL_setfuncs(L, funcs, 1);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, core_index);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}
