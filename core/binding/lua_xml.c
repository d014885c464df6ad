/* core.xml_decode(text) -> value, root name | nil, err: XML (AWS's answers
 * and errors) into Lua tables, with expat (opened on first use, pl_lazy.h).
 *
 * The shape follows how AWS writes XML (EC2, STS, Route 53):
 *   - an element with no child elements is its text ("" when empty);
 *   - an element with children is a table keyed by the child's name;
 *   - children named "item" (EC2's lists) or "member" (STS, IAM) go to
 *     the table's array part, in order: <set><item/><item/></set> is {..,..};
 *   - a name seen twice under one parent becomes a list of its values
 *     (Route 53's <VPCs><VPC/><VPC/></VPCs>): t.VPC = {v1, v2}.
 * So an empty list (<routeSet/>) is "", and a one-element list of a
 * repeated name is the value itself: read lists through a helper that
 * takes both (the AWS provider's list()). Attributes are dropped (AWS puts
 * only xmlns there) and so is text beside child elements.
 *
 * Refused: a DOCTYPE (no entity tricks: nothing AWS sends has one), more
 * than 64 levels, anything expat finds malformed. */
#include <string.h>

#include "pl_buf.h"
#include "pl_lazy.h"
#include "pl_lua.h"

#define MAX_DEPTH 64
#define REPEAT_MT "peerlua.xml.repeat" /* marks a list made of a repeated name */

typedef struct xml_parse {
  XML_Parser parser;
  lua_State *L;
  int depth;
  int children[MAX_DEPTH + 1]; /* does the element at each depth have child elements */
  pl_buf text;                 /* the current element's text */
  const char *error;           /* why parsing stopped, or NULL */
} xml_parse;

static void stop(xml_parse *x, const char *why) {
  if (!x->error) x->error = why;
  XML_StopParser(x->parser, XML_FALSE);
}

static int is_list_item(const char *name) {
  return strcmp(name, "item") == 0 || strcmp(name, "member") == 0;
}

/* The stack holds, from x's base: the root's holder table, then one
 * (name, table) pair per open element. */
static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
  (void)attrs;
  xml_parse *x = ud;
  if (x->error) return;
  if (x->depth >= MAX_DEPTH) return stop(x, "nested more than 64 levels deep");
  if (!lua_checkstack(x->L, 8)) return stop(x, "out of stack space"); /* 2 here, 5 more in attach */
  x->children[x->depth] = 1;                                          /* the parent has a child element */
  x->depth++;
  x->children[x->depth] = 0;
  x->text.len = 0; /* text beside child elements is dropped */
  lua_pushstring(x->L, name);
  lua_newtable(x->L);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
  xml_parse *x = ud;
  if (x->error || x->depth == 0 || x->children[x->depth]) return;
  if (pl_buf_add(&x->text, s, (size_t)len) != 0) stop(x, "out of memory");
}

/* [-2, +0] Put the value at the top under the name below it into the
 * parent table below them. */
static void attach(lua_State *L) {
  int parent = lua_gettop(L) - 2;
  const char *name = lua_tostring(L, -2);
  if (is_list_item(name)) {
    lua_rawseti(L, parent, (lua_Integer)lua_rawlen(L, parent) + 1);
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, -2);
  int had = lua_rawget(L, parent); /* parent name value old */
  if (had == LUA_TNIL) {
    lua_pop(L, 1);
    lua_rawset(L, parent);
    return;
  }
  int repeat = 0;
  if (had == LUA_TTABLE && lua_getmetatable(L, -1)) {
    luaL_getmetatable(L, REPEAT_MT);
    repeat = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  if (!repeat) { /* the second of this name: make the list {old} */
    lua_createtable(L, 2, 0);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    luaL_setmetatable(L, REPEAT_MT);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -2);
    lua_rawset(L, parent); /* parent name value list */
  }
  lua_insert(L, -2); /* parent name list value */
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 2);
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
  (void)name;
  xml_parse *x = ud;
  if (x->error) return;
  if (!x->children[x->depth]) { /* a leaf: its text replaces the table */
    lua_pop(x->L, 1);
    lua_pushlstring(x->L, x->text.data ? x->text.data : "", x->text.len);
  }
  x->text.len = 0;
  x->depth--;
  attach(x->L);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int internal) {
  (void)name, (void)sysid, (void)pubid, (void)internal;
  stop(ud, "a DOCTYPE is not accepted");
}

static int parse_gc(lua_State *L) {
  xml_parse *x = lua_touserdata(L, 1);
  if (x->parser) XML_ParserFree(x->parser);
  x->parser = NULL;
  pl_buf_free(&x->text);
  return 0;
}

/* [-0, +2] nil and an "invalid" error: "XML: why (line N)". */
static int xml_failed(lua_State *L, const char *why, unsigned long line) {
  lua_pushnil(L);
  const char *msg = line ? lua_pushfstring(L, "XML: %s (line %d)", why, (int)line) : lua_pushfstring(L, "XML: %s", why);
  pl_push_error(L, "invalid", msg);
  lua_remove(L, -2);
  return 2;
}

int pl_xml_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *why = pl_lazy_expat();
  if (why) return xml_failed(L, why, 0);
  lua_settop(L, 1);
  xml_parse *x = lua_newuserdatauv(L, sizeof *x, 0); /* 2: freed by __gc even if Lua raises */
  memset(x, 0, sizeof *x);
  if (luaL_newmetatable(L, "peerlua.xml.parse")) {
    lua_pushcfunction(L, parse_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  x->L = L;
  x->parser = XML_ParserCreate(NULL);
  if (!x->parser) return luaL_error(L, "out of memory");
  XML_SetUserData(x->parser, x);
  XML_SetElementHandler(x->parser, on_start, on_end);
  XML_SetCharacterDataHandler(x->parser, on_text);
  XML_SetStartDoctypeDeclHandler(x->parser, on_doctype);
  luaL_newmetatable(L, REPEAT_MT);
  lua_pop(L, 1);
  lua_newtable(L); /* 3: holds the root */
  int ok = XML_Parse(x->parser, s, (int)(len > 0x7fffffff ? 0x7fffffff : len), XML_TRUE) == XML_STATUS_OK;
  if (len > 0x7fffffff) return xml_failed(L, "document too large", 0);
  if (x->error || !ok) {
    unsigned long line = (unsigned long)XML_GetCurrentLineNumber(x->parser);
    return xml_failed(L, x->error ? x->error : XML_ErrorString(XML_GetErrorCode(x->parser)), line);
  }
  lua_settop(L, 3);
  lua_pushnil(L);
  if (!lua_next(L, 3)) return xml_failed(L, "no root element", 0);
  lua_insert(L, -2); /* value, root name */
  return 2;
}

void pl_open_xml(lua_State *L) {
  lua_pushcfunction(L, pl_xml_decode);
  lua_setfield(L, -2, "xml_decode");
}
