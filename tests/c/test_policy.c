/* Throttle (GCRA with an injected clock), backoff, Retry-After and the
 * retry budget. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "pl_gcra.h"
#include "pl_retry.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

/* Send n requests as early as the throttle allows, starting at t0; return
 * the time the last one went out, and fill sent[] with every send time. */
static double run(pl_gcra *g, double t0, int n, double *sent) {
  double last = t0;
  for (int i = 0; i < n; i++) {
    last = t0 + pl_gcra_reserve(g, t0);
    if (sent) sent[i] = last;
  }
  return last;
}

/* Most requests sent in any window [t, t + 1). */
static int busiest_second(const double *sent, int n) {
  int best = 0;
  for (int i = 0; i < n; i++) {
    int k = 0;
    for (int j = i; j < n && sent[j] < sent[i] + 1 - 1e-12; j++) k++;
    if (k > best) best = k;
  }
  return best;
}

static void test_gcra(void) {
  pl_gcra g;
  double sent[200];

  /* 35/s, burst 1: requests reserved at once are spaced 1/35 s apart */
  pl_gcra_init(&g, 35, 1);
  run(&g, 100, 200, sent);
  CHECK(NEAR(sent[0], 100));
  CHECK(NEAR(sent[1] - sent[0], 1.0 / 35));
  CHECK(NEAR(sent[199], 100 + 199.0 / 35));
  CHECK(busiest_second(sent, 200) <= 35);
  CHECK(busiest_second(sent, 200) >= 35);

  /* burst 5: five at once, then the steady rate; any second holds at most rate + burst - 1 */
  pl_gcra_init(&g, 10, 5);
  run(&g, 0, 100, sent);
  CHECK(NEAR(sent[4], 0));
  CHECK(NEAR(sent[5], 0.1));
  CHECK(busiest_second(sent, 100) <= 10 + 4);

  /* idle time earns no more than the burst */
  pl_gcra_init(&g, 10, 3);
  run(&g, 0, 3, NULL);
  CHECK(NEAR(pl_gcra_reserve(&g, 1000), 0));
  CHECK(NEAR(pl_gcra_reserve(&g, 1000), 0));
  CHECK(NEAR(pl_gcra_reserve(&g, 1000), 0));
  CHECK(NEAR(pl_gcra_reserve(&g, 1000), 0.1));

  /* a pause (Retry-After) holds everyone, then resumes at the steady rate */
  pl_gcra_init(&g, 10, 5);
  pl_gcra_pause_until(&g, 50);
  CHECK(NEAR(pl_gcra_reserve(&g, 40), 10));
  CHECK(NEAR(pl_gcra_reserve(&g, 40), 10.1));
  CHECK(NEAR(pl_gcra_reserve(&g, 60), 0)); /* later on, the burst is back */

  /* reconfiguring keeps the schedule */
  pl_gcra_init(&g, 1, 1);
  CHECK(NEAR(pl_gcra_reserve(&g, 0), 0));
  pl_gcra_configure(&g, 2, 1);
  CHECK(NEAR(pl_gcra_reserve(&g, 0), 1));
  CHECK(NEAR(pl_gcra_reserve(&g, 0), 1.5));
}

static void test_registry(void) {
  pl_throttle t;
  pl_throttle_init(&t);
  CHECK(pl_throttle_find(&t, "instaclustr:bob") == NULL);
  pl_gcra *a = pl_throttle_get(&t, "instaclustr:bob", 35, 1);
  CHECK(a && pl_throttle_find(&t, "instaclustr:bob") == a);
  CHECK(pl_throttle_get(&t, "instaclustr:bob", 20, 1) == a); /* shared, reconfigured */
  CHECK(NEAR(a->interval, 1.0 / 20));
  pl_gcra *b = pl_throttle_get(&t, "instaclustr:alice", 35, 1);
  CHECK(b && b != a);
  pl_retry_budget *rb = pl_throttle_budget(&t, "upcloud:carol"); /* budget alone: no throttle */
  CHECK(rb && pl_throttle_find(&t, "upcloud:carol") == NULL);
  CHECK(pl_throttle_budget(&t, "upcloud:carol") == rb);
  pl_throttle_free(&t);
  CHECK(t.head == NULL);
}

