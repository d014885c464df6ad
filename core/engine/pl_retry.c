/* Backoff, Retry-After and the retry budget. */
#include "pl_retry.h"

#include <math.h>
#include <string.h>

double pl_retry_next_delay(const pl_retry_policy *p, int retries, double retry_after, double elapsed, double u) {
  if (retries + 1 >= p->max_attempts) return -1;
  double delay;
  if (retry_after >= 0) {
    delay = retry_after;
  } else {
    /* full jitter: uniform in [0, min(cap, base * 2^retries)) */
    double ceiling = p->base * ldexp(1.0, retries > 60 ? 60 : retries);
    delay = u * (ceiling < p->cap ? ceiling : p->cap);
  }
  if (elapsed + delay > p->deadline) return -1;
  return delay;
}

/* ---- Retry-After ------------------------------------------------------- */

typedef struct cursor {
  const char *s;
  int ok;
} cursor;

/* n digits exactly (n > 0), or 1..-n digits (n < 0). */
static int digits(cursor *c, int n) {
  int v = 0, k = 0, max = n < 0 ? -n : n;
  while (k < max && c->s[k] >= '0' && c->s[k] <= '9') v = v * 10 + (c->s[k++] - '0');
  if (k == 0 || (n > 0 && k != n)) c->ok = 0;
  c->s += k;
  return v;
}

static void lit(cursor *c, const char *text) {
  size_t n = strlen(text);
  if (strncmp(c->s, text, n) != 0)
    c->ok = 0;
  else
    c->s += n;
}

static void spaces(cursor *c, int at_least) {
  int k = 0;
  while (*c->s == ' ') c->s++, k++;
  if (k < at_least) c->ok = 0;
}

static int month(cursor *c) {
  static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  for (int m = 0; m < 12; m++)
    if (strncmp(c->s, names + 3 * m, 3) == 0) {
      c->s += 3;
      return m + 1;
    }
  c->ok = 0;
  return 1;
}

static void clock_time(cursor *c, int *h, int *mi, int *se) {
  *h = digits(c, 2);
  lit(c, ":");
  *mi = digits(c, 2);
  lit(c, ":");
  *se = digits(c, 2);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long days_from_civil(long y, int m, int d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* An HTTP-date as Unix time, or -1. */
static double http_date(const char *s) {
  cursor c = {s, 1};
  int y, mo, d, h, mi, se;
  while ((*c.s >= 'A' && *c.s <= 'Z') || (*c.s >= 'a' && *c.s <= 'z')) c.s++; /* day name */
  if (*c.s == ',') {                                                          /* IMF-fixdate or RFC 850 */
    c.s++;
    spaces(&c, 1);
    d = digits(&c, 2);
    if (*c.s == '-') { /* RFC 850: 06-Nov-94 */
      lit(&c, "-");
      mo = month(&c);
      lit(&c, "-");
      y = digits(&c, 2);
      y += y < 70 ? 2000 : 1900;
    } else {
      spaces(&c, 1);
      mo = month(&c);
      spaces(&c, 1);
      y = digits(&c, 4);
    }
    spaces(&c, 1);
    clock_time(&c, &h, &mi, &se);
    spaces(&c, 1);
    lit(&c, "GMT");
  } else { /* asctime: Nov  6 08:49:37 1994 */
    spaces(&c, 1);
    mo = month(&c);
    spaces(&c, 1);
    d = digits(&c, -2);
    spaces(&c, 1);
    clock_time(&c, &h, &mi, &se);
    spaces(&c, 1);
    y = digits(&c, 4);
  }
  spaces(&c, 0);
  if (!c.ok || *c.s || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
  return (double)days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + se;
}

int pl_retry_after_parse(const char *value, double now, double *delay) {
  while (*value == ' ' || *value == '\t') value++;
  if (*value >= '0' && *value <= '9') { /* delay-seconds (a fraction tolerated) */
    double v = 0, scale = 1;
    const char *p = value;
    for (; *p >= '0' && *p <= '9'; p++) v = v * 10 + (*p - '0');
    if (*p == '.')
      for (p++; *p >= '0' && *p <= '9'; p++) v += (*p - '0') * (scale /= 10);
    while (*p == ' ' || *p == '\t') p++;
    if (*p) return -1;
    *delay = v < PL_RETRY_AFTER_MAX ? v : PL_RETRY_AFTER_MAX;
    return 0;
  }
  double t = http_date(value);
  if (t < 0) return -1;
  *delay = t > now ? (t - now < PL_RETRY_AFTER_MAX ? t - now : PL_RETRY_AFTER_MAX) : 0;
  return 0;
}

/* ---- budget ------------------------------------------------------------ */

void pl_retry_budget_init(pl_retry_budget *b) {
  b->tokens = PL_RETRY_BUDGET;
}

int pl_retry_budget_take(pl_retry_budget *b, int timeout) {
  double cost = timeout ? 2 * PL_RETRY_COST : PL_RETRY_COST;
  if (b->tokens < cost) return 0;
  b->tokens -= cost;
  return 1;
}

void pl_retry_budget_refund(pl_retry_budget *b) {
  b->tokens += PL_RETRY_REFUND;
  if (b->tokens > PL_RETRY_BUDGET) b->tokens = PL_RETRY_BUDGET;
}
