/* Tasks: coroutines scheduled by the event loop.
 * A task is a full userdata (metatable peerlua.task) with two user values:
 * 1 = its coroutine, 2 = its outcome once finished ({n=, ...} for results,
 * {ok=false, err} for an error). While unfinished it is anchored in the
 * registry, so a task nobody references still runs to completion. */
#include <stdlib.h>
#include <string.h>

#include "pl_lua.h"

#if LUA_VERSION_RELEASE_NUM >= 50406
#define close_thread(co, L) lua_closethread((co), (L))
#else
#define close_thread(co, L) ((void)(L), lua_resetthread(co))
#endif

static const char *const state_names[] = {"ready", "running", "waiting", "done", "failed", "cancelled"};

/* ---- ready queue ------------------------------------------------------- */

static void enqueue(pl_ctx *ctx, pl_task *t) {
  t->next = NULL;
  t->prev = ctx->ready_tail;
  if (ctx->ready_tail)
    ctx->ready_tail->next = t;
  else
    ctx->ready_head = t;
  ctx->ready_tail = t;
}

static void dequeue(pl_ctx *ctx, pl_task *t) {
  if (t->prev)
    t->prev->next = t->next;
  else if (ctx->ready_head == t)
    ctx->ready_head = t->next;
  else
    return; /* not queued */
  if (t->next)
    t->next->prev = t->prev;
  else
    ctx->ready_tail = t->prev;
  t->prev = t->next = NULL;
}

void pl_wake(pl_task *w, int why) {
  if (w->state != PL_WAITING) return;
  w->wake = why;
  w->state = PL_READY;
  if (w->co) enqueue(w->ctx, w);
}

static void on_timer(pl_timer *t, void *ud) {
  (void)t;
  pl_wake(ud, PL_WAKE_TIMER);
}

static void unlink_waiter(pl_task *w) {
  pl_task **p = w->target ? &w->target->waiters : NULL;
  for (; p && *p; p = &(*p)->wnext) {
    if (*p == w) {
      *p = w->wnext;
      break;
    }
  }
  w->target = NULL;
  w->wnext = NULL;
}

/* Drop whatever w waits for (timer, transfer, task), without waking it. */
static void detach(pl_task *w) {
  pl_ctx *ctx = w->ctx;
  if (!ctx->closed) pl_loop_timer_stop(ctx->loop, &w->timer);
  if (w->http) {
    pl_http_free(w->http);
    w->http = NULL;
  }
  if (w->post) { /* work on another thread: nobody waits for it now */
    w->post->owner = NULL;
    /* back already: its callback finishes it (2: the loop may be gone) */
    if (w->post->done) w->post->cb(w->post, ctx->closed ? 2 : 0);
    w->post = NULL;
  }
  unlink_waiter(w);
  dequeue(ctx, w);
}

/* ---- finishing --------------------------------------------------------- */

/* [-1, +0] Store the outcome table at the top as t's user value 2, release
 * t and wake its waiters. */
static void finish(lua_State *L, pl_task *t, int state) {
  pl_ctx *ctx = t->ctx;
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->anchor);
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, 2);
  lua_pop(L, 1);
  luaL_unref(L, LUA_REGISTRYINDEX, t->anchor);
  t->anchor = LUA_NOREF;
  t->state = state;
  ctx->alive--;
  while (t->waiters) {
    pl_task *w = t->waiters;
    t->waiters = w->wnext;
    w->wnext = NULL;
    w->target = NULL;
    if (!ctx->closed) pl_loop_timer_stop(ctx->loop, &w->timer);
    pl_wake(w, PL_WAKE_TASK);
  }
}

/* [-0, +1] {ok=false, [1]=nil, [2]=err, n=2} */
static void push_failure(lua_State *L, int erridx) {
  erridx = lua_absindex(L, erridx);
  lua_createtable(L, 2, 2);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "ok");
  lua_pushvalue(L, erridx);
  lua_rawseti(L, -2, 2);
  lua_pushinteger(L, 2);
  lua_setfield(L, -2, "n");
}

/* Whether level's function is one of peerlua's own Lua modules (embedded,
 * so their chunks are named @lua/peerlua/...). */
