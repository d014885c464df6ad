#include "pl_pool.h"

#include <stdlib.h>
#include <string.h>

#define GRAIN   16 /* size classes of 16, 32, ... PL_POOL_MAX bytes */
#define CLASSES (PL_POOL_MAX / GRAIN)
#define CHUNK   (64 * 1024)

typedef struct block {
  struct block *next;
} block;

typedef struct chunk {
  struct chunk *next;
  _Alignas(16) unsigned char data[];
} chunk;

struct pl_pool {
  block *free[CLASSES];
  chunk *chunks;
  unsigned char *cur, *end; /* the unused part of the newest chunk */
};

pl_pool *pl_pool_new(void) {
  return calloc(1, sizeof(pl_pool));
}

void pl_pool_free(pl_pool *p) {
  if (!p) return;
  for (chunk *c = p->chunks, *next; c; c = next) next = c->next, free(c);
  free(p);
}

static size_t class_of(size_t size) {
  return (size + GRAIN - 1) / GRAIN - 1;
}

static void *take(pl_pool *p, size_t cls) {
  block *b = p->free[cls];
  if (b) {
    p->free[cls] = b->next;
    return b;
  }
  size_t size = (cls + 1) * GRAIN;
  if ((size_t)(p->end - p->cur) < size) {
    chunk *c = malloc(sizeof(chunk) + CHUNK);
    if (!c) return NULL;
    c->next = p->chunks;
    p->chunks = c;
    p->cur = c->data;
    p->end = c->data + CHUNK; /* the old chunk's rest is left unused: at most PL_POOL_MAX bytes */
  }
  void *r = p->cur;
  p->cur += size;
  return r;
}

static void give(pl_pool *p, void *ptr, size_t cls) {
  block *b = ptr;
  b->next = p->free[cls];
  p->free[cls] = b;
}

/* Lua's contract (lua_Alloc): ptr NULL means osize is a type tag, not a size. */
void *pl_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
#ifdef __SANITIZE_ADDRESS__ /* every block the C library's, where AddressSanitizer watches each */
  (void)ud, (void)osize;
  if (nsize == 0) return free(ptr), NULL;
  return realloc(ptr, nsize);
#endif
  pl_pool *p = ud;
  if (!ptr) osize = 0;
  int small_old = ptr && osize <= PL_POOL_MAX, small_new = nsize > 0 && nsize <= PL_POOL_MAX;
  if (nsize == 0) {
    if (small_old)
      give(p, ptr, class_of(osize));
    else
      free(ptr);
    return NULL;
  }
  if (!ptr) return small_new ? take(p, class_of(nsize)) : malloc(nsize);
  if (small_old && small_new && class_of(osize) == class_of(nsize)) return ptr;
  if (!small_old && !small_new) return realloc(ptr, nsize);
  void *r = small_new ? take(p, class_of(nsize)) : malloc(nsize);
  if (!r) return NULL; /* Lua keeps the old block */
  memcpy(r, ptr, osize < nsize ? osize : nsize);
  if (small_old)
    give(p, ptr, class_of(osize));
  else
    free(ptr);
  return r;
}
