/* Shared GCRA throttle on Redis: see pl_redis.h. */
#include "pl_redis.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "pl_lazy.h"

/* The schedule of one key, as pl_gcra_reserve and pl_gcra_pause_until keep
 * it, in microseconds of the server's clock. ARGV: interval, tolerance,
 * pause. Returns the microseconds to wait before sending. */
static const char SCRIPT[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local interval, tolerance, pause = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local v = redis.call('HMGET', KEYS[1], 'tat', 'paused')\n"
    "local tat, paused = tonumber(v[1]) or 0, tonumber(v[2]) or 0\n"
    "local wait = 0\n"
    "if pause > 0 then\n"
    "  paused = math.max(paused, now + pause)\n"
    "  tat = math.max(tat, paused + tolerance)\n"
    "else\n"
    "  local start = math.max(now, tat - tolerance, paused)\n"
    "  tat = math.max(tat, start) + interval\n"
    "  wait = start - now\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'paused', string.format('%.0f', paused))\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tat, paused) - now) / 1000) + 1000)\n"
    "return wait\n";

struct pl_redis {
  redisContext *c;
  char host[256], user[128], password[256], prefix[128];
  int port, db;
  char sha[41];
  double retry_at; /* no connection attempt before this */
  char error[256];
  char where[300];
  /* the thread that runs submitted calls (pl_redis_submit) */
  pthread_t thread;
  int started, stopping, busy;
  pthread_mutex_t mu; /* guards the queue, stopping and busy */
  pthread_cond_t more, idle;
  pl_redis_call *head, *tail;
  int refs;           /* the owner's, and one per call submitted and not yet freed (loop's thread) */
  pl_redis *next_run; /* the handles whose thread runs (drained at exit) */
};

/* Handles with a running thread, so that calls still queued when the
 * process exits (an unlock sent just before os.exit) run first. */
static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static pl_redis *all_running;

static void unlist(pl_redis *r) {
  pthread_mutex_lock(&all_mu);
  for (pl_redis **p = &all_running; *p; p = &(*p)->next_run)
    if (*p == r) {
      *p = r->next_run;
      break;
    }
  pthread_mutex_unlock(&all_mu);
}

/* atexit: let each handle's thread finish what is queued, 2 s at most in all. */
static void drain_at_exit(void) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 2;
  pthread_mutex_lock(&all_mu);
  for (pl_redis *r = all_running; r; r = r->next_run) {
    pthread_mutex_lock(&r->mu);
    while ((r->head || r->busy) && pthread_cond_timedwait(&r->idle, &r->mu, &until) == 0) {
    }
    pthread_mutex_unlock(&r->mu);
  }
  pthread_mutex_unlock(&all_mu);
}

/* Copy n bytes of s into dst (size cap) as a string; -1 if too long. */
static int copy(char *dst, size_t cap, const char *s, size_t n) {
  if (n >= cap) return -1;
  memcpy(dst, s, n);
  dst[n] = '\0';
  return 0;
}

static int parse_url(pl_redis *r, const char *url, char *err, size_t errlen) {
  if (strncmp(url, "redis://", 8) != 0) {
    snprintf(err, errlen, "must start with redis://");
    return -1;
  }
  const char *p = url + 8, *at = strchr(p, '@'), *slash;
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (!colon || copy(r->user, sizeof r->user, p, (size_t)(colon - p)) ||
        copy(r->password, sizeof r->password, colon + 1, (size_t)(at - colon - 1))) {
      snprintf(err, errlen, "credentials must be [user]:password@");
      return -1;
    }
    p = at + 1;
  }
  slash = strchr(p, '/');
  size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
  const char *colon = memchr(p, ':', hostlen);
  r->port = 6379;
  if (colon) {
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end != p + hostlen || port < 1 || port > 65535) {
      snprintf(err, errlen, "the port must be 1 to 65535");
      return -1;
    }
    r->port = (int)port;
    hostlen = (size_t)(colon - p);
  }
  if (hostlen == 0 || copy(r->host, sizeof r->host, p, hostlen)) {
    snprintf(err, errlen, "a host is required");
    return -1;
  }
  if (slash && slash[1]) {
    char *end;
    long db = strtol(slash + 1, &end, 10);
    if (*end || db < 0 || db > 1000000) {
      snprintf(err, errlen, "the database must be a number");
      return -1;
    }
    r->db = (int)db;
  }
  snprintf(r->where, sizeof r->where, "%s:%d", r->host, r->port);
  return 0;
}