static int own_frame(lua_Debug *ar) {
  return ar->what[0] != 'C' && strncmp(ar->source, "@lua/peerlua/", 13) == 0;
}

/* core.caller_level() -> the error level, for the function that called
 * it, of the first frame above that function that is neither C nor
 * peerlua's own: so a misused step or option raises at the script's line
 * however deep inside peerlua the check runs (3 when there is none).
 * [-0, +1] */
static int l_caller_level(lua_State *L) {
  lua_pushinteger(L, pl_caller_level(L, 2, 3)); /* 0: this function, 1: the one that will raise */
  return 1;
}

int pl_caller_level(lua_State *L, int from, int none) {
  lua_Debug ar;
  for (int level = from; lua_getstack(L, level, &ar) && lua_getinfo(L, "S", &ar); level++)
    if (ar.what[0] != 'C' && !own_frame(&ar)) return level;
  return none;
}

/* [-0, +1] co's traceback after msg, as luaL_traceback, without the frames
 * at its top that are peerlua's own: when a call into peerlua raises (a
 * method called with a dot, bad arguments), the script's line is what
 * matters, not the library's. The run left out is the top frames up to the
 * first that is neither C nor peerlua's, if peerlua's own are among them;
 * a line says how many. A failure inside peerlua alone shows every frame.
 * A msg that has a traceback already (a task's error, raised again in its
 * caller by peerlua.run or task:wait) is continued by these frames, so the
 * whole reads as one traceback. */
static void push_traceback(lua_State *L, lua_State *co, const char *msg) {
  lua_Debug ar;
  int level = 0, own = 0;
  for (; lua_getstack(co, level, &ar) && lua_getinfo(co, "S", &ar); level++) {
    if (own_frame(&ar))
      own = 1;
    else if (ar.what[0] != 'C')
      break;
  }
  int skip = own && lua_getstack(co, level, &ar) ? level : 0;
  luaL_traceback(L, co, NULL, skip); /* "stack traceback:\n\t..." */
  const char *frames = strchr(lua_tostring(L, -1), '\n');
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (msg) luaL_addstring(&b, msg);
  int more = msg && (strncmp(msg, "stack traceback:\n", 17) == 0 || strstr(msg, "\nstack traceback:\n"));
  if (!more) luaL_addstring(&b, msg ? "\nstack traceback:" : "stack traceback:");
  if (skip) {
    lua_pushfstring(L, "\n\t(%d level%s inside peerlua)", skip, skip == 1 ? "" : "s");
    luaL_addvalue(&b);
  }
  if (frames) luaL_addstring(&b, frames);
  luaL_pushresult(&b);
  lua_remove(L, -2); /* the traceback made */
}

/* Resume t from L and deal with how it stopped. */
static void resume(lua_State *L, pl_task *t) {
  pl_ctx *ctx = t->ctx;
  pl_task *outer = ctx->current;
  lua_State *co = t->co;
  int nres, nargs = t->nargs;
  t->nargs = 0;
  t->state = PL_RUNNING;
  t->wake = PL_WAKE_NONE;
  ctx->current = t;
  int st = lua_resume(co, L, nargs, &nres);
  ctx->current = outer;
  if (st == LUA_YIELD) {
    lua_pop(co, nres);
    if (t->state == PL_RUNNING) { /* a plain coroutine.yield(): let the others run */
      t->state = PL_READY;
      enqueue(ctx, t);
    }
    return;
  }
  luaL_checkstack(L, nres + 4, "too many results");
  if (st == LUA_OK) {
    lua_xmove(co, L, nres);
    lua_createtable(L, nres, 2);
    lua_insert(L, -(nres + 1));
    for (int i = nres; i >= 1; i--) lua_rawseti(L, -(i + 1), i);
    lua_pushinteger(L, nres);
    lua_setfield(L, -2, "n");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "ok");
    finish(L, t, PL_DONE);
  } else {
    /* the error value with the task's traceback */
    lua_xmove(co, L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      push_traceback(L, co, lua_tostring(L, -1));
      lua_remove(L, -2);
    } else if (lua_type(L, -1) == LUA_TTABLE) { /* one raised again goes on from where it was raised */
      lua_getfield(L, -1, "traceback");
      push_traceback(L, co, lua_tostring(L, -1));
      lua_remove(L, -2);
      lua_setfield(L, -2, "traceback");
    }
    close_thread(co, L);
    push_failure(L, -1);
    lua_remove(L, -2);
    finish(L, t, PL_FAILED);
  }
}

