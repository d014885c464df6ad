/* Retry policy: full-jitter exponential backoff bounded by an attempt cap
 * and a deadline, Retry-After parsing, and a retry budget that stops retry
 * storms when a provider is down. Pure functions of their inputs (time and
 * randomness are passed in), so they are unit tested directly. */
#ifndef PL_RETRY_H
#define PL_RETRY_H

typedef struct pl_retry_policy {
  int max_attempts; /* attempts in all, the first included (>= 1) */
  double base;      /* backoff of the first retry, seconds */
  double cap;       /* longest backoff, seconds */
  double deadline;  /* no retry starts later than this after the first attempt */
} pl_retry_policy;

/* Seconds to wait before the next attempt after `retries` retries already
 * made, or -1 to give up. retry_after < 0 when the provider sent none;
 * otherwise it is waited for (it wins over the backoff). elapsed: seconds
 * since the first attempt. u in [0, 1): the jitter. */
double pl_retry_next_delay(const pl_retry_policy *p, int retries, double retry_after, double elapsed, double u);

/* Parse a Retry-After value: delay-seconds or an HTTP-date (IMF-fixdate,
 * RFC 850 or asctime form, RFC 9110 section 10.2.3), now being the current
 * Unix time. Sets *delay (>= 0, a date in the past gives 0). Returns 0, or
 * -1 when the value is neither. */
int pl_retry_after_parse(const char *value, double now, double *delay);
#define PL_RETRY_AFTER_MAX 86400.0 /* longer waits are read as a day */

/* Retry budget: a token bucket that starts full. Each retry takes
 * PL_RETRY_COST tokens (a timeout twice that: it held a connection for the
 * whole timeout), each success puts PL_RETRY_REFUND back. When a provider
 * fails for everyone, retries stop after the budget is spent, and resume
 * as successes return. At 20% failures it never runs dry. */
#define PL_RETRY_BUDGET 20.0
#define PL_RETRY_COST   1.0
#define PL_RETRY_REFUND 0.5

typedef struct pl_retry_budget {
  double tokens;
} pl_retry_budget;

void pl_retry_budget_init(pl_retry_budget *b);
/* 1 if a retry may be made (tokens taken), 0 if the budget is spent. */
int pl_retry_budget_take(pl_retry_budget *b, int timeout);
void pl_retry_budget_refund(pl_retry_budget *b);

#endif
