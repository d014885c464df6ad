/* GCRA throttle and the per-key registry. */
#include "pl_gcra.h"

#include <stdlib.h>
#include <string.h>

void pl_gcra_configure(pl_gcra *g, double rate, double burst) {
  if (!(rate > 0)) rate = 1e-9;
  if (!(burst >= 1)) burst = 1;
  g->interval = 1.0 / rate;
  g->tolerance = (burst - 1) * g->interval;
}

void pl_gcra_init(pl_gcra *g, double rate, double burst) {
  g->tat = g->paused_until = 0;
  pl_gcra_configure(g, rate, burst);
}

static double max2(double a, double b) {
  return a > b ? a : b;
}

double pl_gcra_reserve(pl_gcra *g, double now) {
  /* A request may go tolerance ahead of its theoretical arrival time. */
  double start = max2(max2(now, g->tat - g->tolerance), g->paused_until);
  g->tat = max2(g->tat, start) + g->interval;
  return start - now;
}

void pl_gcra_pause_until(pl_gcra *g, double until) {
  g->paused_until = max2(g->paused_until, until);
  g->tat = max2(g->tat, until + g->tolerance);
}

/* ---- registry ---------------------------------------------------------- */

struct pl_throttle_key {
  pl_throttle_key *next;
  pl_gcra gcra;
  int configured; /* gcra set by pl_throttle_get */
  pl_retry_budget budget;
  char name[];
};

void pl_throttle_init(pl_throttle *t) {
  t->head = NULL;
}

void pl_throttle_free(pl_throttle *t) {
  while (t->head) {
    pl_throttle_key *k = t->head;
    t->head = k->next;
    free(k);
  }
}

static pl_throttle_key *lookup(pl_throttle *t, const char *name, int create) {
  for (pl_throttle_key *k = t->head; k; k = k->next)
    if (strcmp(k->name, name) == 0) return k;
  if (!create) return NULL;
  size_t n = strlen(name);
  pl_throttle_key *k = calloc(1, sizeof *k + n + 1);
  if (!k) return NULL;
  memcpy(k->name, name, n + 1);
  pl_retry_budget_init(&k->budget);
  k->next = t->head;
  t->head = k;
  return k;
}

pl_gcra *pl_throttle_get(pl_throttle *t, const char *key, double rate, double burst) {
  pl_throttle_key *k = lookup(t, key, 1);
  if (!k) return NULL;
  if (k->configured) {
    pl_gcra_configure(&k->gcra, rate, burst);
  } else {
    pl_gcra_init(&k->gcra, rate, burst);
    k->configured = 1;
  }
  return &k->gcra;
}

pl_gcra *pl_throttle_find(pl_throttle *t, const char *key) {
  pl_throttle_key *k = lookup(t, key, 0);
  return k && k->configured ? &k->gcra : NULL;
}

pl_retry_budget *pl_throttle_budget(pl_throttle *t, const char *key) {
  pl_throttle_key *k = lookup(t, key, 1);
  return k ? &k->budget : NULL;
}
