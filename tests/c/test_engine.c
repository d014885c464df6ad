/* The operation engine (pl_engine.h) against a fake transport: each case
 * scripts the answers and the questions' replies, and checks what was sent,
 * waited and decided, on a fake clock with a fixed jitter. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "pl_engine.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

/* One scripted answer: an HTTP status (0: a transport error), and the reply
 * to a question the engine asks after it (ASK_*), if it asks one. */
typedef struct fake {
  int status;
  int retryable; /* status 0: the transport error is worth another attempt */
  int timed_out;
  double retry_after;
  int busy, stale;
  enum pl_told told; /* the reply to the engine's question, if it asks */
  const char *word;  /* the error's code word, or NULL */
} fake;

/* What a run did. */
typedef struct outcome {
  enum pl_step last; /* how it ended */
  enum pl_why why;
  int retryable, attempts;
  int sent;      /* requests sent */
  int asked[4];  /* questions asked: reconcile, settled, reauth, confirm */
  double waited; /* seconds of backoff */
  double paused; /* the longest key pause asked for */
  int stale;     /* the last reauth question said the answer is a stale one */
} outcome;

/* Run op through the engine, answering from script (n answers). The clock
 * moves by each wait, plus 1 s per attempt (the request's time). */
static outcome drive(const pl_engine *e, const pl_op *op, const fake *script, int n) {
  outcome o;
  memset(&o, 0, sizeof o);
  double now = 1000;
  pl_call r;
  pl_next next = pl_call_start(&r, e, op, now);
  int i = 0;
  for (int guard = 0; guard < 1000; guard++) {
    if (next.pause > o.paused) o.paused = next.pause;
    switch (next.step) {
      case PL_STEP_SEND: {
        now += next.wait;
        o.waited += next.wait;
        if (i >= n) { /* more attempts than the script has: a failure of the engine */
          o.last = PL_STEP_SEND;
          return o;
        }
        o.sent++;
        now += 1;
        const fake *f = &script[i++];
        pl_answer a = {f->status, f->retryable, f->timed_out, f->retry_after, f->busy, f->stale, f->word};
        next = pl_call_answer(&r, &a, now, 0.5);
        break;
      }
      case PL_STEP_ASK_RECONCILE:
      case PL_STEP_ASK_SETTLED:
      case PL_STEP_ASK_REAUTH:
      case PL_STEP_ASK_CONFIRM:
        o.asked[next.step - PL_STEP_ASK_RECONCILE]++;
        if (next.step == PL_STEP_ASK_REAUTH) o.stale = next.stale;
        next = pl_call_told(&r, script[i - 1].told, now, 0.5);
        break;
      default:
        o.last = next.step;
        o.why = next.why;
        o.retryable = next.retryable;
        o.attempts = next.attempts;
        return o;
    }
  }
  o.last = PL_STEP_SEND; /* never ended */
  return o;
}

static const pl_op *op_of(const char *provider, const char *api, const char *name) {
  const pl_op *op = pl_op_find(pl_provider_find(provider, api), name);
  CHECK(op != NULL);
  return op;
}

#define ANS(s)                                                                                                         \
  { s, 0, 0, -1, 0, 0, PL_TOLD_NO, NULL }

static pl_retry_budget budget;
static pl_engine engine(int attempts) {
  pl_retry_budget_init(&budget);
  pl_engine e = {pl_provider_find("instaclustr", "v2"), {attempts, 0.5, 30, 120}, &budget};
  return e;
}

/* Busy answers declared in the provider table: Huawei's delete_peering 409
 * is retried (a delete is idempotent anyway: the rule makes it transient);
 * the same 409 of another operation is the answer. */
