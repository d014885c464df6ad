/* AWS's request bodies that are not JSON, made from core.prepare's request
 * by the provider table's services (pl_service):
 *
 * core.query_form(provider, api, op, query) -> the form body of a Query API
 * request (EC2, STS): Action and Version, then each parameter in query (by
 * wire name) flattened, every name and value percent-encoded, joined by '&'.
 * Flattening follows botocore's EC2 and Query serializers (serialize.py):
 *   - a list goes out as NAME.1, NAME.2, ... (EC2 lists have no ".member");
 *   - a structure as NAME.Field, its keys camel-cased (cidr_ip -> CidrIp)
 *     and sorted, for a stable body;
 *   - Filter, {["vpc-id"] = {"vpc-1"}}, as Filter.N.Name and
 *     Filter.N.Value.M, the names sorted (a single value is a list of one);
 *   - true and false as "true" and "false", numbers as Lua writes them.
 * The parameters come sorted by name after Action and Version. The Action
 * is the operation's name camel-cased (describe_route_tables ->
 * DescribeRouteTables), the Version its service's query_version.
 *
 * core.xml_body(provider, api, op, body) -> the XML body of a REST-XML
 * request (Route 53): body is prepare's {[wrap] = {...}}; the operation's
 * wrap is the root element, in its service's xmlns, and each body
 * parameter given is an element at its dotted wire name (VPC.VPCId is
 * <VPC><VPCId>), in the order of the table's parameters (botocore's
 * RestXMLSerializer writes a shape's members in order), its text escaped. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pl_buf.h"
#include "pl_lua.h"
#include "pl_provider.h"

typedef struct form {
  const pl_op *op;
  const char *version; /* the Query API's version, or the XML body's namespace */
  pl_buf out;          /* the body so far */
  pl_buf prefix;       /* the name of the value being flattened */
  int bad;             /* out of memory */
} form;

/* "cidr_ip" -> "CidrIp": the first letter and each one after '_' upper-cased, the '_' dropped. */
static void add_camel(form *f, pl_buf *b, const char *s) {
  for (int up = 1; *s; s++) {
    if (s[0] == '_' && isalnum((unsigned char)s[1])) {
      up = 1;
      continue;
    }
    char c = up ? (char)toupper((unsigned char)*s) : *s;
    up = 0;
    f->bad |= pl_buf_add(b, &c, 1);
  }
}

/* One name=value pair: the prefix as the name. */
static void add_pair(form *f, const char *v, size_t n) {
  if (f->out.len) f->bad |= pl_buf_add(&f->out, "&", 1);
  f->bad |= pl_buf_add_escaped(&f->out, f->prefix.data, f->prefix.len) | pl_buf_add(&f->out, "=", 1) |
      pl_buf_add_escaped(&f->out, v, n);
}

static int by_string(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* [-0, +1] The keys of the table at idx, sorted, in an array pushed as a
 * userdata (the strings anchored by the table); its length in *n. A key
 * that is not a string is an error. */
static const char **sorted_keys(lua_State *L, int idx, size_t *n) {
  size_t count = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) count++;
  const char **keys = lua_newuserdatauv(L, (count ? count : 1) * sizeof *keys, 0);
  *n = 0;
  for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "query_form: a structure's keys must be strings");
    keys[(*n)++] = lua_tostring(L, -2);
  }
  qsort(keys, *n, sizeof *keys, by_string);
  return keys;
}

/* [-0, +0] The value at the top, flattened under f->prefix. */
static void flatten(lua_State *L, form *f) {
  luaL_checkstack(L, 4, "query_form: nested too deep");
  int v = lua_gettop(L);
  size_t at = f->prefix.len, n;
  if (lua_type(L, v) == LUA_TBOOLEAN) {
    const char *s = lua_toboolean(L, v) ? "true" : "false";
    add_pair(f, s, strlen(s));
  } else if (lua_type(L, v) != LUA_TTABLE) {
    const char *s = luaL_tolstring(L, v, &n);
    add_pair(f, s, n);
  } else if (lua_rawgeti(L, v, 1) != LUA_TNIL) { /* a list: NAME.1, NAME.2 ... */
    for (lua_Integer i = 1; !lua_isnil(L, -1); lua_rawgeti(L, v, ++i)) {
      char index[24];
      f->bad |= pl_buf_add(&f->prefix, index, (size_t)snprintf(index, sizeof index, ".%lld", (long long)i));
      flatten(L, f);
      lua_pop(L, 1);
      f->prefix.len = at;
    }
  } else { /* a structure: NAME.Field */
    const char **keys = sorted_keys(L, v, &n);
    for (size_t i = 0; i < n; i++) {
      f->bad |= pl_buf_add(&f->prefix, ".", 1);
      add_camel(f, &f->prefix, keys[i]);
      lua_getfield(L, v, keys[i]);
      flatten(L, f);
      lua_pop(L, 1);
      f->prefix.len = at;
    }
  }
  lua_settop(L, v);
}

