/* Timer heap: ordering, FIFO ties, removal from any position, random churn
 * checked against a sorted reference. */
#include <stdlib.h>

#include "check.h"
#include "pl_heap.h"

static void noop(pl_timer *t, void *ud) {
  (void)t;
  (void)ud;
}

static void test_order(void) {
  pl_heap h;
  pl_timer t[6];
  double when[6] = {5, 1, 4, 1, 3, 2};
  pl_heap_init(&h);
  for (int i = 0; i < 6; i++) {
    pl_timer_init(&t[i]);
    t[i].when = when[i];
    t[i].cb = noop;
    CHECK(pl_heap_push(&h, &t[i]) == 0);
    CHECK(pl_timer_active(&t[i]));
  }
  /* equal deadlines come out in insertion order: t[1] before t[3] */
  pl_timer *expect[6] = {&t[1], &t[3], &t[5], &t[4], &t[2], &t[0]};
  for (int i = 0; i < 6; i++) {
    pl_timer *p = pl_heap_pop(&h);
    CHECK(p == expect[i]);
    CHECK(p && !pl_timer_active(p));
  }
  CHECK(pl_heap_pop(&h) == NULL);
  CHECK(pl_heap_peek(&h) == NULL);
  pl_heap_free(&h);
}

static void test_remove(void) {
  pl_heap h;
  pl_timer t[5];
  pl_heap_init(&h);
  for (int i = 0; i < 5; i++) {
    pl_timer_init(&t[i]);
    t[i].when = i;
    pl_heap_push(&h, &t[i]);
  }
  pl_heap_remove(&h, &t[0]); /* the root */
  pl_heap_remove(&h, &t[3]); /* an inner node */
  pl_heap_remove(&h, &t[3]); /* twice is a no-op */
  CHECK(!pl_timer_active(&t[0]) && !pl_timer_active(&t[3]));
  CHECK(h.n == 3);
  CHECK(pl_heap_pop(&h) == &t[1]);
  CHECK(pl_heap_pop(&h) == &t[2]);
  CHECK(pl_heap_pop(&h) == &t[4]);
  pl_heap_free(&h);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void test_churn(void) {
  enum { N = 2000 };
  static pl_timer t[N];
  static double ref[N];
  pl_heap h;
  pl_heap_init(&h);
  srand(42);
  for (int i = 0; i < N; i++) {
    pl_timer_init(&t[i]);
    t[i].when = rand() % 1000;
    pl_heap_push(&h, &t[i]);
  }
  int n = 0;
  for (int i = 0; i < N; i++) { /* remove every third, keep the rest as reference */
    if (i % 3 == 0)
      pl_heap_remove(&h, &t[i]);
    else
      ref[n++] = t[i].when;
  }
  qsort(ref, (size_t)n, sizeof ref[0], cmp);
  CHECK(h.n == (size_t)n);
  int sorted = 1;
  for (int i = 0; i < n; i++) {
    pl_timer *p = pl_heap_pop(&h);
    if (!p || p->when != ref[i]) sorted = 0;
  }
  CHECK(sorted);
  CHECK(h.n == 0);
  pl_heap_free(&h);
}

int main(void) {
  test_order();
  test_remove();
  test_churn();
  return check_report("heap");
}