static void test_busy_in_data(void) {
  pl_retry_budget_init(&budget);
  pl_engine e = {pl_provider_find("huawei", ""), {5, 0.5, 30, 120}, &budget};
  const pl_op *del = op_of("huawei", "", "delete_peering");
  const pl_op *accept = op_of("huawei", "", "accept_peering");
  fake busy[] = {ANS(409), ANS(409), ANS(204)};
  outcome o = drive(&e, del, busy, 3);
  CHECK(o.last == PL_STEP_DONE && o.sent == 3);
  o = drive(&e, accept, busy, 3);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ANSWER && o.sent == 1);
  fake bad[] = {ANS(400)};
  o = drive(&e, del, bad, 1);
  CHECK(o.last == PL_STEP_FAIL && o.sent == 1);
  CHECK(pl_provider_busy(e.provider, del, 409, NULL) && !pl_provider_busy(e.provider, del, 400, NULL));
  CHECK(!pl_provider_busy(pl_provider_find("instaclustr", "v2"), op_of("instaclustr", "v2", "delete_peering"), 409,
                          NULL));

  /* AWS: by the code word, for every operation, whatever the status: STS
   * and Route 53 throttle with a 400, which is otherwise the answer */
  e.provider = pl_provider_find("aws", "");
  const pl_op *pcx = op_of("aws", "", "accept_vpc_peering_connection");
  const pl_op *assoc = op_of("aws", "", "associate_vpc_with_hosted_zone");
  fake throttled[] = {{400, 0, 0, -1, 0, 0, PL_TOLD_NO, "Throttling"},
                      {400, 0, 0, -1, 0, 0, PL_TOLD_NO, "PriorRequestNotComplete"},
                      ANS(200)};
  o = drive(&e, assoc, throttled, 3);
  CHECK(o.last == PL_STEP_DONE && o.sent == 3);
  fake limited[] = {{503, 0, 0, -1, 0, 0, PL_TOLD_NO, "RequestLimitExceeded"}, ANS(200)};
  o = drive(&e, pcx, limited, 2);
  CHECK(o.last == PL_STEP_DONE && o.sent == 2);
  fake refused[] = {{400, 0, 0, -1, 0, 0, PL_TOLD_NO, "InvalidVpcPeeringConnectionID.Malformed"}, ANS(200)};
  o = drive(&e, pcx, refused, 2);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ANSWER && o.sent == 1);
  fake wordless[] = {ANS(400), ANS(200)};
  o = drive(&e, pcx, wordless, 2);
  CHECK(o.last == PL_STEP_FAIL && o.sent == 1);
  CHECK(pl_provider_busy(e.provider, pcx, 400, "ThrottlingException") && !pl_provider_busy(e.provider, pcx, 400, NULL));
}

/* Error words that mean done, from the provider table: AWS's .NotFound of
 * a delete is "missing" at once; RouteAlreadyExists is "exists" only when
 * confirmed, else the answer; the word on another operation is nothing. */
static void test_done_in_data(void) {
  pl_retry_budget_init(&budget);
  pl_engine e = {pl_provider_find("aws", ""), {5, 0.5, 30, 120}, &budget};
  const pl_op *route = op_of("aws", "", "create_route"), *unroute = op_of("aws", "", "delete_route");
  fake gone[] = {{400, 0, 0, -1, 0, 0, PL_TOLD_NO, "InvalidRoute.NotFound"}};
  outcome o = drive(&e, unroute, gone, 1);
  CHECK(o.last == PL_STEP_MISSING && o.sent == 1 && o.asked[3] == 0);
  fake there[] = {{400, 0, 0, -1, 0, 0, PL_TOLD_YES, "RouteAlreadyExists"}};
  o = drive(&e, route, there, 1);
  CHECK(o.last == PL_STEP_EXISTS && o.sent == 1 && o.asked[3] == 1);
  fake other[] = {{400, 0, 0, -1, 0, 0, PL_TOLD_NO, "RouteAlreadyExists"}};
  o = drive(&e, route, other, 1);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ANSWER && o.asked[3] == 1);
  o = drive(&e, unroute, there, 1); /* not delete_route's word */
  CHECK(o.last == PL_STEP_FAIL && o.asked[3] == 0);
  CHECK(pl_provider_done(e.provider, route, "RouteAlreadyExists")->confirm);
  CHECK(!pl_provider_done(e.provider, route, NULL) && !pl_provider_done(e.provider, route, "InvalidRoute.NotFound"));
  CHECK(!pl_provider_done(pl_provider_find("huawei", ""), op_of("huawei", "", "delete_peering"), "x"));
}