pl_redis *pl_redis_new(const char *url, const char *prefix, char *err, size_t errlen) {
  pl_redis *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r->refs = 1;
  if (parse_url(r, url, err, errlen) != 0) {
    pl_redis_free(r);
    return NULL;
  }
  if (copy(r->prefix, sizeof r->prefix, prefix, strlen(prefix))) {
    snprintf(err, errlen, "prefix is too long");
    pl_redis_free(r);
    return NULL;
  }
  return r;
}

static void disconnect(pl_redis *r) {
  if (r->c) redisFree(r->c);
  r->c = NULL;
}

void pl_redis_free(pl_redis *r) {
  if (!r || --r->refs > 0) return; /* calls still out: the last one back frees it */
  if (r->started) {
    unlist(r);
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_signal(&r->more);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->more);
    pthread_cond_destroy(&r->idle);
  }
  disconnect(r);
  explicit_bzero(r->password, sizeof r->password);
  free(r);
}

const char *pl_redis_error(const pl_redis *r) {
  return r->error;
}

const char *pl_redis_where(const pl_redis *r) {
  return r->where;
}

/* Fail: record why, drop the connection, wait before the next attempt. */
static int fail(pl_redis *r, double now, const char *why) {
  snprintf(r->error, sizeof r->error, "%s", why);
  disconnect(r);
  r->retry_at = now + PL_REDIS_BACKOFF;
  return -1;
}

/* Send argv; the reply (never an I/O failure), or NULL after fail(). */
static redisReply *command(pl_redis *r, double now, int argc, const char **argv) {
  redisReply *reply = redisCommandArgv(r->c, argc, argv, NULL);
  if (!reply) {
    fail(r, now, r->c->errstr[0] ? r->c->errstr : "connection lost");
    return NULL;
  }
  return reply;
}