/* ---- running the loop -------------------------------------------------- */

/* Resume every task that is ready now (not the ones readied meanwhile). */
static void run_round(lua_State *L, pl_ctx *ctx) {
  pl_task *last = ctx->ready_tail;
  while (ctx->ready_head) {
    pl_task *t = ctx->ready_head;
    dequeue(ctx, t);
    resume(L, t);
    if (t == last) break;
  }
}

enum { RUN_DONE, RUN_INTERRUPTED, RUN_STUCK };

/* The hook of a thread, to tell when someone else's Ctrl-C handler sets one. */
typedef struct hook_seen {
  lua_State *main;
  lua_Hook hook;
  int mask, count;
} hook_seen;

static void hook_look(lua_State *L, hook_seen *h) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  h->main = lua_tothread(L, -1);
  lua_pop(L, 1);
  h->hook = lua_gethook(h->main), h->mask = lua_gethookmask(h->main), h->count = lua_gethookcount(h->main);
}

/* Whether the main thread's hook changed since h was seen; if so it is put
 * back as it was. Under a host that gives no interrupt flag (lua.c, with
 * require "peerlua"), that is how Ctrl-C is told: lua.c's handler sets a
 * hook on the main thread, to stop the script at its next Lua instruction,
 * which would not come before the wait ends; peerlua stops the wait
 * instead, and raises "interrupted!" as the hook would have. */
static int hook_changed(const hook_seen *h) {
  if (lua_gethook(h->main) == h->hook && lua_gethookmask(h->main) == h->mask) return 0;
  lua_sethook(h->main, h->hook, h->mask, h->count);
  return 1;
}

/* How long a wait may block without looking at the hook: a signal ends the
 * wait early when it reaches this thread, but another (a resolver's) may
 * take it. */
#define HOOK_LOOK_EVERY 1.0

/* Under a host with its own Ctrl-C handler but no interrupt flag (lua.c),
 * that handler hooks the main thread only, and a task looping in Lua
 * would never see it. While the loop runs, SIGINT comes here first: the
 * running task's coroutine is hooked to stop as lua.c's handler stops the
 * main thread, then the host's handler runs as it would have (lua.c's
 * hooks the main thread and puts SIGINT back to the default, so a second
 * Ctrl-C ends the process). Only one state's loop takes it at a time. */
static struct sigaction chained_int;
static pl_ctx *volatile sigint_ctx;

