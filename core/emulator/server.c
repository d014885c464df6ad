/* The provider emulator's HTTP server.
 *
 * libmicrohttpd runs in external-polling (epoll) mode inside a thread the
 * server owns; that thread also owns a lua_State whose handler (from the
 * embedded module peerlua.sim) answers every request. A handler may ask
 * for its response to be sent later: the connection is suspended, a timer
 * is queued, and the connection is resumed when it is due, so a delayed
 * response never blocks other requests. A pipe wakes the thread for
 * shutdown. Nothing here is global: signals are handled with sigwait. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "peerlua.h"
#include "pl_heap.h"
#include "pl_lazy.h"
#include "pl_lua.h"
#include "listen.h"
#include "server.h"

#define PL_SERVER_MAX_BODY     ((size_t)1 << 20)  /* larger bodies get a 413 */
#define PL_SERVER_MAX_DISCARD  ((size_t)64 << 20) /* past this, drop the connection */
#define PL_SERVER_MAX_DELAY    3600.0             /* seconds */
#define PL_SERVER_CONN_TIMEOUT 120u               /* idle seconds */
#define PL_SERVER_CONN_LIMIT   4096u

enum { REQ_RECEIVING, REQ_SUSPENDED, REQ_DUE, REQ_DONE };
enum { ACT_NONE, ACT_RESET, ACT_TRUNCATE, ACT_STREAM };

typedef struct pl_server_req pl_server_req;

/* One request, from its headers to its completion (MHD's con_cls). */
struct pl_server_req {
  pl_server *srv;
  struct MHD_Connection *conn;
  const char *method, *url, *version; /* valid during the handler call only */
  char *body;
  size_t len, cap, discarded;
  int too_large;
  int state;
  unsigned status;
  int action;
  double delay;
  struct MHD_Response *resp;  /* prepared, not yet queued */
  pl_timer timer;             /* when suspended */
  pl_server_req *prev, *next; /* list of suspended requests */
};

struct pl_server {
  struct MHD_Daemon *mhd;
  lua_State *L;
  int handler; /* registry ref of the Lua handler */
  int app;     /* registry ref of the emulator app (for --state), or LUA_NOREF */
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

/* Truncated body: MHD is told len bytes, gets cut, then an error. */
typedef struct pl_server_trunc {
  size_t len, cut;
  char data[];
} pl_server_trunc;

/* Streamed body: data repeated to total bytes, its length not announced
 * (chunked), for the tests of a client's body cap. */
typedef struct pl_server_stream {
  uint64_t total;
  size_t len;
  char data[];
} pl_server_stream;

static double pl_server_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double pl_server_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the Lua side ---------------------------------------------------- */

/* [-0, +0] The emulator's modules load through the binding's loader
 * (core/binding/lua_loader.c) with a core of their own: of the runtime's
 * primitives they use only peerlua.json's json_integers. A `require
 * "peerlua"` in this state (the signers) replaces it with the runtime's. */
static void pl_server_install_loader(lua_State *L) {
  pl_install_searcher(L);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, pl_json_integers);
  lua_setfield(L, -2, "json_integers");
  lua_setfield(L, LUA_REGISTRYINDEX, PL_CORE_KEY);
}

/* [-0, +1] () -> wall-clock epoch seconds, fractional */
static int pl_server_l_now(lua_State *L) {
  lua_pushnumber(L, pl_server_wall());
  return 1;
}

/* [-0, +1] () -> monotonic seconds */
static int pl_server_l_clock(lua_State *L) {
  lua_pushnumber(L, pl_server_mono());
  return 1;
}

/* [-1, +1] message -> message with a traceback */
static int pl_server_l_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* [-1, +0] Boot: opts table -> nothing; requires peerlua.sim, calls its
 * handler(opts) and keeps the returned function in the registry (upvalue 1
 * is the server). Raises on any failure. */