/* Check a simple reply: 0, or -1 after fail() with the server's message. */
static int expect(pl_redis *r, double now, redisReply *reply, int type, const char *what) {
  if (!reply) return -1;
  if (reply->type == type) return 0;
  char why[256];
  snprintf(why, sizeof why, "%s: %s", what, reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
  freeReplyObject(reply);
  return fail(r, now, why);
}

static int load_script(pl_redis *r, double now) {
  const char *argv[] = {"SCRIPT", "LOAD", SCRIPT};
  redisReply *reply = command(r, now, 3, argv);
  if (expect(r, now, reply, REDIS_REPLY_STRING, "SCRIPT LOAD") != 0) return -1;
  snprintf(r->sha, sizeof r->sha, "%s", reply->str);
  freeReplyObject(reply);
  return 0;
}

static int connect_redis(pl_redis *r, double now) {
  const char *why = pl_lazy_redis();
  if (why) return fail(r, now, why);
  struct timeval tv = {0, PL_REDIS_TIMEOUT_MS * 1000};
  r->c = redisConnectWithTimeout(r->host, r->port, tv);
  if (!r->c) return fail(r, now, "out of memory");
  if (r->c->err) return fail(r, now, r->c->errstr);
  redisSetTimeout(r->c, tv);
  redisReply *reply;
  if (r->password[0]) {
    const char *argv[] = {"AUTH", r->user, r->password};
    reply = r->user[0] ? command(r, now, 3, argv) : command(r, now, 2, (const char *[]){"AUTH", r->password});
    if (expect(r, now, reply, REDIS_REPLY_STATUS, "AUTH") != 0) return -1;
    freeReplyObject(reply);
  }
  if (r->db) {
    char db[16];
    snprintf(db, sizeof db, "%d", r->db);
    reply = command(r, now, 2, (const char *[]){"SELECT", db});
    if (expect(r, now, reply, REDIS_REPLY_STATUS, "SELECT") != 0) return -1;
    freeReplyObject(reply);
  }
  return load_script(r, now);
}

/* Connected, or -1 (the last error stands during the back-off). */
static int ready(pl_redis *r, double now) {
  if (r->c) return 0;
  if (now < r->retry_at) return -1;
  return connect_redis(r, now);
}

int pl_redis_throttle(pl_redis *r, const char *key, double interval, double tolerance, double pause, double now,
                      double *wait) {
  if (ready(r, now) != 0) return -1;
  char name[512], a[3][32];
  if (snprintf(name, sizeof name, "%s%s", r->prefix, key) >= (int)sizeof name) return fail(r, now, "key too long");
  snprintf(a[0], sizeof a[0], "%.0f", interval * 1e6);
  snprintf(a[1], sizeof a[1], "%.0f", tolerance * 1e6);
  snprintf(a[2], sizeof a[2], "%.0f", pause > 0 ? pause * 1e6 : 0.0);
  for (int tries = 0; tries < 2; tries++) {
    const char *argv[] = {"EVALSHA", r->sha, "1", name, a[0], a[1], a[2]};
    redisReply *reply = command(r, now, 7, argv);
    if (!reply) return -1;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0 && tries == 0) {
      freeReplyObject(reply); /* the server lost its scripts (restart, SCRIPT FLUSH) */
      if (load_script(r, now) != 0) return -1;
      continue;
    }
    if (expect(r, now, reply, REDIS_REPLY_INTEGER, "EVALSHA") != 0) return -1;
    *wait = (double)reply->integer / 1e6;
    freeReplyObject(reply);
    r->error[0] = '\0';
    return 0;
  }
  return fail(r, now, "EVALSHA: the script could not be loaded");
}

/* ---- locks ----------------------------------------------------------- */

/* Extend or drop a lock only while the token still holds it: one script,
 * so no other holder's lock is touched between the GET and the change. */
