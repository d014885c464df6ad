/* The operation engine (pl_engine.h): the retry decision as a state machine. */
#include "pl_engine.h"

#include <string.h>

/* Statuses worth another attempt of an idempotent operation: 408 Request
 * Timeout, 429 Too Many Requests, and the gateway and server faults (RFC
 * 9110 section 15.6; every provider's SDK retries these). */
static int transient_status(int s) {
  return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

int pl_op_ok(const pl_op *op, int status) {
  for (int i = 0; i < 4 && op->ok[i]; i++)
    if (op->ok[i] == status) return 1;
  return 0;
}

static pl_next step(enum pl_step s) {
  pl_next n;
  memset(&n, 0, sizeof n);
  n.step = s;
  return n;
}

static pl_next ask(pl_call *r, enum pl_step s) {
  pl_next n = step(s);
  r->asked = (int)s;
  return n;
}

static pl_next fail(const pl_call *r, enum pl_why why, int retryable) {
  pl_next n = step(PL_STEP_FAIL);
  n.why = why;
  n.retryable = retryable;
  n.attempts = r->retries + 1;
  return n;
}

pl_next pl_call_start(pl_call *r, const pl_engine *e, const pl_op *op, double now) {
  memset(r, 0, sizeof *r);
  r->engine = e;
  r->op = op;
  r->is_create = strcmp(op->name, "create_peering") == 0;
  r->started = now;
  r->asked = -1;
  return step(PL_STEP_SEND);
}

/* The provider asked the whole key to wait: 429 and 503, for as long as
 * Retry-After says (1 s without one), never longer than this operation may
 * go on retrying. */
static double pause_of(const pl_call *r) {
  const pl_answer *a = &r->last;
  if (a->status != 429 && a->status != 503) return 0;
  double p = a->retry_after >= 0 ? a->retry_after : 1;
  return p < r->engine->retry.deadline ? p : r->engine->retry.deadline;
}

/* Another attempt after the backoff, if the cap, the deadline and the
 * budget allow. */
static pl_next backoff(pl_call *r, double now, double u) {
  const pl_answer *a = &r->last;
  double delay = pl_retry_next_delay(&r->engine->retry, r->retries, a->retry_after, now - r->started, u);
  if (delay < 0) return fail(r, PL_WHY_ATTEMPTS, 1);
  if (!pl_retry_budget_take(r->engine->budget, a->status == 0 && a->timed_out)) return fail(r, PL_WHY_BUDGET, 1);
  r->retries++;
  pl_next n = step(PL_STEP_SEND);
  n.wait = delay;
  n.retry = r->retries;
  return n;
}

/* Whether to try again: transient failures of operations safe to resend;
 * a create that may have landed is first looked for. */
static pl_next decide(pl_call *r, double now, double u) {
  const pl_answer *a = &r->last;
  int transient = a->status == 0 ? a->transport_retryable : transient_status(a->status);
  int busy = a->busy; /* the provider's busy rules, read as the answer came */
  if (!transient && !busy) return fail(r, PL_WHY_ANSWER, 0);
  /* a 429 and a busy answer were refused before anything was done */
  int safe = r->op->idempotent || a->status == 429 || busy;
  if (!safe && r->is_create) {
    r->ambiguous = 1;
    return ask(r, PL_STEP_ASK_RECONCILE);
  }
  return backoff(r, now, u);
}

/* After the settled question: stale credentials, else decide. */
static pl_next after_settled(pl_call *r, double now, double u) {
  const pl_answer *a = &r->last;
  if ((a->status == 401 || (a->status != 0 && a->stale)) && !r->reauthed) {
    pl_next n = ask(r, PL_STEP_ASK_REAUTH);
    n.stale = a->status != 0 && a->stale;
    return n;
  }
  return decide(r, now, u);
}

static pl_next answer(pl_call *r, const pl_answer *a, double now, double u) {
  r->last = *a;
  r->last.busy = a->busy || (a->status && pl_provider_busy(r->engine->provider, r->op, a->status, a->word));
  r->last.stale = a->stale || (a->status && pl_provider_stale(r->engine->provider, r->op, a->status, a->word));
  r->last.word = NULL; /* not kept: it lives as long as the answer it came from */
  r->asked = -1;
  int s = a->status;
  if (s && pl_op_ok(r->op, s)) {
    pl_retry_budget_refund(r->engine->budget);
    return step(PL_STEP_DONE);
  }
  if (s == 404 && r->op->missing_ok) return step(PL_STEP_MISSING);
  if (s == 409 && r->op->conflict_ok) return step(PL_STEP_EXISTS);
  /* an error word that means made or gone already (the provider's table) */
  const pl_done *d = s ? pl_provider_done(r->engine->provider, r->op, a->word) : NULL;
  if (d) {
    r->done_how = d->how == PL_DONE_MISSING ? PL_STEP_MISSING : PL_STEP_EXISTS;
    return d->confirm ? ask(r, PL_STEP_ASK_CONFIRM) : step((enum pl_step)r->done_how);
  }
  /* "already exists" after an attempt that may have landed (a reset, a 5xx
   * or 504 after the handler ran): that attempt's peering is it */
  if (s == 409 && r->ambiguous && r->is_create) return ask(r, PL_STEP_ASK_RECONCILE);
  /* refused because the change is already made: by an earlier attempt of
   * ours (retried by us, or re-sent by the transport after a dropped
   * connection, so even a first attempt), or by anyone */
  if (s == 409) return ask(r, PL_STEP_ASK_SETTLED);
  return after_settled(r, now, u);
}

pl_next pl_call_answer(pl_call *r, const pl_answer *a, double now, double u) {
  pl_next n = answer(r, a, now, u);
  n.pause = pause_of(r);
  return n;
}

pl_next pl_call_told(pl_call *r, enum pl_told told, double now, double u) {
  int asked = r->asked;
  r->asked = -1;
  switch (asked) {
    case PL_STEP_ASK_RECONCILE:
      if (told == PL_TOLD_YES) return step(PL_STEP_RECONCILED);
      /* cannot tell whether it was created: do not risk a second one */
      if (told == PL_TOLD_FAILED) return fail(r, PL_WHY_LIST, 1);
      if (r->last.status == 409) return fail(r, PL_WHY_ANSWER, 0);
      return backoff(r, now, u);
    case PL_STEP_ASK_SETTLED:
      if (told == PL_TOLD_YES) return step(PL_STEP_SETTLED);
      return after_settled(r, now, u);
    case PL_STEP_ASK_CONFIRM: /* no: the answer is what it says */
      if (told == PL_TOLD_YES) return step((enum pl_step)r->done_how);
      return after_settled(r, now, u);
    case PL_STEP_ASK_REAUTH:
      if (told == PL_TOLD_YES) { /* once, at once, not counted as a retry */
        r->reauthed = 1;
        return step(PL_STEP_SEND);
      }
      return decide(r, now, u);
    default: /* told without a question: a caller's mistake */ return fail(r, PL_WHY_ANSWER, 0);
  }
}

const char *pl_step_name(enum pl_step s) {
  static const char *const names[] = {"send", "done",          "missing",     "exists",     "reconciled", "settled",
                                      "fail", "ask_reconcile", "ask_settled", "ask_reauth", "ask_confirm"};
  return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}