static void test_backoff(void) {
  pl_retry_policy p = {5, 0.5, 4, 60};
  CHECK(NEAR(pl_retry_next_delay(&p, 0, -1, 0, 0.5), 0.25));        /* u * base */
  CHECK(NEAR(pl_retry_next_delay(&p, 2, -1, 0, 0.5), 1));           /* u * base * 4 */
  CHECK(NEAR(pl_retry_next_delay(&p, 3, -1, 0, 0.999), 0.999 * 4)); /* capped */
  CHECK(pl_retry_next_delay(&p, 3, -1, 0, 0) == 0);                 /* full jitter reaches 0 */
  CHECK(pl_retry_next_delay(&p, 4, -1, 0, 0.5) == -1);              /* 5 attempts made */
  CHECK(NEAR(pl_retry_next_delay(&p, 0, 7, 0, 0.5), 7));            /* Retry-After wins */
  CHECK(pl_retry_next_delay(&p, 0, 7, 55, 0.5) == -1);              /* past the deadline */
  CHECK(pl_retry_next_delay(&p, 1, -1, 59.9, 0.5) == -1);
  pl_retry_policy once = {1, 0.5, 4, 60};
  CHECK(pl_retry_next_delay(&once, 0, -1, 0, 0.5) == -1);
  pl_retry_policy huge = {1000, 1, 1e9, 1e12};
  double d = pl_retry_next_delay(&huge, 900, -1, 0, 0.5); /* no overflow */
  CHECK(d > 0 && isfinite(d));
}

static void test_retry_after(void) {
  double d = -1, now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
  CHECK(pl_retry_after_parse("120", now, &d) == 0 && NEAR(d, 120));
  CHECK(pl_retry_after_parse(" 0 ", now, &d) == 0 && NEAR(d, 0));
  CHECK(pl_retry_after_parse("1.5", now, &d) == 0 && NEAR(d, 1.5));
  CHECK(pl_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now - 30, &d) == 0 && NEAR(d, 30));
  CHECK(pl_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", now - 30, &d) == 0 && NEAR(d, 30));
  CHECK(pl_retry_after_parse("Sun Nov  6 08:49:37 1994", now - 30, &d) == 0 && NEAR(d, 30));
  CHECK(pl_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now + 99, &d) == 0 && d == 0); /* past */
  /* leap day; expected from `date -u -d 2040-02-29 +%s` */
  CHECK(pl_retry_after_parse("Wed, 29 Feb 2040 00:00:00 GMT", 2214086400.0 - 60, &d) == 0 && NEAR(d, 60));
  /* absurd waits (found by fuzzing: 400 digits parsed to infinity) are read as a day */
  char huge[401];
  memset(huge, '9', 400);
  huge[400] = '\0';
  CHECK(pl_retry_after_parse(huge, now, &d) == 0 && d == PL_RETRY_AFTER_MAX);
  CHECK(pl_retry_after_parse("Wed, 29 Feb 2040 00:00:00 GMT", 0, &d) == 0 && d == PL_RETRY_AFTER_MAX);
  static const char *const bad[] = {"",
                                    "soon",
                                    "-5",
                                    "12s",
                                    "1e3",
                                    "Sun, 06 Nov 1994 08:49:37",
                                    "Sun, 06 Foo 1994 08:49:37 GMT",
                                    "Sun, 32 Nov 1994 08:49:37 GMT",
                                    "Sun, 06 Nov 1994 24:00:00 GMT",
                                    "Sun, 6 Nov 1994 08:49:37 GMT",
                                    NULL};
  for (int i = 0; bad[i]; i++) CHECK(pl_retry_after_parse(bad[i], now, &d) == -1);
}

static void test_budget(void) {
  pl_retry_budget b;
  pl_retry_budget_init(&b);
  int n = 0;
  while (pl_retry_budget_take(&b, 0)) n++; /* a provider down: retries stop */
  CHECK(n == (int)(PL_RETRY_BUDGET / PL_RETRY_COST));
  pl_retry_budget_refund(&b);
  pl_retry_budget_refund(&b);
  CHECK(pl_retry_budget_take(&b, 0)); /* successes earn retries back */
  CHECK(!pl_retry_budget_take(&b, 0));
  /* 20% of requests failing: one retry per four successes never runs dry */
  pl_retry_budget_init(&b);
  int refused = 0;
  for (int i = 0; i < 10000; i++) {
    if (i % 5 == 0)
      refused += !pl_retry_budget_take(&b, i % 10 == 0);
    else
      pl_retry_budget_refund(&b);
  }
  CHECK(refused == 0);
  for (int i = 0; i < 1000; i++) pl_retry_budget_refund(&b);
  CHECK(b.tokens <= PL_RETRY_BUDGET); /* capped */
}

int main(void) {
  test_gcra();
  test_registry();
  test_backoff();
  test_retry_after();
  test_budget();
  return check_report("policy");
}