static void test_success_and_quirks(void) {
  pl_engine e = engine(5);
  const pl_op *get = op_of("instaclustr", "v2", "get_peering");
  const pl_op *del = op_of("instaclustr", "v2", "delete_peering");
  fake ok[] = {ANS(200)};
  outcome o = drive(&e, get, ok, 1);
  CHECK(o.last == PL_STEP_DONE && o.sent == 1);

  fake gone[] = {ANS(404)};
  o = drive(&e, del, gone, 1);
  CHECK(o.last == PL_STEP_MISSING);
  o = drive(&e, get, gone, 1); /* a 404 of a read is an error, not retried */
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ANSWER && !o.retryable && o.sent == 1);

  const pl_op *rule = op_of("instaclustr", "v2", "add_firewall_rule");
  fake dup[] = {ANS(409)};
  o = drive(&e, rule, dup, 1);
  CHECK(rule->conflict_ok ? o.last == PL_STEP_EXISTS : o.last == PL_STEP_FAIL);

  /* a 409 the provider's settled rule recognises is done; else an error */
  const pl_op *create = op_of("instaclustr", "v2", "create_peering");
  fake settled[] = {{409, 0, 0, -1, 0, 0, PL_TOLD_YES, NULL}};
  o = drive(&e, create, settled, 1);
  CHECK(o.last == PL_STEP_SETTLED && o.asked[1] == 1);
  o = drive(&e, create, dup, 1);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ANSWER && o.asked[1] == 1 && o.sent == 1);
  fake bad[] = {ANS(400)};
  o = drive(&e, get, bad, 1);
  CHECK(o.last == PL_STEP_FAIL && !o.retryable && o.sent == 1);
}

/* Every transient class against an idempotent read: retried to the cap. */
static void test_transient_idempotent(void) {
  const pl_op *get = op_of("instaclustr", "v2", "get_peering");
  int statuses[] = {408, 429, 500, 502, 503, 504};
  for (size_t k = 0; k < sizeof statuses / sizeof *statuses; k++) {
    pl_engine e = engine(5);
    fake s[5];
    for (int i = 0; i < 5; i++) s[i] = (fake)ANS(statuses[k]);
    outcome o = drive(&e, get, s, 5);
    CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ATTEMPTS && o.retryable && o.sent == 5 && o.attempts == 5);
    CHECK(o.waited > 0);
    /* and a success after two failures */
    s[2] = (fake)ANS(200);
    o = drive(&e, get, s, 5);
    CHECK(o.last == PL_STEP_DONE && o.sent == 3);
  }
  /* a transport error: retried if retryable, else final */
  pl_engine e = engine(3);
  fake reset[] = {{0, 1, 0, -1, 0, 0, PL_TOLD_NO, NULL}, {0, 1, 0, -1, 0, 0, PL_TOLD_NO, NULL}, ANS(200)};
  CHECK(drive(&e, get, reset, 3).last == PL_STEP_DONE);
  fake refused[] = {{0, 0, 0, -1, 0, 0, PL_TOLD_NO, NULL}};
  outcome o = drive(&e, get, refused, 1);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ANSWER && o.sent == 1);
}

/* A create that may have landed is looked for, never blindly re-sent. */
static void test_create_reconcile(void) {
  pl_engine e = engine(5);
  const pl_op *create = op_of("instaclustr", "v2", "create_peering");
  CHECK(!create->idempotent);

  fake found[] = {{500, 0, 0, -1, 0, 0, PL_TOLD_YES, NULL}};
  outcome o = drive(&e, create, found, 1);
  CHECK(o.last == PL_STEP_RECONCILED && o.sent == 1 && o.asked[0] == 1);

  /* not found: sent again after the backoff; the retry answered 409 (the
   * first had landed after all, late): looked for again and found */
  fake late[] = {{502, 0, 0, -1, 0, 0, PL_TOLD_NO, NULL}, {409, 0, 0, -1, 0, 0, PL_TOLD_YES, NULL}};
  o = drive(&e, create, late, 2);
  CHECK(o.last == PL_STEP_RECONCILED && o.sent == 2 && o.asked[0] == 2 && o.asked[1] == 0);
  /* ... and not found on the 409: the provider's error, final */
  fake lost[] = {{502, 0, 0, -1, 0, 0, PL_TOLD_NO, NULL}, {409, 0, 0, -1, 0, 0, PL_TOLD_NO, NULL}};
  o = drive(&e, create, lost, 2);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ANSWER && !o.retryable);

  /* the list failed: cannot tell, so no second create */
  fake blind[] = {{504, 0, 0, -1, 0, 0, PL_TOLD_FAILED, NULL}, ANS(201)};
  o = drive(&e, create, blind, 2);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_LIST && o.retryable && o.sent == 1);

  /* a transport reset is ambiguous too; a 429 and a busy answer are not */
  fake reset[] = {{0, 1, 0, -1, 0, 0, PL_TOLD_YES, NULL}};
  CHECK(drive(&e, create, reset, 1).last == PL_STEP_RECONCILED);
  fake limited[] = {ANS(429), ANS(201)};
  o = drive(&e, create, limited, 2);
  CHECK(o.last == PL_STEP_DONE && o.sent == 2 && o.asked[0] == 0 && NEAR(o.paused, 1));
  fake busy[] = {{400, 0, 0, -1, 1, 0, PL_TOLD_NO, NULL}, ANS(201)};
  o = drive(&e, create, busy, 2);
  CHECK(o.last == PL_STEP_DONE && o.sent == 2 && o.asked[0] == 0);

  /* every create ambiguous, none found: the cap holds, one list per attempt */
  fake down[5];
  for (int i = 0; i < 5; i++) down[i] = (fake){500, 0, 0, -1, 0, 0, PL_TOLD_NO, NULL};
  o = drive(&e, create, down, 5);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ATTEMPTS && o.sent == 5 && o.asked[0] == 5);
}

