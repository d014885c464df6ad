/* The Lua layer compiled into the binary and the module (see cmake/embed.c). */
#ifndef PL_EMBED_H
#define PL_EMBED_H
#include <stddef.h>

typedef struct pl_embed_file {
  const char *module;    /* "peerlua", "peerlua.json", "peerlua.sim.router" */
  const char *chunkname; /* "@lua/peerlua/json.lua" */
  const char *source;
  size_t len;
  const char *code; /* the source compiled by the build's liblua (lua_dump, debug info kept) */
  size_t code_len;
} pl_embed_file;

extern const pl_embed_file pl_embed_files[]; /* ends with module == NULL */

struct lua_State;
/* [-0, +1] Load e's bytecode, or its source when this liblua refuses the
 * bytecode: 1 with the chunk pushed, 0 with the error message pushed. */
int pl_load_embedded(struct lua_State *L, const pl_embed_file *e);

#endif
