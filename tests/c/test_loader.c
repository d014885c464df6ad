/* The embedded Lua layer (core/binding/lua_loader.c, cmake/embed.c): every
 * module's bytecode loads in this liblua, and a file whose bytecode this
 * liblua refuses loads from its source. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pl_embed.h"

typedef struct dump {
  char data[4096];
  size_t len;
} dump;

static int writer(lua_State *L, const void *p, size_t n, void *ud) {
  (void)L;
  dump *d = ud;
  if (d->len + n > sizeof d->data) return 1;
  memcpy(d->data + d->len, p, n);
  d->len += n;
  return 0;
}

/* Load e as the loader does, run it, and compare the string it returns and
 * the source its chunk names with want and chunkname. */
static int loads_as(lua_State *L, const pl_embed_file *e, const char *want) {
  if (pl_load_embedded(L, e) != 1) {
    fprintf(stderr, "load: %s\n", lua_tostring(L, -1));
    lua_settop(L, 0);
    return 0;
  }
  lua_Debug ar;
  lua_pushvalue(L, -1);
  lua_getinfo(L, ">S", &ar);
  int named = strcmp(ar.source, e->chunkname) == 0;
  lua_call(L, 0, 1);
  int same = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), want) == 0;
  lua_settop(L, 0);
  return named && same;
}

int main(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);

  /* the build's own table: every module's bytecode is accepted as such */
  int n = 0, binary = 0;
  for (const pl_embed_file *e = pl_embed_files; e->module; e++, n++) {
    if (luaL_loadbufferx(L, e->code, e->code_len, e->chunkname, "b") == LUA_OK) binary++;
    lua_settop(L, 0);
  }
  CHECK(n > 40);
  CHECK(binary == n);

  /* a file with both: the bytecode is what runs */
  static const char src[] = "return 'from source'";
  static const char chunk[] = "@lua/peerlua/probe.lua";
  dump code = {.len = 0};
  CHECK(luaL_loadbufferx(L, "return 'from code'", 18, chunk, "t") == LUA_OK);
  CHECK(lua_dump(L, writer, &code, 0) == 0);
  lua_settop(L, 0);
  pl_embed_file e = {"peerlua.probe", chunk, src, sizeof src - 1, code.data, code.len};
  CHECK(loads_as(L, &e, "from code"));

  /* bytecode of another Lua version (the header's version byte): the source */
  dump other = code;
  other.data[4] = 0x53;
  e.code = other.data;
  CHECK(loads_as(L, &e, "from source"));

  /* cut short, or not bytecode at all: the source */
  e.code = code.data;
  e.code_len = 10;
  CHECK(loads_as(L, &e, "from source"));
  e.code = "return 'text, not bytecode'";
  e.code_len = strlen(e.code);
  CHECK(loads_as(L, &e, "from source"));

  /* neither loads: 0 and the source's error */
  e.source = "return (";
  e.len = strlen(e.source);
  CHECK(pl_load_embedded(L, &e) == 0);
  CHECK(lua_isstring(L, -1) && strstr(lua_tostring(L, -1), "probe.lua") != NULL);

  lua_close(L);
  return check_report("loader");
}