/* Stale credentials: refreshed once, at once, not counted as a retry. */
static void test_reauth(void) {
  pl_engine e = engine(1); /* no retries at all: the re-send must not need one */
  const pl_op *get = op_of("instaclustr", "v2", "get_peering");
  fake expired[] = {{401, 0, 0, -1, 0, 0, PL_TOLD_YES, NULL}, ANS(200)};
  outcome o = drive(&e, get, expired, 2);
  CHECK(o.last == PL_STEP_DONE && o.sent == 2 && o.asked[2] == 1 && NEAR(o.waited, 0));
  /* refused again: not refreshed twice */
  fake again[] = {{401, 0, 0, -1, 0, 0, PL_TOLD_YES, NULL}, {401, 0, 0, -1, 0, 0, PL_TOLD_YES, NULL}};
  o = drive(&e, get, again, 2);
  CHECK(o.last == PL_STEP_FAIL && o.sent == 2 && o.asked[2] == 1);
  /* the caller's stale flag */
  fake flagged[] = {{400, 0, 0, -1, 0, 1, PL_TOLD_YES, NULL}, ANS(200)};
  CHECK(drive(&e, get, flagged, 2).last == PL_STEP_DONE);
  /* the table's stale words (AWS's ExpiredToken, RequestExpired), whatever
   * the status; another word of the same status is the answer */
  e.provider = pl_provider_find("aws", "");
  const pl_op *pcx = op_of("aws", "", "describe_vpc_peering_connections");
  fake aws[] = {{400, 0, 0, -1, 0, 0, PL_TOLD_YES, "RequestExpired"}, ANS(200)};
  o = drive(&e, pcx, aws, 2);
  CHECK(o.last == PL_STEP_DONE && o.sent == 2 && o.asked[2] == 1);
  fake sts[] = {{403, 0, 0, -1, 0, 0, PL_TOLD_YES, "ExpiredToken"}, ANS(200)};
  CHECK(drive(&e, pcx, sts, 2).last == PL_STEP_DONE);
  fake other[] = {{400, 0, 0, -1, 0, 0, PL_TOLD_YES, "InvalidParameterValue"}, ANS(200)};
  o = drive(&e, pcx, other, 2);
  CHECK(o.last == PL_STEP_FAIL && o.sent == 1 && o.asked[2] == 0);
  CHECK(!pl_provider_stale(pl_provider_find("huawei", ""), op_of("huawei", "", "accept_peering"), 400, "ExpiredToken"));
  /* a 401 is asked about; the question says whether the answer also named
   * expired credentials (Aerospike's auth:token-expired), which the loop
   * takes as worth a fresh token even when none is held */
  e.provider = pl_provider_find("aerospike", "");
  const pl_op *list = op_of("aerospike", "", "list_peerings");
  fake expired_word[] = {{401, 0, 0, -1, 0, 0, PL_TOLD_YES, "auth:token-expired"}, ANS(200)};
  o = drive(&e, list, expired_word, 2);
  CHECK(o.last == PL_STEP_DONE && o.asked[2] == 1 && o.stale);
  fake bare_401[] = {{401, 0, 0, -1, 0, 0, PL_TOLD_YES, "auth:unauthorized"}, ANS(200)};
  o = drive(&e, list, bare_401, 2);
  CHECK(o.last == PL_STEP_DONE && o.asked[2] == 1 && !o.stale);
  e.provider = pl_provider_find("instaclustr", "v2");
  /* nothing to refresh (a fixed key): the 401 is final */
  fake fixed[] = {{401, 0, 0, -1, 0, 0, PL_TOLD_NO, NULL}};
  o = drive(&e, get, fixed, 1);
  CHECK(o.last == PL_STEP_FAIL && o.why == PL_WHY_ANSWER && o.sent == 1);
}