/* [-0, +0] Filter at the top: Filter.N.Name, Filter.N.Value.M. */
static void filters(lua_State *L, form *f) {
  int t = lua_gettop(L);
  size_t n;
  const char **names = sorted_keys(L, t, &n);
  for (size_t i = 0; i < n; i++) {
    char name[48];
    pl_buf_reset(&f->prefix);
    f->bad |= pl_buf_add(&f->prefix, name, (size_t)snprintf(name, sizeof name, "Filter.%zu.Name", i + 1));
    add_pair(f, names[i], strlen(names[i]));
    pl_buf_reset(&f->prefix);
    f->bad |= pl_buf_add(&f->prefix, name, (size_t)snprintf(name, sizeof name, "Filter.%zu.Value", i + 1));
    if (lua_getfield(L, t, names[i]) != LUA_TTABLE) { /* one value: a list of one */
      lua_createtable(L, 1, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
    }
    flatten(L, f);
    lua_pop(L, 1);
  }
  lua_settop(L, t);
}

/* (form, query): the form, into form->out. */
static int encode(lua_State *L) {
  form *f = lua_touserdata(L, 1);
  f->bad |= pl_buf_addstr(&f->out, "Action=");
  add_camel(f, &f->out, f->op->name);
  f->bad |= pl_buf_addstr(&f->out, "&Version=") | pl_buf_add_escaped(&f->out, f->version, strlen(f->version));
  size_t n;
  const char **names = sorted_keys(L, 2, &n);
  for (size_t i = 0; i < n; i++) {
    lua_getfield(L, 2, names[i]);
    pl_buf_reset(&f->prefix);
    if (strcmp(names[i], "Filter") == 0 && lua_istable(L, -1)) {
      filters(L, f);
    } else {
      f->bad |= pl_buf_addstr(&f->prefix, names[i]);
      flatten(L, f);
    }
    lua_pop(L, 1);
  }
  return 0;
}

/* The provider, operation and service row of a wire call's arguments 1-3
 * (xml: for an XML body, else a Query API's form), or an error naming what
 * is missing. */
static const pl_service *service_of(lua_State *L, const pl_op **op, int xml) {
  const char *what = xml ? "XML body" : "Query API";
  const pl_provider *pv = pl_provider_find(luaL_checkstring(L, 1), luaL_optstring(L, 2, ""));
  *op = pv ? pl_op_find(pv, luaL_checkstring(L, 3)) : NULL;
  luaL_checktype(L, 4, LUA_TTABLE);
  const pl_service *sv = pv && *op ? pv->services : NULL;
  while (sv && sv->name && strcmp(sv->name, (*op)->service) != 0) sv++;
  int has = sv && sv->name && (xml ? sv->xmlns && (*op)->wrap : sv->query_version != NULL);
  if (!has) luaL_error(L, "%s has no %s operation %s", lua_tostring(L, 1), what, lua_tostring(L, 3));
  return sv;
}

/* (form, arguments 1-4 of the call) run protected: an error leaves
 * nothing allocated behind (run frees the buffers). */
static int run(lua_State *L, lua_CFunction encode, form *f) {
  pl_buf_init(&f->out);
  pl_buf_init(&f->prefix);
  lua_pushcfunction(L, encode);
  lua_pushlightuserdata(L, f);
  lua_pushvalue(L, 4);
  int rc = lua_pcall(L, 2, 0, 0);
  if (rc == LUA_OK && !f->bad) lua_pushlstring(L, f->out.data ? f->out.data : "", f->out.len);
  pl_buf_free(&f->out);
  pl_buf_free(&f->prefix);
  if (rc != LUA_OK) return lua_error(L);
  if (f->bad) return luaL_error(L, "out of memory");
  return 1;
}

static int l_query_form(lua_State *L) {
  const pl_op *op;
  const pl_service *sv = service_of(L, &op, 0);
  form f = {.op = op, .version = sv->query_version};
  return run(L, encode, &f);
}

/* Append s[0..n) as XML text: & < > " ' as entities. */
static void add_text(form *f, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *e = s[i] == '&' ? "&amp;"
        : s[i] == '<'           ? "&lt;"
        : s[i] == '>'           ? "&gt;"
        : s[i] == '"'           ? "&quot;"
        : s[i] == '\''          ? "&apos;"
                                : NULL;
    f->bad |= e ? pl_buf_addstr(&f->out, e) : pl_buf_add(&f->out, s + i, 1);
  }
}