static int pl_server_l_boot(lua_State *L) {
  pl_server *s = lua_touserdata(L, lua_upvalueindex(1));
  lua_getglobal(L, "require");
  lua_pushliteral(L, "peerlua.sim");
  lua_call(L, 1, 1);              /* opts sim */
  lua_getfield(L, -1, "handler"); /* opts sim handler */
  lua_pushvalue(L, 1);
  lua_call(L, 1, 2); /* opts sim fn app */
  if (!lua_isfunction(L, -2)) return luaL_error(L, "peerlua.sim.handler did not return a function");
  s->app = luaL_ref(L, LUA_REGISTRYINDEX);
  s->handler = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* MHD iterator: add a header (lower-case name) to the table at the top;
 * a repeated header is joined with ", ". */
static enum MHD_Result pl_server_add_header(void *ud, enum MHD_ValueKind kind, const char *key, const char *value) {
  lua_State *L = ud;
  (void)kind;
  size_t n = strlen(key);
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)key[i];
    p[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  luaL_pushresultsize(&b, n); /* t name */
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) == LUA_TSTRING) { /* t name old */
    lua_pushliteral(L, ", ");
    lua_pushstring(L, value ? value : "");
    lua_concat(L, 3);
  } else {
    lua_pop(L, 1);
    lua_pushstring(L, value ? value : "");
  }
  lua_rawset(L, -3);
  return MHD_YES;
}

/* MHD iterator: add a query argument to the table at the top; repeated
 * keys collect their values in a list. */
static enum MHD_Result pl_server_add_query(void *ud, enum MHD_ValueKind kind, const char *key, const char *value) {
  lua_State *L = ud;
  (void)kind;
  if (!key) return MHD_YES;
  lua_pushstring(L, key); /* t key */
  lua_pushvalue(L, -1);
  switch (lua_rawget(L, -3)) { /* t key old */
    case LUA_TSTRING:
      lua_createtable(L, 2, 0); /* t key old list */
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
      lua_pushstring(L, value ? value : "");
      lua_rawseti(L, -2, 2); /* t key list */
      lua_rawset(L, -3);
      break;
    case LUA_TTABLE:
      lua_pushstring(L, value ? value : "");
      lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      lua_pop(L, 2);
      break;
    default:
      lua_pop(L, 1);
      lua_pushstring(L, value ? value : "");
      lua_rawset(L, -3);
  }
  return MHD_YES;
}

/* [-0, +1] The request table {method, path, query, headers, body, version}.
 * (MHD's value iterators are plain loops, so a memory error raised inside
 * them unwinds nothing of MHD's.) */
static void pl_server_push_request(lua_State *L, pl_server_req *r) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, r->method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, r->url);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, r->version ? r->version : "");
  lua_setfield(L, -2, "version");
  lua_newtable(L);
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, pl_server_add_query, L);
  lua_setfield(L, -2, "query");
  lua_createtable(L, 0, 8);
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, pl_server_add_header, L);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, r->body ? r->body : "", r->len);
  lua_setfield(L, -2, "body");
}

static ssize_t pl_server_trunc_read(void *cls, uint64_t pos, char *buf, size_t max) {
  pl_server_trunc *t = cls;
  if (pos >= t->cut) return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = t->cut - (size_t)pos;
  if (n > max) n = max;
  memcpy(buf, t->data + pos, n);
  return (ssize_t)n;
}

static ssize_t pl_server_stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  pl_server_stream *t = cls;
  if (pos >= t->total) return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = 0;
  for (uint64_t at = pos; n < max && at < t->total; at = pos + n) {
    size_t off = (size_t)(at % t->len), k = t->len - off;
    if (k > max - n) k = max - n;
    if (k > t->total - at) k = (size_t)(t->total - at);
    memcpy(buf + n, t->data + off, k);
    n += k;
  }
  return (ssize_t)n;
}

/* Add one header from the Lua value at the top (string or number). */
static void pl_server_add_resp_header(lua_State *L, pl_server_req *r, const char *name) {
  int t = lua_type(L, -1);
  if (t != LUA_TSTRING && t != LUA_TNUMBER) return;
  const char *v = lua_tostring(L, -1);
  if (MHD_add_response_header(r->resp, name, v) != MHD_YES)
    fprintf(stderr, "peerlua emulator: %s %s: response header '%s' refused\n", r->method, r->url, name);
}

