/* The operation engine: what to do next in one provider operation, given
 * each answer. Lua-free; the clock and the random source are passed in, so
 * it is unit tested with a fake transport (tests/c/test_engine.c).
 *
 * The caller sends, waits and answers the engine's questions; the engine
 * decides everything that is policy: which answers are done, which are
 * worth another attempt and after how long (backoff, Retry-After, attempt
 * cap, deadline, the account's retry budget), when the whole key pauses
 * (429, 503), when stale credentials are refreshed (once), and that a
 * create whose outcome is unknown is never sent again before a list shows
 * it did not land. Its inputs are facts about an answer (its status, its
 * Retry-After, whether the provider's rules call it busy or stale); what
 * it reads of the operation is the C table (pl_provider.h), never a value
 * a script could change. */
#ifndef PL_ENGINE_H
#define PL_ENGINE_H
#include "pl_provider.h"
#include "pl_retry.h"

/* One client's policy, fixed when it is made. */
typedef struct pl_engine {
  const pl_provider *provider;
  pl_retry_policy retry;
  pl_retry_budget *budget; /* the account's: shared by every client of it */
} pl_engine;

/* What an attempt came back with. */
typedef struct pl_answer {
  int status;              /* HTTP status; 0: no answer (a transport error) */
  int transport_retryable; /* status 0: the error is worth another attempt */
  int timed_out;           /* status 0: a timeout (costs the budget twice) */
  double retry_after;      /* seconds the answer asks to wait; < 0: none */
  int busy;                /* "busy, try again", besides what the table's busy rules say */
  int stale;               /* "your credentials expired", besides a 401 and the table's stale rules */
  const char *word;        /* the error's code word (the provider's error shapes), or NULL; read
                              only while the answer is given: with the status, the table's busy and
                              stale rules */
} pl_answer;

enum pl_step {
  PL_STEP_SEND,          /* send the request, after waiting next.wait seconds */
  PL_STEP_DONE,          /* a success: the answer's body is the result */
  PL_STEP_MISSING,       /* a 404 that means done (deleting what is gone) */
  PL_STEP_EXISTS,        /* a 409 that means done (a rule already there) */
  PL_STEP_RECONCILED,    /* the create was found by listing: that is the result */
  PL_STEP_SETTLED,       /* the change was already made: the provider's answer to that is the result */
  PL_STEP_FAIL,          /* fail with the answer's error (next.why, next.retryable) */
  PL_STEP_ASK_RECONCILE, /* list and match the create; then pl_call_told(PL_TOLD_*) */
  PL_STEP_ASK_SETTLED,   /* a 409: is the change already made? then pl_call_told */
  PL_STEP_ASK_REAUTH,    /* refresh the credentials; then pl_call_told (YES = refreshed) */
  PL_STEP_ASK_CONFIRM    /* an error word that may mean done (pl_done.confirm): does it? then pl_call_told */
};

enum pl_why {
  PL_WHY_ANSWER,   /* the answer itself is final */
  PL_WHY_ATTEMPTS, /* the attempt cap or the deadline is reached */
  PL_WHY_BUDGET,   /* the account's retry budget is spent */
  PL_WHY_LIST      /* listing to check whether a create landed failed */
};

/* What the caller learnt for an ASK step. */
enum pl_told { PL_TOLD_NO, PL_TOLD_YES, PL_TOLD_FAILED };

typedef struct pl_next {
  enum pl_step step;
  enum pl_why why; /* PL_STEP_FAIL */
  int retryable;   /* PL_STEP_FAIL: whether a later try may work */
  int attempts;    /* PL_STEP_FAIL: attempts made */
  int retry;       /* PL_STEP_SEND: 0 for the first attempt and a re-sent refresh, else which retry */
  double wait;     /* PL_STEP_SEND: seconds to wait first */
  double pause;    /* after an answer: > 0 when it asks the whole key to wait this long (429, 503) */
  int stale;       /* PL_STEP_ASK_REAUTH: the answer is one of the provider's stale ones, not only a 401 */
} pl_next;

/* One operation under way. */
typedef struct pl_call {
  const pl_engine *engine;
  const pl_op *op;
  int is_create;  /* op is create_peering: never re-sent blindly */
  double started; /* when the first attempt left */
  int retries;    /* retries made */
  int reauthed;   /* credentials were refreshed once */
  int ambiguous;  /* an attempt ended without saying whether it landed */
  int asked;      /* the step last asked, or -1 */
  int done_how;   /* PL_STEP_ASK_CONFIRM: the step a yes means */
  pl_answer last; /* the answer being decided on */
} pl_call;

/* Start op; the first step is to send at once. */
pl_next pl_call_start(pl_call *r, const pl_engine *e, const pl_op *op, double now);
/* Whether status is one of op's success statuses. */
int pl_op_ok(const pl_op *op, int status);
/* The next step after an attempt's answer. u in [0, 1): the jitter. */
pl_next pl_call_answer(pl_call *r, const pl_answer *a, double now, double u);
/* The next step after an ASK step's answer. */
pl_next pl_call_told(pl_call *r, enum pl_told told, double now, double u);

const char *pl_step_name(enum pl_step s);

#endif
