/* The provider emulator's HTTP server.
 *
 * libmicrohttpd runs in external-polling (epoll) mode inside a thread the
 * server owns; that thread also owns the Lua handler (handler.c) that
 * answers every request. A handler may ask
 * for its response to be sent later: the connection is suspended, a timer
 * is queued, and the connection is resumed when it is due, so a delayed
 * response never blocks other requests. A pipe wakes the thread for
 * shutdown. Nothing here is global: signals are handled with sigwait. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "pl_heap.h"
#include "pl_lazy.h"
#include "handler.h"
#include "listen.h"
#include "server.h"

#define PL_SERVER_MAX_BODY     ((size_t)1 << 20)  /* larger bodies get a 413 */
#define PL_SERVER_MAX_DISCARD  ((size_t)64 << 20) /* past this, drop the connection */
#define PL_SERVER_CONN_TIMEOUT 120u               /* idle seconds */
#define PL_SERVER_CONN_LIMIT   4096u

enum { REQ_RECEIVING, REQ_SUSPENDED, REQ_DUE, REQ_DONE };

typedef struct pl_server_req pl_server_req;

/* One request, from its headers to its completion (MHD's con_cls). */
struct pl_server_req {
  pl_server *srv;
  pl_exchange x; /* the request for the handler, and its answer (x.resp: prepared, not yet queued) */
  char *body;
  size_t len, cap, discarded;
  int too_large;
  int state;
  pl_timer timer;             /* when suspended */
  pl_server_req *prev, *next; /* list of suspended requests */
};

struct pl_server {
  struct MHD_Daemon *mhd;
  pl_handler lua;
  char *state; /* --state FILE, or NULL */
  pthread_t thread;
  int running; /* thread created */
  int wake[2]; /* pipe: a byte means stop */
  int epoll_fd;
  pl_heap timers;
  pl_server_req *suspended;
  int stopping;
  struct MHD_Response *too_large; /* shared canned responses */
  struct MHD_Response *failed;
  char url[128];
};

/* ---- requests -------------------------------------------------------- */

static void pl_server_unlink(pl_server_req *r) {
  pl_server *s = r->srv;
  if (r->prev)
    r->prev->next = r->next;
  else
    s->suspended = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

static void pl_server_resume(pl_server_req *r) {
  pl_heap_remove(&r->srv->timers, &r->timer);
  pl_server_unlink(r);
  r->state = REQ_DUE;
  MHD_resume_connection(r->x.conn);
}

/* Send the prepared response, reset the connection, or send the 500. */
static enum MHD_Result pl_server_deliver(pl_server_req *r) {
  pl_server *s = r->srv;
  r->state = REQ_DONE;
  if (s->stopping) return MHD_NO;
  if (r->x.action == PL_ACT_RESET) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->x.conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
      struct linger lg = {1, 0}; /* close sends a TCP reset */
      setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    return MHD_NO;
  }
  if (!r->x.resp) return MHD_queue_response(r->x.conn, MHD_HTTP_INTERNAL_SERVER_ERROR, s->failed);
  enum MHD_Result ok = MHD_queue_response(r->x.conn, r->x.status, r->x.resp);
  MHD_destroy_response(r->x.resp);
  r->x.resp = NULL;
  return ok;
}

/* Is the Content-Length header larger than the cap? */
static int pl_server_too_long(const char *cl) {
  size_t n = strspn(cl, " \t");
  const char *d = cl + n;
  size_t digits = strspn(d, "0123456789");
  if (digits == 0) return 0; /* MHD rejects malformed lengths itself */
  if (digits > 12) return 1;
  return strtoull(d, NULL, 10) > PL_SERVER_MAX_BODY;
}

