/* A throttle shared by every process that uses one Redis: the GCRA of
 * pl_gcra.h kept in a Redis hash per key and advanced by one atomic script
 * per request (EVALSHA), on the server's clock, so processes on several
 * machines agree. Keys expire once their schedule is in the past.
 *
 * Calls are synchronous with short timeouts (a loopback or LAN round trip
 * per request, well under a millisecond). When Redis cannot be used the
 * call fails fast and the caller throttles locally; no new connection is
 * tried for PL_REDIS_BACKOFF seconds. An event loop's code hands them to
 * the handle's own thread with pl_redis_submit instead, so a slow or
 * silent Redis stalls only the calls waiting for it. */
#ifndef PL_REDIS_H
#define PL_REDIS_H
#include <stddef.h>
#include "pl_loop.h"

#define PL_REDIS_BACKOFF    2.0 /* seconds between reconnection attempts */
#define PL_REDIS_TIMEOUT_MS 250

typedef struct pl_redis pl_redis;

/* url: redis://[[user]:password@]host[:port][/db]. NULL with a message in
 * err for a bad URL or out of memory; nothing is sent yet. The message
 * never contains the password. */
pl_redis *pl_redis_new(const char *url, const char *prefix, char *err, size_t errlen);
void pl_redis_free(pl_redis *r); /* the owner's reference: freed once no call is out */

/* On key (prefix + key), take the next slot (pause <= 0): 0 and the
 * seconds to wait before sending in *wait; or, pause > 0, let nobody send
 * for pause seconds (a provider's Retry-After): 0 and *wait = 0. -1 when
 * Redis cannot be used now (pl_redis_error says why). now: any monotonic
 * clock in seconds, for the reconnection back-off only. */
int pl_redis_throttle(pl_redis *r, const char *key, double interval, double tolerance, double pause, double now,
                      double *wait);

/* A lock on key (prefix + "lock:" + key) that token holds for ttl_ms:
 * take it (renew == 0: SET NX PX) or extend it while token still holds it
 * (renew != 0). 1 taken or extended; 0 held by another (renew: lost); -1
 * when Redis cannot be used now. It expires if its holder dies. */
int pl_redis_lock(pl_redis *r, const char *key, const char *token, long ttl_ms, int renew, double now);
/* Drop key's lock if token holds it: 1 dropped, 0 not ours, -1 Redis
 * cannot be used. */
int pl_redis_unlock(pl_redis *r, const char *key, const char *token, double now);

/* One of the calls above run on the handle's own thread (started on first
 * use; calls run one at a time, in order) and posted back to a loop. */
enum { PL_REDIS_THROTTLE, PL_REDIS_LOCK, PL_REDIS_UNLOCK };
typedef struct pl_redis_call {
  pl_post post; /* first member: the loop runs post.cb when it is done */
  int op;
  char key[256], token[256];
  double interval, tolerance, pause; /* THROTTLE */
  long ttl_ms;                       /* LOCK */
  int renew;                         /* LOCK */
  int rc;                            /* results: what the call returned, */
  double wait;                       /* THROTTLE's wait, */
  char error[256];                   /* and why it failed */
  pl_loop *loop;
  pl_redis *redis; /* set by pl_redis_submit: a reference that keeps r alive */
  struct pl_redis_call *next;
} pl_redis_call;
/* Hand c (calloc'd; op and arguments filled in, post.cb set) over,
 * holding loop l (pl_loop_hold) until it is posted back; c keeps r alive
 * (pl_redis_free from its owner frees r only when no call is out). 0, or
 * -1 when it cannot be handed over (c->rc = -1 and c->error say why;
 * nothing is posted). Calls queued when the process exits still run
 * first, 2 s at most (an unlock sent just before os.exit). */
int pl_redis_submit(pl_redis *r, pl_loop *l, pl_redis_call *c);
/* Free a call that came back (or was never handed over), dropping its
 * reference to its handle. On the loop's thread. */
void pl_redis_call_free(pl_redis_call *c);

/* Why the last call failed ("" if it did not); "host:port" of the server. */
const char *pl_redis_error(const pl_redis *r);
const char *pl_redis_where(const pl_redis *r);

#endif