static void add_tag(form *f, const char *open, const char *name, size_t n) {
  f->bad |= pl_buf_addstr(&f->out, open) | pl_buf_add(&f->out, name, n) | pl_buf_add(&f->out, ">", 1);
}

/* Close the elements of the dotted names open[0..len) after the first
 * keep characters (a whole name's end, or 0), innermost first. */
static void close_to(form *f, const char *open, size_t len, size_t keep) {
  for (size_t end = len; end > keep;) {
    size_t start = end;
    while (start > keep && open[start - 1] != '.') start--;
    add_tag(f, "</", open + start, end - start);
    end = start > keep ? start - 1 : keep;
  }
}

/* (form, body): the XML document, into form->out. */
static int write_xml(lua_State *L) {
  form *f = lua_touserdata(L, 1);
  const pl_op *op = f->op;
  if (lua_getfield(L, 2, op->wrap) != LUA_TTABLE) luaL_error(L, "xml_body: the body has no %s", op->wrap);
  int body = lua_gettop(L);
  f->bad |= pl_buf_addstr(&f->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<") | pl_buf_addstr(&f->out, op->wrap) |
      pl_buf_addstr(&f->out, " xmlns=\"") | pl_buf_addstr(&f->out, f->version) | pl_buf_addstr(&f->out, "\">");
  const char *open = ""; /* the wire name whose parents are open: they are open up to its last '.' */
  size_t open_len = 0;
  for (const pl_param *p = op->params; p->name; p++) {
    if (p->where != PL_IN_BODY) continue;
    lua_settop(L, body);
    pl_push_at(L, body, 0, p->field, strlen(p->field)); /* the value at the dotted wire name, or skip it */
    size_t n;
    if (lua_type(L, -1) != LUA_TSTRING) continue;
    const char *text = lua_tolstring(L, -1, &n);
    /* the parents this one shares with the open ones stay open; the others close, its own open */
    const char *leaf = strrchr(p->field, '.');
    size_t parents = leaf ? (size_t)(leaf - p->field) : 0, same = 0;
    while (same < parents && same < open_len && p->field[same] == open[same]) same++;
    while (same > 0 && !((same == parents || p->field[same] == '.') && (same == open_len || open[same] == '.')))
      same--; /* back to a whole name */
    close_to(f, open, open_len, same);
    for (size_t at = same; at < parents;) { /* open, outermost first */
      if (p->field[at] == '.') at++;
      size_t end = at;
      while (end < parents && p->field[end] != '.') end++;
      add_tag(f, "<", p->field + at, end - at);
      at = end;
    }
    open = p->field, open_len = parents;
    const char *name = leaf ? leaf + 1 : p->field;
    add_tag(f, "<", name, strlen(name));
    add_text(f, text, n);
    add_tag(f, "</", name, strlen(name));
  }
  close_to(f, open, open_len, 0);
  add_tag(f, "</", op->wrap, strlen(op->wrap));
  return 0;
}

static int l_xml_body(lua_State *L) {
  const pl_op *op;
  const pl_service *sv = service_of(L, &op, 1);
  form f = {.op = op, .version = sv->xmlns};
  return run(L, write_xml, &f);
}

void pl_open_wire(lua_State *L) {
  lua_pushcfunction(L, l_query_form);
  lua_setfield(L, -2, "query_form");
  lua_pushcfunction(L, l_xml_body);
  lua_setfield(L, -2, "xml_body");
}