static void stop_task(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void on_sigint(int sig) {
  sigaction(sig, &chained_int, NULL);
  lua_State *co = pl_running_thread(sigint_ctx);
  if (co) lua_sethook(co, stop_task, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
  void (*host)(int) = chained_int.sa_handler;
  if (!(chained_int.sa_flags & SA_SIGINFO) && host != SIG_DFL && host != SIG_IGN) host(sig);
}

/* Take SIGINT while the loop runs, if the host handles it with a plain
 * handler of its own: 1 if taken (give it back with sigint_give). */
static int sigint_take(pl_ctx *ctx) {
  struct sigaction cur, ours;
  if (ctx->interrupt || sigint_ctx || sigaction(SIGINT, NULL, &cur) != 0) return 0;
  if ((cur.sa_flags & SA_SIGINFO) || cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN) return 0;
  chained_int = cur;
  sigint_ctx = ctx;
  memset(&ours, 0, sizeof ours);
  ours.sa_handler = on_sigint;
  sigemptyset(&ours.sa_mask);
  sigaction(SIGINT, &ours, NULL);
  return 1;
}

/* Give SIGINT back: as it was, unless a Ctrl-C came and the host's handler
 * has set it as it wants it since. */
static void sigint_give(void) {
  struct sigaction cur;
  if (sigaction(SIGINT, NULL, &cur) == 0 && cur.sa_handler == on_sigint) sigaction(SIGINT, &chained_int, NULL);
  sigint_ctx = NULL;
}

/* Drive the loop until done(ud) holds, the interrupt flag (or, without one,
 * a Ctrl-C seen by the main thread's hook) rises, or nothing is left that
 * could ever make done(ud) true. */
static int drive_until(lua_State *L, pl_ctx *ctx, int (*done)(const void *), const void *ud);

static int run_until(lua_State *L, pl_ctx *ctx, int (*done)(const void *), const void *ud) {
  int taken = sigint_take(ctx);
  int why = drive_until(L, ctx, done, ud);
  if (taken) sigint_give();
  return why;
}

static int drive_until(lua_State *L, pl_ctx *ctx, int (*done)(const void *), const void *ud) {
  hook_seen seen = {NULL, NULL, 0, 0};
  if (!ctx->interrupt) hook_look(L, &seen);
  for (;;) {
    if (done(ud)) return RUN_DONE;
    if (ctx->interrupt ? *ctx->interrupt : hook_changed(&seen)) return RUN_INTERRUPTED;
    if (ctx->ready_head) run_round(L, ctx);
    if (done(ud)) return RUN_DONE;
    if (!ctx->ready_head && !pl_loop_pending(ctx->loop)) return RUN_STUCK;
    pl_loop_step(ctx->loop, ctx->ready_head ? 0 : ctx->interrupt ? -1 : HOOK_LOOK_EVERY);
  }
}

static int woken(const void *ud) {
  return ((const pl_task *)ud)->state != PL_WAITING;
}

static int finished(const void *ud) {
  return ((const pl_task *)ud)->state >= PL_DONE;
}

pl_task *pl_waiter(lua_State *L, pl_ctx *ctx, pl_task *standin) {
  pl_task *t = ctx->current;
  if (t && t->co == L) {
    if (!lua_isyieldable(L))
      luaL_error(L,
                 "cannot wait here: the task is inside a C call that cannot be suspended "
                 "(require, table.sort, string.gsub callback, a __gc or similar); "
                 "move the waiting call out of it");
    return t;
  }
  memset(standin, 0, sizeof *standin);
  standin->ctx = ctx;
  standin->anchor = LUA_NOREF;
  pl_timer_init(&standin->timer);
  return standin;
}

int pl_suspend(lua_State *L, pl_task *w, lua_KFunction k) {
  w->state = PL_WAITING;
  if (w->co) return lua_yieldk(L, 0, (lua_KContext)w, k);
  int why = run_until(L, w->ctx, woken, w);
  if (why != RUN_DONE) {
    detach(w);
    w->state = PL_CANCELLED;
    if (why == RUN_INTERRUPTED) return luaL_error(L, "interrupted!");
    return luaL_error(L,
                      "deadlock: waiting for something that can no longer happen "
                      "(no task is runnable and no timer or transfer is pending)");
  }
  return k(L, LUA_YIELD, (lua_KContext)w);
}

/* ---- spawn ------------------------------------------------------------- */

/* [-(nargs+1), +1] Turn the function below the nargs arguments into a task. */
static pl_task *spawn(lua_State *L, pl_ctx *ctx, int nargs) {
  luaL_checktype(L, -(nargs + 1), LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);                /* f args co */
  lua_insert(L, -(nargs + 2));                     /* co f args */
  lua_xmove(L, co, nargs + 1);                     /* co */
  pl_task *t = lua_newuserdatauv(L, sizeof *t, 2); /* co t */
  memset(t, 0, sizeof *t);
  t->ctx = ctx;
  t->co = co;
  t->nargs = nargs;
  t->anchor = LUA_NOREF;
  pl_timer_init(&t->timer);
  luaL_setmetatable(L, PL_TASK_MT);
  lua_insert(L, -2);           /* t co */
  lua_setiuservalue(L, -2, 1); /* t */
  lua_pushvalue(L, -1);
  t->anchor = luaL_ref(L, LUA_REGISTRYINDEX);
  t->state = PL_READY;
  ctx->alive++;
  enqueue(ctx, t);
  return t;
}

/* peerlua.spawn(fn, ...) -> task  [-(n), +1] */
static int l_spawn(lua_State *L) {
  pl_ctx *ctx = pl_ctx_up(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  spawn(L, ctx, lua_gettop(L) - 1);
  return 1;
}

/* peerlua.now() -> monotonic seconds  [-0, +1] */
static int l_now(lua_State *L) {
  lua_pushnumber(L, pl_loop_now(pl_ctx_up(L)->loop));
  return 1;
}

static int sleep_done(lua_State *L, int status, lua_KContext kc) {
  (void)status;
  (void)kc;
  (void)L;
  return 0;
}

/* peerlua.sleep(seconds)  [-1, +0] */
static int l_sleep(lua_State *L) {
  pl_ctx *ctx = pl_ctx_up(L);
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s == s, 1, "must be a number of seconds >= 0");
  pl_task standin, *w = pl_waiter(L, ctx, &standin);
  pl_loop_timer_start(ctx->loop, &w->timer, s, on_timer, w);
  return pl_suspend(L, w, sleep_done);
}

/* ---- task methods ------------------------------------------------------ */

static pl_task *check_task(lua_State *L, int i) {
  return luaL_checkudata(L, i, PL_TASK_MT);
}

/* [-0, +(n)] Push the outcome of finished task at index i as return values. */
static int push_outcome(lua_State *L, int i, pl_task *t) {
  t->observed = 1;
  lua_getiuservalue(L, i, 2);
  int n = (int)(lua_getfield(L, -1, "n"), lua_tointeger(L, -1));
  lua_pop(L, 1);
  luaL_checkstack(L, n, "too many results");
  for (int k = 1; k <= n; k++) lua_rawgeti(L, -k, k);
  lua_remove(L, -(n + 1));
  return n;
}

static int wait_done(lua_State *L, int status, lua_KContext kc) {
  (void)status;
  pl_task *w = (pl_task *)kc;
  pl_task *t = check_task(L, 1);
  if (t->state >= PL_DONE) return push_outcome(L, 1, t);
  unlink_waiter(w); /* timed out */
  lua_pushnil(L);
  pl_push_error(L, "timeout", "the task did not finish in time");
  return 2;
}

/* task:wait([timeout]) -> results... | nil, err  [-(1|2), +n] */
static int l_task_wait(lua_State *L) {
  pl_task *t = check_task(L, 1);
  lua_Number timeout = luaL_optnumber(L, 2, -1);
  luaL_argcheck(L, lua_isnoneornil(L, 2) || timeout >= 0, 2, "must be a number of seconds >= 0"); /* NaN too */
  lua_settop(L, 1);
  if (t->state >= PL_DONE) return push_outcome(L, 1, t);
  pl_ctx *ctx = t->ctx;
  if (ctx->current == t) return luaL_error(L, "a task cannot wait for itself");
  pl_task standin, *w = pl_waiter(L, ctx, &standin);
  w->target = t;
  w->wnext = t->waiters;
  t->waiters = w;
  if (timeout >= 0) pl_loop_timer_start(ctx->loop, &w->timer, timeout, on_timer, w);
  return pl_suspend(L, w, wait_done);
}

/* task:cancel() -> true if it was still running  [-1, +1] */
static int l_task_cancel(lua_State *L) {
  pl_task *t = check_task(L, 1);
  if (t->state >= PL_DONE) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (t->state == PL_RUNNING)
    return luaL_error(L, "a running task cannot be cancelled (it is the caller or is calling it)");
  detach(t);
  close_thread(t->co, L);
  pl_push_error(L, "cancelled", "the task was cancelled");
  push_failure(L, -1);
  lua_remove(L, -2);
  t->observed = 1; /* cancelling is observing */
  finish(L, t, PL_CANCELLED);
  lua_pushboolean(L, 1);
  return 1;
}

/* task:status() -> "ready"|"running"|"waiting"|"done"|"failed"|"cancelled" */
static int l_task_status(lua_State *L) {
  lua_pushstring(L, state_names[check_task(L, 1)->state]);
  return 1;
}

static int l_task_tostring(lua_State *L) {
  pl_task *t = check_task(L, 1);
  lua_pushfstring(L, "task (%s): %p", state_names[t->state], (void *)t);
  return 1;
}

/* __gc: unfinished tasks are anchored, so they only get here when the
 * state closes (before the context, which was created first). */
static int l_task_gc(lua_State *L) {
  pl_task *t = check_task(L, 1);
  if (t->state < PL_DONE) detach(t);
  if (t->state == PL_FAILED && !t->observed) {
    lua_getiuservalue(L, 1, 2);
    lua_rawgeti(L, -1, 2);
    const char *msg = luaL_tolstring(L, -1, NULL);
    lua_writestringerror("peerlua: a task failed and nobody waited for it: %s\n", msg);
    lua_pop(L, 3);
  }
  return 0;
}

/* ---- C entry points for the host --------------------------------------- */

int pl_run(lua_State *L, int nargs, int nresults) {
  pl_ctx *ctx = pl_ctx_of(L);
  if (!ctx) {
    lua_pushliteral(L, "peerlua is not opened in this state");
    return LUA_ERRRUN;
  }
  int base = lua_gettop(L) - nargs - 1;
  pl_task *t = spawn(L, ctx, nargs); /* base+1 = task */
  int why = run_until(L, ctx, finished, t);
  if (why != RUN_DONE) {
    lua_pushcfunction(L, l_task_cancel);
    lua_pushvalue(L, base + 1);
    lua_call(L, 1, 0);
    lua_settop(L, base);
    if (why == RUN_INTERRUPTED)
      lua_pushliteral(L, "interrupted!");
    else
      lua_pushliteral(L, "deadlock: the task waits for something that can no longer happen");
    return LUA_ERRRUN;
  }
  int n = push_outcome(L, base + 1, t);
  if (t->state != PL_DONE) { /* nil, err */
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return LUA_ERRRUN;
  }
  lua_remove(L, base + 1);
  if (nresults != LUA_MULTRET) {
    for (; n < nresults; n++) lua_pushnil(L);
    lua_settop(L, base + nresults);
  }
  return LUA_OK;
}

static int idle(const void *ud) {
  return ((const pl_ctx *)ud)->alive == 0;
}

int pl_drain(lua_State *L) {
  pl_ctx *ctx = pl_ctx_of(L);
  if (!ctx) return LUA_OK;
  if (run_until(L, ctx, idle, ctx) == RUN_INTERRUPTED) {
    lua_pushliteral(L, "interrupted!");
    return LUA_ERRRUN;
  }
  return LUA_OK;
}

lua_State *pl_running_thread(pl_ctx *ctx) {
  pl_task *t = ctx ? ctx->current : NULL;
  return t ? t->co : NULL;
}

void pl_set_interrupt(lua_State *L, volatile sig_atomic_t *flag) {
  pl_ctx *ctx = pl_ctx_of(L);
  if (ctx) ctx->interrupt = flag;
}

void pl_task_shutdown(pl_ctx *ctx) {
  /* Unfinished tasks are anchored in the registry, which is going away
   * with the state: stop their timers and transfers now. */
  while (ctx->ready_head) dequeue(ctx, ctx->ready_head);
  ctx->closed = 1;
}

void pl_open_task(lua_State *L, int ctxidx) {
  static const luaL_Reg methods[] = {
      {"wait", l_task_wait}, {"cancel", l_task_cancel}, {"status", l_task_status}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {
      {"spawn", l_spawn}, {"sleep", l_sleep}, {"now", l_now}, {"caller_level", l_caller_level}, {NULL, NULL}};
  if (luaL_newmetatable(L, PL_TASK_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_task_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, l_task_gc);
    lua_setfield(L, -2, "__gc");
    /* locked: peerlua waits for tasks of its own (a shared token refresh),
     * whose wait a script must not replace */
    lua_pushliteral(L, PL_TASK_MT);
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  lua_pushvalue(L, ctxidx);
  luaL_setfuncs(L, funcs, 1);
}
