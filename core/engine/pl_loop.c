#include "pl_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pl_http.h"
#include "pl_lazy.h"

#define EASY_POOL_MAX 64

struct pl_loop {
  CURLM *multi;
  pl_heap timers;
  size_t running;            /* transfers in the multi handle */
  void *pool[EASY_POOL_MAX]; /* idle easy handles */
  unsigned char configured[EASY_POOL_MAX];
  size_t npool;
  pl_stats stats;
  pl_origins origins;
  FILE *trace;
  int trace_headers; /* also each request's headers */
  /* work held on other threads (pl_loop_hold, pl_loop_post) */
  size_t holds;
  pthread_mutex_t mu; /* guards posted */
  pl_post *posted;    /* newest first */
  int wake[2];        /* self-pipe a post writes to; -1 until the first hold */
};

double pl_loop_now(const pl_loop *l) {
  (void)l;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

pl_loop *pl_loop_new(void) {
  pl_loop *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  pl_heap_init(&l->timers);
  l->wake[0] = l->wake[1] = -1;
  if (pthread_mutex_init(&l->mu, NULL) != 0) {
    free(l);
    return NULL;
  }
  return l;
}

int pl_loop_hold(pl_loop *l) {
  if (l->wake[0] < 0) {
    if (pipe(l->wake) != 0) return l->wake[0] = l->wake[1] = -1, -1;
    for (int i = 0; i < 2; i++) {
      fcntl(l->wake[i], F_SETFD, FD_CLOEXEC);
      fcntl(l->wake[i], F_SETFL, O_NONBLOCK);
    }
  }
  l->holds++;
  return 0;
}

void pl_loop_post(pl_loop *l, pl_post *p) {
  /* the write too under the lock: once p is taken the loop may be freed */
  pthread_mutex_lock(&l->mu);
  p->next = l->posted;
  l->posted = p;
  ssize_t w;
  do w = write(l->wake[1], "x", 1);
  while (w < 0 && errno == EINTR); /* EAGAIN: the pipe is full, so a wake-up is pending anyway */
  pthread_mutex_unlock(&l->mu);
}

/* Run the posts that arrived, oldest first; each ends a hold. */
static void run_posts(pl_loop *l, int closing) {
  char buf[64];
  while (read(l->wake[0], buf, sizeof buf) > 0) {
  }
  pthread_mutex_lock(&l->mu);
  pl_post *p = l->posted, *fifo = NULL;
  l->posted = NULL;
  pthread_mutex_unlock(&l->mu);
  while (p) { /* reverse: newest first -> oldest first */
    pl_post *next = p->next;
    p->next = fifo;
    fifo = p;
    p = next;
  }
  while (fifo) {
    pl_post *next = fifo->next;
    l->holds--;
    fifo->cb(fifo, closing);
    fifo = next;
  }
}

/* The multi handle is made with the first transfer, so that a script that
 * sends no request never loads libcurl (see pl_lazy.h). */
static int open_multi(pl_loop *l, pl_http *h) {
  static const long conns = 32;
  const char *why = pl_lazy_curl();
  if (!why && !(l->multi = curl_multi_init())) why = "out of memory";
  if (why) {
    h->err = PL_HTTP_NETWORK;
    snprintf(h->errmsg, sizeof h->errmsg, "%s", why);
    return -1;
  }
  curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, conns);
  return 0;
}

void pl_loop_free(pl_loop *l) {
  if (!l) return;
  while (l->holds) { /* work on other threads ends in bounded time (their own timeouts) */
    struct pollfd in = {l->wake[0], POLLIN, 0};
    poll(&in, 1, 1000);
    run_posts(l, 1);
  }
  pthread_mutex_lock(&l->mu); /* the last poster has let go */
  pthread_mutex_unlock(&l->mu);
  if (l->wake[0] >= 0) close(l->wake[0]), close(l->wake[1]);
  pthread_mutex_destroy(&l->mu);
  pl_heap_free(&l->timers);
  for (size_t i = 0; i < l->npool; i++) curl_easy_cleanup(l->pool[i]);
  if (l->multi) curl_multi_cleanup(l->multi); /* running transfers belong to their owners */
  free(l);
}

int pl_loop_timer_start(pl_loop *l, pl_timer *t, double delay, pl_timer_cb cb, void *ud) {
  pl_heap_remove(&l->timers, t);
  t->when = pl_loop_now(l) + (delay > 0 ? delay : 0);
  t->cb = cb;
  t->ud = ud;
  return pl_heap_push(&l->timers, t);
}

