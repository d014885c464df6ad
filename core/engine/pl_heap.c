#include "pl_heap.h"

#include <stdlib.h>

void pl_timer_init(pl_timer *t) {
  t->when = 0;
  t->seq = 0;
  t->slot = PL_TIMER_IDLE;
  t->cb = NULL;
  t->ud = NULL;
}

void pl_heap_init(pl_heap *h) {
  h->v = NULL;
  h->n = h->cap = 0;
  h->seq = 0;
}

void pl_heap_free(pl_heap *h) {
  for (size_t i = 0; i < h->n; i++) h->v[i]->slot = PL_TIMER_IDLE;
  free(h->v);
  pl_heap_init(h);
}

static int before(const pl_timer *a, const pl_timer *b) {
  return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void place(pl_heap *h, size_t i, pl_timer *t) {
  h->v[i] = t;
  t->slot = i;
}

static void sift_up(pl_heap *h, size_t i) {
  pl_timer *t = h->v[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(t, h->v[parent])) break;
    place(h, i, h->v[parent]);
    i = parent;
  }
  place(h, i, t);
}

static void sift_down(pl_heap *h, size_t i) {
  pl_timer *t = h->v[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && before(h->v[c + 1], h->v[c])) c++;
    if (!before(h->v[c], t)) break;
    place(h, i, h->v[c]);
    i = c;
  }
  place(h, i, t);
}

int pl_heap_push(pl_heap *h, pl_timer *t) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    pl_timer **v = realloc(h->v, cap * sizeof *v);
    if (!v) return -1;
    h->v = v;
    h->cap = cap;
  }
  t->seq = h->seq++;
  place(h, h->n++, t);
  sift_up(h, t->slot);
  return 0;
}

pl_timer *pl_heap_peek(const pl_heap *h) {
  return h->n ? h->v[0] : NULL;
}

void pl_heap_remove(pl_heap *h, pl_timer *t) {
  size_t i = t->slot;
  if (i == PL_TIMER_IDLE || i >= h->n || h->v[i] != t) return;
  t->slot = PL_TIMER_IDLE;
  pl_timer *last = h->v[--h->n];
  if (last == t) return;
  place(h, i, last);
  if (i > 0 && before(last, h->v[(i - 1) / 2]))
    sift_up(h, i);
  else
    sift_down(h, i);
}

pl_timer *pl_heap_pop(pl_heap *h) {
  pl_timer *t = pl_heap_peek(h);
  if (t) pl_heap_remove(h, t);
  return t;
}
