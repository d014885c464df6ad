/* TEMPORARY stub so the tree builds while the scheduler lands. */
#include <string.h>
#include "peerlua.h"
#include "pl_embed.h"

pl_ctx *pl_ctx_of(lua_State *L) { (void)L; return NULL; }
static int msgh(lua_State *L) {
  const char *m = lua_tostring(L, 1);
  luaL_traceback(L, L, m ? m : "(error object)", 1);
  return 1;
}
int pl_run(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msgh);
  lua_insert(L, base);
  int st = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return st;
}
int pl_drain(lua_State *L) { (void)L; return LUA_OK; }
void pl_set_interrupt(lua_State *L, volatile sig_atomic_t *flag) { (void)L; (void)flag; }
lua_State *pl_running_thread(lua_State *L) { (void)L; return NULL; }
void pl_set_trace(lua_State *L, FILE *f) { (void)L; (void)f; }
void pl_print_stats(lua_State *L, FILE *f) { (void)L; fprintf(f, "peerlua: requests 0\n"); }
int luaopen_peerlua(lua_State *L) {
  for (const pl_embed_file *e = pl_embed_files; e->module; e++) {
    if (strcmp(e->module, "peerlua") == 0) {
      luaL_loadbuffer(L, e->source, e->len, e->chunkname);
      lua_newtable(L);
      lua_pushliteral(L, PEERLUA_VERSION);
      lua_setfield(L, -2, "version");
      lua_call(L, 1, 1);
      return 1;
    }
  }
  return luaL_error(L, "embedded peerlua missing");
}