/* [-0, +0] Turn the handler's results at base..top into r->resp (plus
 * status, delay and action). Returns a static message on a bad response. */
static const char *pl_server_to_response(lua_State *L, pl_server_req *r, int base) {
  int top = lua_gettop(L), hidx, tbl = lua_type(L, base) == LUA_TTABLE;
  lua_Integer truncate = -1, stream = 0;
  if (top < base) return "handler returned nothing";
  if (tbl) {
    lua_getfield(L, base, "status");
    lua_getfield(L, base, "headers");
    lua_getfield(L, base, "body");
    lua_getfield(L, base, "delay");
    lua_getfield(L, base, "action");
    lua_getfield(L, base, "truncate");
    if (lua_isinteger(L, -1)) truncate = lua_tointeger(L, -1);
    lua_getfield(L, base, "stream");
    if (lua_isinteger(L, -1)) stream = lua_tointeger(L, -1);
    lua_pop(L, 2);
  } else {
    lua_settop(L, base + 3);
    lua_pushnil(L);
  }
  /* status headers body delay action */
  int st = lua_gettop(L) - 4;
  hidx = st + 1;
  int isint = 0;
  lua_Integer status = lua_type(L, st) == LUA_TNUMBER ? lua_tointegerx(L, st, &isint) : 0;
  if (!isint) return "response status is not an integer";
  if (status < 200 || status > 599) return "response status out of range 200..599";
  r->status = (unsigned)status;
  if (!lua_isnil(L, hidx) && !lua_istable(L, hidx)) return "response headers are not a table";
  int bt = lua_type(L, st + 2);
  if (bt != LUA_TNIL && bt != LUA_TSTRING && bt != LUA_TNUMBER) return "response body is not a string";
  size_t len = 0;
  const char *body = bt == LUA_TNIL ? "" : lua_tolstring(L, st + 2, &len);
  if (!lua_isnil(L, st + 3)) {
    if (!lua_isnumber(L, st + 3)) return "response delay is not a number";
    double d = lua_tonumber(L, st + 3);
    r->delay = d > 0 ? (d < PL_SERVER_MAX_DELAY ? d : PL_SERVER_MAX_DELAY) : 0;
  }
  r->action = ACT_NONE;
  if (!lua_isnil(L, st + 4)) {
    const char *a = lua_tostring(L, st + 4);
    if (a && strcmp(a, "reset") == 0)
      r->action = ACT_RESET;
    else if (a && strcmp(a, "truncate") == 0)
      r->action = ACT_TRUNCATE;
    else if (a && strcmp(a, "stream") == 0 && len > 0 && stream > 0)
      r->action = ACT_STREAM;
    else
      return "unknown response action (expected \"reset\", \"truncate\" or \"stream\" with a body and stream = n)";
  }
  if (r->action == ACT_TRUNCATE) {
    size_t total = len ? len : 1;
    pl_server_trunc *t = malloc(sizeof *t + total);
    if (!t) return "out of memory";
    t->len = total;
    t->cut = truncate >= 0 && (size_t)truncate < total ? (size_t)truncate : total / 2;
    memcpy(t->data, body, len);
    r->resp = MHD_create_response_from_callback(total, 64 * 1024, pl_server_trunc_read, t, free);
    if (!r->resp) free(t);
  } else if (r->action == ACT_STREAM) {
    pl_server_stream *t = malloc(sizeof *t + len);
    if (!t) return "out of memory";
    t->total = (uint64_t)stream;
    t->len = len;
    memcpy(t->data, body, len);
    r->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, pl_server_stream_read, t, free);
    if (!r->resp) free(t);
  } else {
    r->resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  }
  if (!r->resp) return "cannot create the response";
  if (lua_istable(L, hidx)) {
    lua_pushnil(L);
    while (lua_next(L, hidx)) { /* ... name value */
      if (lua_type(L, -2) == LUA_TSTRING) {
        const char *name = lua_tostring(L, -2);
        if (lua_istable(L, -1)) {
          lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
          for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            pl_server_add_resp_header(L, r, name);
            lua_pop(L, 1);
          }
        } else {
          pl_server_add_resp_header(L, r, name);
        }
      }
      lua_pop(L, 1);
    }
  }
  return NULL;
}