void pl_loop_timer_stop(pl_loop *l, pl_timer *t) {
  pl_heap_remove(&l->timers, t);
}

size_t pl_loop_pending(const pl_loop *l) {
  return l->timers.n + l->running + l->holds;
}

pl_stats *pl_loop_stats(pl_loop *l) {
  return &l->stats;
}
pl_origins *pl_loop_origins(pl_loop *l) {
  return &l->origins;
}
void pl_loop_set_trace(pl_loop *l, FILE *f, int headers) {
  l->trace = f;
  l->trace_headers = headers;
}
FILE *pl_loop_trace(const pl_loop *l) {
  return l->trace;
}

void *pl_loop_easy_get(pl_loop *l, int *configured) {
  if (l->npool) {
    l->npool--;
    *configured = l->configured[l->npool];
    return l->pool[l->npool];
  }
  *configured = 0;
  return curl_easy_init();
}

void pl_loop_easy_put(pl_loop *l, void *easy, int configured) {
  if (!easy) return;
  if (l->npool < EASY_POOL_MAX) {
    if (!configured) curl_easy_reset(easy);
    l->configured[l->npool] = (unsigned char)configured;
    l->pool[l->npool++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

int pl_loop_start(pl_loop *l, pl_http *h) {
  if (!l->multi && open_multi(l, h) != 0) return -1;
  if (pl_http_prepare(h) != 0) return -1;
  if (curl_multi_add_handle(l->multi, h->easy) != CURLM_OK) {
    h->err = PL_HTTP_NOMEM;
    snprintf(h->errmsg, sizeof h->errmsg, "could not start the transfer");
    return -1;
  }
  h->started = pl_loop_now(l);
  h->running = 1;
  l->running++;
  return 0;
}

void pl_loop_abort(pl_loop *l, pl_http *h) {
  if (!h->running) return;
  curl_multi_remove_handle(l->multi, h->easy);
  h->running = 0;
  l->running--;
}

/* Hand finished transfers to their owners; returns how many finished. */
static int finish_transfers(pl_loop *l) {
  CURLMsg *m;
  int left, n = 0;
  while ((m = curl_multi_info_read(l->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    pl_http *h = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&h);
    CURLcode rc = m->data.result;
    curl_multi_remove_handle(l->multi, m->easy_handle);
    h->running = 0;
    l->running--;
    h->elapsed = pl_loop_now(l) - h->started;
    pl_http_finish(h, rc);
    l->stats.requests++;
    l->stats.bytes_sent += h->body.len;
    l->stats.bytes_received += h->resp_body.len;
    if (l->trace) pl_http_trace(h, l->trace, l->trace_headers);
    n++;
    if (h->done) h->done(h, h->ud);
  }
  return n;
}

static void fire_timers(pl_loop *l) {
  double now = pl_loop_now(l);
  pl_timer *t;
  while ((t = pl_heap_peek(&l->timers)) && t->when <= now) {
    pl_heap_pop(&l->timers);
    t->cb(t, t->ud);
  }
}

int pl_loop_step(pl_loop *l, double max_wait) {
  int rc = 0;
  pl_timer *next = pl_heap_peek(&l->timers);
  double wait = max_wait;
  if (next) {
    double until = next->when - pl_loop_now(l);
    if (until < 0) until = 0;
    if (wait < 0 || until < wait) wait = until;
  }
  if (wait < 0 && !l->running && !l->holds) wait = 0; /* nothing could ever wake us */
  int ms = wait < 0 ? 60000 : (int)(wait * 1000 + 0.999);
  struct curl_waitfd posts = {l->wake[0], CURL_WAIT_POLLIN, 0};
  int watch = l->wake[0] >= 0;
  if (l->running) {
    int still, nfds;
    curl_multi_perform(l->multi, &still);
    if (finish_transfers(l) == 0 && l->running && ms > 0) {
      /* a signal ends the poll early (curl treats EINTR as a wake-up) */
      curl_multi_poll(l->multi, watch ? &posts : NULL, watch ? 1 : 0, ms, &nfds);
      curl_multi_perform(l->multi, &still);
      finish_transfers(l);
    }
  } else if (ms > 0) {
    struct pollfd in = {l->wake[0], POLLIN, 0};
    if (poll(watch ? &in : NULL, watch ? 1 : 0, ms) < 0 && errno == EINTR) rc = -1;
  }
  if (watch) run_posts(l, 0);
  fire_timers(l);
  return rc;
}