static enum MHD_Result pl_server_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                            const char *version, const char *data, size_t *size, void **con_cls) {
  pl_server *s = cls;
  pl_server_req *r = *con_cls;
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->srv = s;
    r->x.conn = conn;
    pl_timer_init(&r->timer);
    r->timer.ud = r;
    *con_cls = r;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && pl_server_too_long(cl)) {
      r->state = REQ_DONE;
      return MHD_queue_response(conn, MHD_HTTP_CONTENT_TOO_LARGE, s->too_large);
    }
    return MHD_YES;
  }
  switch (r->state) {
    case REQ_RECEIVING:
      if (*size) {
        size_t n = *size;
        *size = 0;
        if (!r->too_large && r->len + n > PL_SERVER_MAX_BODY) {
          r->too_large = 1;
          free(r->body);
          r->body = NULL;
          r->discarded = r->len;
          r->len = r->cap = 0;
        }
        if (r->too_large) {
          r->discarded += n;
          return r->discarded > PL_SERVER_MAX_DISCARD ? MHD_NO : MHD_YES;
        }
        if (r->len + n > r->cap) {
          size_t cap = r->cap ? r->cap : 4096;
          while (cap < r->len + n) cap *= 2;
          if (cap > PL_SERVER_MAX_BODY) cap = PL_SERVER_MAX_BODY;
          char *p = realloc(r->body, cap);
          if (!p) return MHD_NO;
          r->body = p;
          r->cap = cap;
        }
        memcpy(r->body + r->len, data, n);
        r->len += n;
        return MHD_YES;
      }
      if (r->too_large) {
        r->state = REQ_DONE;
        return MHD_queue_response(conn, MHD_HTTP_CONTENT_TOO_LARGE, s->too_large);
      }
      if (s->stopping) return MHD_NO;
      r->x.method = method;
      r->x.url = url;
      r->x.version = version;
      r->x.body = r->body;
      r->x.len = r->len;
      pl_handler_answer(&s->lua, &r->x);
      r->x.method = r->x.url = r->x.version = NULL;
      if (r->x.resp && r->x.delay > 0) {
        r->timer.when = pl_handler_mono() + r->x.delay;
        if (pl_heap_push(&s->timers, &r->timer) == 0) {
          r->state = REQ_SUSPENDED;
          r->next = s->suspended;
          if (r->next) r->next->prev = r;
          s->suspended = r;
          MHD_suspend_connection(conn);
          return MHD_YES;
        }
      }
      return pl_server_deliver(r);
    case REQ_DUE: return pl_server_deliver(r);
    case REQ_SUSPENDED: return MHD_YES;
    default: /* REQ_DONE: a response is queued; ignore what is left of the body */ *size = 0; return MHD_YES;
  }
}

static void pl_server_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                   enum MHD_RequestTerminationCode toe) {
  pl_server_req *r = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (!r) return;
  if (r->state == REQ_SUSPENDED) {
    pl_heap_remove(&r->srv->timers, &r->timer);
    pl_server_unlink(r);
  }
  if (r->x.resp) MHD_destroy_response(r->x.resp);
  free(r->body);
  free(r);
  *con_cls = NULL;
}

/* ---- the server thread ----------------------------------------------- */

static void *pl_server_thread(void *ud) {
  pl_server *s = ud;
  struct pollfd pf[2];
  pf[0].fd = s->epoll_fd;
  pf[0].events = POLLIN;
  pf[1].fd = s->wake[0];
  pf[1].events = POLLIN;
  for (;;) {
    int timeout = -1;
    MHD_UNSIGNED_LONG_LONG mt;
    if (MHD_get_timeout(s->mhd, &mt) == MHD_YES) timeout = mt > INT_MAX ? INT_MAX : (int)mt;
    pl_timer *t = pl_heap_peek(&s->timers);
    if (t) {
      double ms = ceil((t->when - pl_handler_mono()) * 1000.0);
      int tm = ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
      if (timeout < 0 || tm < timeout) timeout = tm;
    }
    pf[0].revents = pf[1].revents = 0;
    if (poll(pf, 2, timeout) < 0 && errno != EINTR) {
      fprintf(stderr, "peerlua emulator: poll: %s\n", strerror(errno));
      break;
    }
    if (pf[1].revents) {
      char buf[16];
      if (read(s->wake[0], buf, sizeof buf) != 0) break;
    }
    double now = pl_handler_mono();
    while ((t = pl_heap_peek(&s->timers)) && t->when <= now) pl_server_resume(t->ud);
    MHD_run(s->mhd);
  }
  /* Shutdown: every suspended connection must be resumed before
   * MHD_stop_daemon; they are closed without a response. */
  s->stopping = 1;
  while (s->suspended) pl_server_resume(s->suspended);
  MHD_run(s->mhd);
  return NULL;
}

/* ---- public API ------------------------------------------------------ */

/* Whether the --state file can be written when stopped, checked at start:
 * app:save_state writes PATH.tmp and renames it. 0, or -1 with e set. */
static int pl_server_probe_state(const char *path, pl_server_error *e) {
  char *err = e->message;
  size_t errlen = sizeof e->message;
  size_t n = strlen(path);
  char *tmp = malloc(n + 5);
  if (!tmp) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  memcpy(tmp, path, n);
  memcpy(tmp + n, ".tmp", 5);
  int existed = access(tmp, F_OK) == 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "emulator: --state %s: cannot be written: %s", path, strerror(errno));
    e->refused = "state";
    free(tmp);
    return -1;
  }
  close(fd);
  if (!existed) unlink(tmp);
  free(tmp);
  return 0;
}