/* [-1, +0] lightuserdata request -> nothing: call the handler with the
 * request table (under a traceback) and prepare the response in r->resp;
 * r->resp stays NULL if the handler failed (the failure is logged). */
static int pl_server_l_dispatch(lua_State *L) {
  pl_server_req *r = lua_touserdata(L, 1);
  lua_pushcfunction(L, pl_server_l_traceback);        /* r tb */
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->srv->handler); /* r tb fn */
  pl_server_push_request(L, r);                       /* r tb fn req */
  if (lua_pcall(L, 1, LUA_MULTRET, 2) != LUA_OK) {    /* r tb results... | msg */
    fprintf(stderr, "peerlua emulator: %s %s: %s\n", r->method, r->url, lua_tostring(L, -1));
    return 0;
  }
  const char *bad = pl_server_to_response(L, r, 3);
  if (bad) {
    fprintf(stderr, "peerlua emulator: %s %s: %s\n", r->method, r->url, bad);
    if (r->resp) MHD_destroy_response(r->resp);
    r->resp = NULL;
  }
  return 0;
}

/* Run the handler for a complete request; on failure r->resp is NULL. */
static void pl_server_run_handler(pl_server *s, pl_server_req *r) {
  lua_State *L = s->L;
  lua_pushcfunction(L, pl_server_l_dispatch);
  lua_pushlightuserdata(L, r);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "peerlua emulator: %s %s: %s\n", r->method, r->url, lua_tostring(L, -1));
    if (r->resp) MHD_destroy_response(r->resp);
    r->resp = NULL;
  }
  lua_settop(L, 0);
}

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
  MHD_resume_connection(r->conn);
}

