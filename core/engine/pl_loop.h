/* The event loop: a libcurl multi handle, a timer heap and poll(2).
 * Lua-free. One loop per lua_State; no globals. Callbacks (timers, finished
 * transfers) run from pl_loop_step and must not call into Lua: they only
 * record what happened and queue the waiting task. */
#ifndef PL_LOOP_H
#define PL_LOOP_H
#include <stdio.h>
#include <stdint.h>
#include "pl_heap.h"

typedef struct pl_loop pl_loop;
typedef struct pl_http pl_http;

/* Counters shown by --stats and peerlua.stats(). */
typedef struct pl_stats {
  uint64_t requests;       /* HTTP exchanges finished (any outcome) */
  uint64_t retries;        /* requests sent again by the retry policy */
  uint64_t throttle_waits; /* times a request waited for the throttle */
  uint64_t bytes_sent;     /* request bodies */
  uint64_t bytes_received; /* response bodies */
} pl_stats;

pl_loop *pl_loop_new(void);    /* NULL when out of memory or curl fails */
void pl_loop_free(pl_loop *l); /* aborts every transfer and timer, no callbacks */

double pl_loop_now(const pl_loop *l); /* monotonic seconds */

/* Arm t to call cb(t, ud) after delay seconds (re-arms if already active). */
int pl_loop_timer_start(pl_loop *l, pl_timer *t, double delay, pl_timer_cb cb, void *ud);
void pl_loop_timer_stop(pl_loop *l, pl_timer *t);

/* Start a prepared transfer; its done callback runs from a later pl_loop_step.
 * Returns 0, or -1 (h->err set, callback not called). */
int pl_loop_start(pl_loop *l, pl_http *h);
/* Abort a running transfer without calling its callback (the caller frees it). */
void pl_loop_abort(pl_loop *l, pl_http *h);

/* Timers armed plus transfers running. */
size_t pl_loop_pending(const pl_loop *l);

/* Wait at most max_wait seconds (0: do not block, <0: until something
 * happens) for sockets or the next timer, then run due timer callbacks and
 * done callbacks. Returns 0, or -1 when poll was interrupted by a signal. */
int pl_loop_step(pl_loop *l, double max_wait);

/* Work done on another thread and finished on the loop's. pl_loop_hold,
 * on the loop's thread when the work is handed over, keeps the loop
 * waiting for it (counted by pl_loop_pending). The other thread then
 * fills in its result and calls pl_loop_post(l, p): p->cb(p, 0) runs from
 * a later pl_loop_step on the loop's thread, and the hold ends. A loop
 * freed while work is held waits for it and calls p->cb(p, 1) (more work
 * may still be held and posted then). The caller may call p->cb(p, 2)
 * itself when the loop is gone: p is only to be freed then. */
typedef struct pl_post pl_post;
struct pl_post {
  void (*cb)(pl_post *p, int closing);
  pl_post *next;
  void *owner; /* for the caller: who waits for it (NULL: nobody any more) */
  int done;    /* for the caller: cb has run */
};
int pl_loop_hold(pl_loop *l);              /* 0, or -1 when out of resources */
void pl_loop_post(pl_loop *l, pl_post *p); /* any thread */

pl_stats *pl_loop_stats(pl_loop *l);

/* The origins (scheme://authority) whose URLs passed pl_http_set_url's
 * checks, so that the next URL of one is not parsed again: a few, the
 * oldest replaced. insecure: what the check was made with. */
#define PL_ORIGIN_MAX 160
#define PL_ORIGINS    4
typedef struct pl_origins {
  struct {
    char text[PL_ORIGIN_MAX];
    size_t len; /* 0: empty slot */
    int insecure;
  } slot[PL_ORIGINS];
  unsigned next; /* the slot to fill next */
} pl_origins;
pl_origins *pl_loop_origins(pl_loop *l);
/* Write one line per finished exchange to f (NULL turns tracing off). */
void pl_loop_set_trace(pl_loop *l, FILE *f, int headers);
FILE *pl_loop_trace(const pl_loop *l);

/* Easy-handle pool used by pl_http (keeps connections and DNS warm). A
 * handle comes back either reset to libcurl's defaults (*configured = 0)
 * or still configured by pl_http for a plain GET (*configured = 1): the
 * put side says which (a handle put back with configured = 0 is reset). */
void *pl_loop_easy_get(pl_loop *l, int *configured);
void pl_loop_easy_put(pl_loop *l, void *easy, int configured);

#endif