static void pl_server_free(pl_server *s) {
  if (s->mhd) MHD_stop_daemon(s->mhd);
  if (s->too_large) MHD_destroy_response(s->too_large);
  if (s->failed) MHD_destroy_response(s->failed);
  pl_handler_close(&s->lua);
  if (s->wake[0] >= 0) close(s->wake[0]);
  if (s->wake[1] >= 0) close(s->wake[1]);
  pl_heap_free(&s->timers);
  free(s->state);
  free(s);
}

static struct MHD_Response *pl_server_canned(const char *json, int close) {
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_PERSISTENT);
  if (!r) return NULL;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  if (close) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  return r;
}

pl_server *pl_server_start(const pl_server_opts *o, pl_server_error *e) {
  static const pl_server_opts defaults = {NULL, 1, NULL, 0, NULL, NULL};
  char *err = e->message;
  size_t errlen = sizeof e->message;
  e->refused = NULL;
  if (!o) o = &defaults;
  const char *why = pl_lazy_mhd();
  if (why) {
    snprintf(err, errlen, "%s", why);
    return NULL;
  }
  double scale = o->time_scale == 0 ? 1 : o->time_scale;
  if (!(scale > 0) || isinf(scale)) {
    snprintf(err, errlen, "time scale must be a positive number");
    e->refused = "time-scale";
    return NULL;
  }
  pl_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->wake[0] = s->wake[1] = -1;
  if (o->state && !(s->state = strdup(o->state))) {
    snprintf(err, errlen, "out of memory");
    free(s);
    return NULL;
  }
  pl_heap_init(&s->timers);
  if (o->state && pl_server_probe_state(o->state, e) != 0) {
    pl_server_free(s);
    return NULL;
  }
  int family = AF_INET;
  int fd =
      pl_listen_bind(o->listen ? o->listen : PL_SERVER_DEFAULT_LISTEN, s->url, sizeof s->url, &family, err, errlen);
  if (fd < 0) {
    pl_server_free(s);
    return NULL;
  }
  /* The Lua side is loaded here so that its errors reach the caller. */
  if (pl_handler_open(&s->lua, o, scale, s->url, e) != 0) goto fail;
  s->too_large = pl_server_canned("{\"error\":\"request body too large\"}", 1);
  s->failed = pl_server_canned("{\"error\":\"emulator handler failed\"}", 0);
  if (!s->too_large || !s->failed || pipe(s->wake) != 0) {
    snprintf(err, errlen, "out of resources: %s", strerror(errno));
    goto fail;
  }
  for (int i = 0; i < 2; i++) {
    fcntl(s->wake[i], F_SETFD, FD_CLOEXEC);
    fcntl(s->wake[i], F_SETFL, O_NONBLOCK);
  }
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
  if (family == AF_INET6) flags |= MHD_USE_IPv6;
  s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, pl_server_on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_NOTIFY_COMPLETED, pl_server_on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
                            PL_SERVER_CONN_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT, PL_SERVER_CONN_LIMIT, MHD_OPTION_END);
  if (!s->mhd) {
    snprintf(err, errlen, "cannot start the HTTP server on %s", s->url);
    goto fail;
  }
  fd = -1; /* owned by MHD now */
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  if (!di) {
    snprintf(err, errlen, "cannot get the HTTP server's epoll descriptor");
    goto fail;
  }
  s->epoll_fd = di->epoll_fd;
  /* The thread takes no asynchronous signals: they belong to the caller. */
  sigset_t all, old;
  sigfillset(&all);
  sigdelset(&all, SIGSEGV);
  sigdelset(&all, SIGBUS);
  sigdelset(&all, SIGFPE);
  sigdelset(&all, SIGILL);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int rc = pthread_create(&s->thread, NULL, pl_server_thread, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    snprintf(err, errlen, "cannot start the server thread: %s", strerror(rc));
    goto fail;
  }
  s->running = 1;
  return s;
fail:
  if (fd >= 0) close(fd);
  pl_server_free(s);
  return NULL;
}

const char *pl_server_url(const pl_server *s) {
  return s->url;
}

int pl_server_available(void) {
  return 1;
}

int pl_server_stop(pl_server *s) {
  if (!s) return 0;
  if (s->running) {
    ssize_t w;
    do w = write(s->wake[1], "q", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
  }
  int rc = pl_handler_save_state(&s->lua, s->state); /* the thread is joined: its state is ours now */
  pl_server_free(s);
  return rc;
}