/* Send the prepared response, reset the connection, or send the 500. */
static enum MHD_Result pl_server_deliver(pl_server_req *r) {
  pl_server *s = r->srv;
  r->state = REQ_DONE;
  if (s->stopping) return MHD_NO;
  if (r->action == ACT_RESET) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
      struct linger lg = {1, 0}; /* close sends a TCP reset */
      setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    return MHD_NO;
  }
  if (!r->resp) return MHD_queue_response(r->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, s->failed);
  enum MHD_Result ok = MHD_queue_response(r->conn, r->status, r->resp);
  MHD_destroy_response(r->resp);
  r->resp = NULL;
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
    r->conn = conn;
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
      r->method = method;
      r->url = url;
      r->version = version;
      pl_server_run_handler(s, r);
      r->method = r->url = r->version = NULL;
      if (r->resp && r->delay > 0) {
        r->timer.when = pl_server_mono() + r->delay;
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
  if (r->resp) MHD_destroy_response(r->resp);
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
      double ms = ceil((t->when - pl_server_mono()) * 1000.0);
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
    double now = pl_server_mono();
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

/* Write the --state file through app:save_state (the thread is joined:
 * L is this thread's now). 0 if written or none, -1 (said on stderr) if not. */
static int pl_server_save_state(pl_server *s) {
  if (!s->state || !s->L || s->app == LUA_NOREF) return 0;
  lua_State *L = s->L;
  /* The state may hold tokens the emulated APIs issued: PATH.tmp (renamed to PATH)
   * is made owner-only here, and Lua's io.open then truncates it in place. */
  size_t n = strlen(s->state);
  char *tmp = malloc(n + 5);
  if (tmp) {
    memcpy(tmp, s->state, n);
    memcpy(tmp + n, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      (void)fchmod(fd, 0600); /* one left by an earlier run, of another mode */
      close(fd);
    }
    free(tmp);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->app);
  lua_getfield(L, -1, "save_state");
  lua_insert(L, -2);
  lua_pushstring(L, s->state);
  int ok = lua_pcall(L, 2, 2, 0) == LUA_OK && lua_toboolean(L, -2);
  if (!ok)
    fprintf(stderr, "peerlua emulator: --state %s: not written: %s\n", s->state,
            lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  lua_settop(L, 0);
  return ok ? 0 : -1;
}

/* Whether the --state file can be written when stopped, checked at start:
 * app:save_state writes PATH.tmp and renames it. 0, or -1 with err set. */
static int pl_server_probe_state(const char *path, char *err, size_t errlen) {
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
  if (s->L) lua_close(s->L);
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

/* [-0, +1] Push the options table given to peerlua.sim.handler. */
static void pl_server_push_opts(lua_State *L, const pl_server *s, const pl_server_opts *o, double scale) {
  lua_createtable(L, 0, 8);
  lua_pushnumber(L, scale);
  lua_setfield(L, -2, "time_scale");
  if (o->faults) {
    lua_pushstring(L, o->faults);
    lua_setfield(L, -2, "faults");
  }
  lua_pushinteger(L, (lua_Integer)o->seed);
  lua_setfield(L, -2, "seed");
  if (o->state) {
    lua_pushstring(L, o->state);
    lua_setfield(L, -2, "state");
  }
  if (o->fixture) {
    lua_pushstring(L, o->fixture);
    lua_setfield(L, -2, "fixture");
  }
  lua_pushstring(L, s->url);
  lua_setfield(L, -2, "url");
  lua_pushcfunction(L, pl_server_l_now);
  lua_setfield(L, -2, "now");
  lua_pushcfunction(L, pl_server_l_clock);
  lua_setfield(L, -2, "clock");
}

pl_server *pl_server_start(const pl_server_opts *o, char *err, size_t errlen) {
  static const pl_server_opts defaults = {NULL, 1, NULL, 0, NULL, NULL};
  if (!o) o = &defaults;
  const char *why = pl_lazy_mhd();
  if (why) {
    snprintf(err, errlen, "%s", why);
    return NULL;
  }
  double scale = o->time_scale == 0 ? 1 : o->time_scale;
  if (!(scale > 0) || isinf(scale)) {
    snprintf(err, errlen, "time scale must be a positive number");
    return NULL;
  }
  pl_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->wake[0] = s->wake[1] = -1;
  s->handler = s->app = LUA_NOREF;
  if (o->state && !(s->state = strdup(o->state))) {
    snprintf(err, errlen, "out of memory");
    free(s);
    return NULL;
  }
  pl_heap_init(&s->timers);
  if (o->state && pl_server_probe_state(o->state, err, errlen) != 0) {
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
  s->L = luaL_newstate();
  if (!s->L) {
    snprintf(err, errlen, "cannot create a Lua state");
    goto fail;
  }
  luaL_openlibs(s->L);
  pl_server_install_loader(s->L);
  /* `require "peerlua"` gives the emulator the same primitives as scripts
   * (JSON, the Huawei signer used to verify AK/SK requests). */
  luaL_getsubtable(s->L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(s->L, luaopen_peerlua);
  lua_setfield(s->L, -2, "peerlua");
  lua_pop(s->L, 1);
  lua_pushlightuserdata(s->L, s);
  lua_pushcclosure(s->L, pl_server_l_boot, 1);
  pl_server_push_opts(s->L, s, o, scale);
  if (lua_pcall(s->L, 1, 0, 0) != LUA_OK) {
    snprintf(err, errlen, "emulator: %s", lua_tostring(s->L, -1));
    goto fail;
  }
  lua_settop(s->L, 0);
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
  int rc = pl_server_save_state(s);
  pl_server_free(s);
  return rc;
}

/* Whether pl_server_start's error is the Lua side refusing an option or the
 * fixture (a usage error, exit 2) rather than a resource (a port in use). */
int pl_server_is_usage_error(const char *err) {
  return strncmp(err, "emulator: ", 10) == 0;
}