static const char RENEW[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                            "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
                            "end\n"
                            "return 0\n";
static const char UNLOCK[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                             "  return redis.call('DEL', KEYS[1])\n"
                             "end\n"
                             "return 0\n";

static int lock_name(pl_redis *r, double now, const char *key, char *name, size_t cap) {
  if (snprintf(name, cap, "%slock:%s", r->prefix, key) >= (int)cap) return fail(r, now, "key too long");
  return 0;
}

/* An integer reply's value (0 or 1 here), or -1 after fail(). */
static int integer(pl_redis *r, double now, redisReply *reply, const char *what) {
  if (expect(r, now, reply, REDIS_REPLY_INTEGER, what) != 0) return -1;
  int v = reply->integer != 0;
  freeReplyObject(reply);
  r->error[0] = '\0';
  return v;
}

int pl_redis_lock(pl_redis *r, const char *key, const char *token, long ttl_ms, int renew, double now) {
  char name[512], ttl[24];
  if (ready(r, now) != 0 || lock_name(r, now, key, name, sizeof name) != 0) return -1;
  snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
  if (renew) {
    const char *argv[] = {"EVAL", RENEW, "1", name, token, ttl};
    return integer(r, now, command(r, now, 6, argv), "EVAL");
  }
  const char *argv[] = {"SET", name, token, "NX", "PX", ttl};
  redisReply *reply = command(r, now, 6, argv);
  if (!reply) return -1;
  if (reply->type == REDIS_REPLY_NIL) { /* someone else holds it */
    freeReplyObject(reply);
    r->error[0] = '\0';
    return 0;
  }
  if (expect(r, now, reply, REDIS_REPLY_STATUS, "SET") != 0) return -1;
  freeReplyObject(reply);
  r->error[0] = '\0';
  return 1;
}

int pl_redis_unlock(pl_redis *r, const char *key, const char *token, double now) {
  char name[512];
  if (ready(r, now) != 0 || lock_name(r, now, key, name, sizeof name) != 0) return -1;
  const char *argv[] = {"EVAL", UNLOCK, "1", name, token};
  return integer(r, now, command(r, now, 5, argv), "EVAL");
}

/* ---- calls on the handle's own thread ---------------------------------- */

static double monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_call(pl_redis *r, pl_redis_call *c) {
  double now = monotonic();
  switch (c->op) {
    case PL_REDIS_THROTTLE:
      c->rc = pl_redis_throttle(r, c->key, c->interval, c->tolerance, c->pause, now, &c->wait);
      break;
    case PL_REDIS_LOCK: c->rc = pl_redis_lock(r, c->key, c->token, c->ttl_ms, c->renew, now); break;
    default: c->rc = pl_redis_unlock(r, c->key, c->token, now);
  }
  snprintf(c->error, sizeof c->error, "%s", c->rc < 0 ? r->error : "");
}

static void *worker(void *ud) {
  pl_redis *r = ud;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (!r->head && !r->stopping) pthread_cond_wait(&r->more, &r->mu);
    pl_redis_call *c = r->head;
    if (!c) break; /* stopping, and nothing left to run */
    r->head = c->next;
    if (!r->head) r->tail = NULL;
    r->busy = 1;
    pthread_mutex_unlock(&r->mu);
    run_call(r, c);
    pl_loop_post(c->loop, &c->post); /* c belongs to the loop's thread from here */
    pthread_mutex_lock(&r->mu);
    r->busy = 0;
    if (!r->head) pthread_cond_broadcast(&r->idle);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

void pl_redis_call_free(pl_redis_call *c) {
  pl_redis *r = c->redis;
  free(c);
  pl_redis_free(r); /* the call's reference */
}

static void register_drain(void) {
  atexit(drain_at_exit);
}

int pl_redis_submit(pl_redis *r, pl_loop *l, pl_redis_call *c) {
  c->rc = -1;
  c->error[0] = '\0';
  if (!r->started) {
    if (pthread_mutex_init(&r->mu, NULL) != 0) return snprintf(c->error, sizeof c->error, "out of resources"), -1;
    if (pthread_cond_init(&r->more, NULL) != 0 || pthread_cond_init(&r->idle, NULL) != 0) {
      pthread_mutex_destroy(&r->mu);
      return snprintf(c->error, sizeof c->error, "out of resources"), -1;
    }
    /* the thread takes no signals: they belong to the loop's thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int failed = pthread_create(&r->thread, NULL, worker, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (failed) {
      pthread_mutex_destroy(&r->mu);
      pthread_cond_destroy(&r->more);
      pthread_cond_destroy(&r->idle);
      return snprintf(c->error, sizeof c->error, "cannot start a thread"), -1;
    }
    r->started = 1;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_drain);
    pthread_mutex_lock(&all_mu);
    r->next_run = all_running;
    all_running = r;
    pthread_mutex_unlock(&all_mu);
  }
  if (pl_loop_hold(l) != 0) return snprintf(c->error, sizeof c->error, "out of resources"), -1;
  if (c->redis != r) { /* a call handed over again (an abandoned lock's unlock) keeps its reference */
    c->redis = r;
    r->refs++;
  }
  c->loop = l;
  c->next = NULL;
  pthread_mutex_lock(&r->mu);
  if (r->tail)
    r->tail->next = c;
  else
    r->head = c;
  r->tail = c;
  pthread_cond_signal(&r->more);
  pthread_mutex_unlock(&r->mu);
  return 0;
}
