/* A binary min-heap of timers ordered by deadline, FIFO among equal deadlines.
 * Timers are embedded in their owners; the heap only stores pointers. */
#ifndef PL_HEAP_H
#define PL_HEAP_H
#include <stddef.h>
#include <stdint.h>

#define PL_TIMER_IDLE ((size_t)-1)

typedef struct pl_timer pl_timer;
typedef void (*pl_timer_cb)(pl_timer *t, void *ud);

struct pl_timer {
  double when;  /* absolute deadline, loop clock seconds */
  uint64_t seq; /* insertion order, breaks ties */
  size_t slot;  /* position in the heap, PL_TIMER_IDLE when not queued */
  pl_timer_cb cb;
  void *ud;
};

typedef struct pl_heap {
  pl_timer **v;
  size_t n, cap;
  uint64_t seq;
} pl_heap;

void pl_timer_init(pl_timer *t);
static inline int pl_timer_active(const pl_timer *t) {
  return t->slot != PL_TIMER_IDLE;
}

void pl_heap_init(pl_heap *h);
void pl_heap_free(pl_heap *h);                /* frees the array, not the timers */
int pl_heap_push(pl_heap *h, pl_timer *t);    /* 0 ok, -1 out of memory; t must be idle */
pl_timer *pl_heap_peek(const pl_heap *h);     /* earliest, or NULL */
pl_timer *pl_heap_pop(pl_heap *h);            /* removes and returns the earliest, or NULL */
void pl_heap_remove(pl_heap *h, pl_timer *t); /* no-op if t is idle */

#endif