/* The wait a 429's body says, by the table's words (Aiven's "try again
 * in 28s"): only on a 429, only a whole number followed by "s", capped. */
static void test_retry_said(void) {
  const pl_provider *av = pl_provider_find("aiven", "");
#define SAID(status, text) pl_provider_retry_said(av, status, text, strlen(text))
  CHECK(NEAR(SAID(429, "{\"message\": \"Rate limit 120 exceeded - try again in 28s\"}"), 28));
  CHECK(NEAR(SAID(429, "try again in 3 s"), 3));
  CHECK(NEAR(SAID(429, "try again in 99999999999999999999s"), PL_RETRY_SAID_MAX));
  CHECK(SAID(503, "try again in 28s") < 0);
  CHECK(SAID(429, "try again in a moment") < 0 && SAID(429, "try again in 28") < 0 && SAID(429, "") < 0);
  CHECK(NEAR(SAID(429, "try again in x; try again in 5s"), 5));
  CHECK(pl_provider_retry_said(pl_provider_find("upcloud", ""), 429, "try again in 28s", 16) < 0);
#undef SAID
}

/* Retry-After, the deadline and the budget. */
static void test_limits(void) {
  const pl_op *get = op_of("instaclustr", "v2", "get_peering");
  pl_engine e = engine(5);
  fake after[] = {{503, 0, 0, 7, 0, 0, PL_TOLD_NO, NULL}, ANS(200)};
  outcome o = drive(&e, get, after, 2);
  CHECK(o.last == PL_STEP_DONE && NEAR(o.waited, 7) && NEAR(o.paused, 7));
  /* a pause never longer than the deadline */
  fake long_after[] = {{429, 0, 0, 5000, 0, 0, PL_TOLD_NO, NULL}, ANS(200)};
  o = drive(&e, get, long_after, 2);
  CHECK(NEAR(o.paused, 120) && o.last == PL_STEP_FAIL && o.why == PL_WHY_ATTEMPTS);

  /* the budget: a permanent 500 for many operations stops retrying */
  e = engine(5);
  fake down[5];
  for (int i = 0; i < 5; i++) down[i] = (fake)ANS(500);
  int sent = 0, budget_fails = 0;
  for (int k = 0; k < 20; k++) {
    o = drive(&e, get, down, 5);
    sent += o.sent;
    budget_fails += o.why == PL_WHY_BUDGET;
  }
  /* 20 tokens at 1 a retry: 20 retries in all, then one attempt each */
  CHECK(sent == 20 + 20);
  CHECK(budget_fails == 15);
  /* a success puts some back */
  fake ok[] = {ANS(200)};
  for (int k = 0; k < 4; k++) drive(&e, get, ok, 1);
  o = drive(&e, get, down, 5);
  CHECK(o.sent == 3); /* 2 tokens: two retries */

  /* a timeout costs twice */
  e = engine(100);
  fake slow[30];
  for (int i = 0; i < 30; i++) slow[i] = (fake){0, 1, 1, -1, 0, 0, PL_TOLD_NO, NULL};
  o = drive(&e, get, slow, 30);
  CHECK(o.why == PL_WHY_BUDGET && o.sent == 11);
}

static void test_told_without_question(void) {
  pl_engine e = engine(5);
  pl_call r;
  pl_call_start(&r, &e, op_of("instaclustr", "v2", "get_peering"), 0);
  CHECK(pl_call_told(&r, PL_TOLD_YES, 0, 0.5).step == PL_STEP_FAIL);
  CHECK(strcmp(pl_step_name(PL_STEP_ASK_REAUTH), "ask_reauth") == 0);
}

int main(void) {
  test_success_and_quirks();
  test_busy_in_data();
  test_done_in_data();
  test_transient_idempotent();
  test_create_reconcile();
  test_reauth();
  test_retry_said();
  test_limits();
  test_told_without_question();
  return check_report("engine");
}
