/* Work finished on another thread and handed back to the loop
 * (pl_loop_hold, pl_loop_post): the loop waits for it, wakes when it is
 * posted, runs its callback on its own thread, oldest first, and a loop
 * freed with work still out waits for it and hands it back as closing. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pl_loop.h"

typedef struct job {
  pl_post post;
  pl_loop *loop;
  int delay_ms, order, closing;
  pthread_t by; /* the thread its callback ran on */
} job;

static int finished;

static void back(pl_post *p, int closing) {
  job *j = (job *)p;
  j->order = ++finished;
  j->closing = closing;
  j->by = pthread_self();
}

static void *work(void *ud) {
  job *j = ud;
  struct timespec ts = {0, (long)j->delay_ms * 1000000L};
  nanosleep(&ts, NULL);
  pl_loop_post(j->loop, &j->post);
  return NULL;
}

int main(void) {
  pl_loop *l = pl_loop_new();
  if (!l) return fprintf(stderr, "pl_loop_new failed\n"), 1;
  CHECK(pl_loop_pending(l) == 0);

  /* two jobs, the second posted first: callbacks in the order posted */
  job a = {{back, NULL, NULL, 0}, l, 80, 0, -1, 0}, b = {{back, NULL, NULL, 0}, l, 20, 0, -1, 0};
  CHECK(pl_loop_hold(l) == 0 && pl_loop_hold(l) == 0);
  CHECK(pl_loop_pending(l) == 2);
  pthread_t ta, tb;
  pthread_create(&ta, NULL, work, &a);
  pthread_create(&tb, NULL, work, &b);
  double started = pl_loop_now(l);
  while (pl_loop_pending(l)) pl_loop_step(l, -1); /* waits: nothing else is pending */
  CHECK(pl_loop_now(l) - started < 5);            /* woken by the posts, not by a 60 s poll */
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  CHECK(b.order == 1 && a.order == 2);
  CHECK(a.closing == 0 && b.closing == 0);
  CHECK(pthread_equal(a.by, pthread_self()) && pthread_equal(b.by, pthread_self()));

  /* freed with a job still out: waits for it, callback says closing */
  job c = {{back, NULL, NULL, 0}, l, 30, 0, -1, 0};
  CHECK(pl_loop_hold(l) == 0);
  pthread_t tc;
  pthread_create(&tc, NULL, work, &c);
  pl_loop_free(l);
  pthread_join(tc, NULL);
  CHECK(c.order == 3 && c.closing == 1);
  return check_report("post");
}
