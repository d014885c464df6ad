/* A small-block allocator for one Lua state (lua_Alloc): blocks of up to
 * PL_POOL_MAX bytes come from free lists by size class, carved from
 * chunks that are given back only when the pool is freed; larger blocks
 * go to the C library. A Lua state frees and makes many small objects
 * (tables, strings, closures) on every request; glibc's per-thread cache
 * holds only a few of each size, so after a collection most of them went
 * the slow way. Not thread-safe: one state, one thread at a time. Under
 * AddressSanitizer every block is the C library's, so that it watches
 * each. Measured: the emulator's /_test with ab -k -c 50, 40.5-41.6k
 * req/s with malloc, 45.7-47.9k with the pool (3 runs each, alternating). */
#ifndef PL_POOL_H
#define PL_POOL_H
#include <stddef.h>

#define PL_POOL_MAX 256

typedef struct pl_pool pl_pool;

pl_pool *pl_pool_new(void); /* NULL when out of memory */
void pl_pool_free(pl_pool *p);
/* lua_Alloc: ud is the pool */
void *pl_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
