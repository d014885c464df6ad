/* Throttling: GCRA (generic cell rate algorithm) per key, as a scheduler
 * rather than a gate: reserving a slot says how long to wait before
 * sending, so waiting callers queue in order instead of polling. Time is
 * passed in (seconds on any monotonic clock), which keeps it testable. */
#ifndef PL_GCRA_H
#define PL_GCRA_H
#include "pl_retry.h"

typedef struct pl_gcra {
  double interval;     /* seconds between requests at the steady rate: 1 / rate */
  double tolerance;    /* how far ahead of schedule a burst may run: (burst - 1) * interval */
  double tat;          /* theoretical arrival time of the next request */
  double paused_until; /* nobody sends before this (a provider's Retry-After) */
} pl_gcra;

/* rate > 0 requests per second, burst >= 1 requests at once. */
void pl_gcra_init(pl_gcra *g, double rate, double burst);
/* Change rate and burst, keeping the schedule. */
void pl_gcra_configure(pl_gcra *g, double rate, double burst);
/* Take the next slot at time now: the seconds to wait before sending (0: at once). */
double pl_gcra_reserve(pl_gcra *g, double now);
/* The provider asked everyone to wait until `until`: no slot before it, and
 * no burst right after it either (requests resume at the steady rate). */
void pl_gcra_pause_until(pl_gcra *g, double until);

/* The keys of one Lua state ("provider:credential"): a throttle and a retry
 * budget each, shared by every client of that account. */
typedef struct pl_throttle_key pl_throttle_key;
typedef struct pl_throttle {
  pl_throttle_key *head;
} pl_throttle;

void pl_throttle_init(pl_throttle *t);
void pl_throttle_free(pl_throttle *t);
/* The throttle of key, created or reconfigured with rate and burst; NULL when out of memory. */
pl_gcra *pl_throttle_get(pl_throttle *t, const char *key, double rate, double burst);
/* The throttle of key, or NULL if it was never configured. */
pl_gcra *pl_throttle_find(pl_throttle *t, const char *key);
/* The retry budget of key, created full on first use; NULL when out of memory. */
pl_retry_budget *pl_throttle_budget(pl_throttle *t, const char *key);

#endif
