/* The small-block allocator: contents kept across every kind of resize
 * (within a class, between classes, small to large and back), freed blocks
 * reused, no two live blocks overlapping; random churn checked against a
 * pattern written into each block. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pl_pool.h"

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed * 31 + i);
}

static int holds(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(seed * 31 + i)) return 0;
  return 1;
}

static void test_resizes(pl_pool *pool) {
  size_t sizes[] = {1, 16, 17, 100, PL_POOL_MAX, PL_POOL_MAX + 1, 5000, 40, 3};
  size_t n = sizeof sizes / sizeof sizes[0];
  unsigned char *p = pl_pool_alloc(pool, NULL, 5 /* a type tag, not a size */, sizes[0]);
  CHECK(p != NULL);
  fill(p, sizes[0], 7);
  for (size_t i = 1; i < n; i++) {
    size_t keep = sizes[i - 1] < sizes[i] ? sizes[i - 1] : sizes[i];
    unsigned char *q = pl_pool_alloc(pool, p, sizes[i - 1], sizes[i]);
    CHECK(q != NULL);
    CHECK(holds(q, keep, 7));
    CHECK(((uintptr_t)q & 15) == 0); /* aligned as malloc's */
    fill(q, sizes[i], 7);
    p = q;
  }
  CHECK(pl_pool_alloc(pool, p, sizes[n - 1], 0) == NULL);
}

static void test_reuse(pl_pool *pool) {
#ifdef __SANITIZE_ADDRESS__ /* the pool is the C library's then (pl_pool.c) */
  (void)pool;
  return;
#endif
  void *a = pl_pool_alloc(pool, NULL, 0, 24);
  CHECK(pl_pool_alloc(pool, a, 24, 0) == NULL);
  void *b = pl_pool_alloc(pool, NULL, 0, 32); /* the same class: the freed block again */
  CHECK(a == b);
  pl_pool_alloc(pool, b, 32, 0);
}

#define LIVE 2000
static void test_churn(pl_pool *pool) {
  unsigned char *blk[LIVE] = {0};
  size_t size[LIVE] = {0};
  srand(42);
  for (int round = 0; round < 200000; round++) {
    int i = rand() % LIVE;
    size_t want = (size_t)(rand() % 4 ? rand() % (PL_POOL_MAX + 1) : rand() % 3000);
    if (blk[i] && !holds(blk[i], size[i], (unsigned)i)) {
      CHECK(!"a live block was overwritten");
      return;
    }
    unsigned char *q = pl_pool_alloc(pool, blk[i], blk[i] ? size[i] : 0, want);
    if (want == 0) {
      CHECK(q == NULL);
      blk[i] = NULL;
      size[i] = 0;
      continue;
    }
    CHECK(q != NULL);
    blk[i] = q;
    size[i] = want;
    fill(q, want, (unsigned)i);
  }
  for (int i = 0; i < LIVE; i++) {
    CHECK(!blk[i] || holds(blk[i], size[i], (unsigned)i));
    if (blk[i]) pl_pool_alloc(pool, blk[i], size[i], 0);
  }
}

int main(void) {
  pl_pool *pool = pl_pool_new();
  CHECK(pool != NULL);
  test_resizes(pool);
  test_reuse(pool);
  test_churn(pool);
  pl_pool_free(pool);
  pl_pool_free(NULL);
  return check_report("pool");
}
