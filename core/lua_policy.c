/* Throttle, retry and signing policies (pl_gcra, pl_retry, pl_sign) seen
 * from Lua. The state (throttle keys, retry budgets) lives in the context,
 * keyed by "provider:credential", so every client of one account in this
 * state shares it. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "pl_gcra.h"
#include "pl_lock.h"
#include "pl_lua.h"
#include "pl_redis.h"
#include "pl_retry.h"

#define PL_REDIS_MT "peerlua.throttle.redis"

struct pl_policy {
  pl_throttle throttle;
  uint64_t rng; /* jitter: xorshift64*, seeded per state so processes do not retry in step */
};

/* [-0, +0] The policy state of ctx, created on first use. */
static pl_policy *policy(pl_ctx *ctx) {
  if (!ctx->policy) {
    ctx->policy = calloc(1, sizeof *ctx->policy);
    if (ctx->policy) {
      pl_throttle_init(&ctx->policy->throttle);
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ctx->policy->rng =
          ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)ctx;
      if (!ctx->policy->rng) ctx->policy->rng = 1;
    }
  }
  return ctx->policy;
}

/* Uniform in [0, 1). */
static double jitter(pl_policy *p) {
  uint64_t x = p->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  p->rng = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static pl_gcra *key_gcra(lua_State *L, pl_ctx *ctx, const char *key) {
  pl_policy *p = policy(ctx);
  pl_gcra *g = p ? pl_throttle_find(&p->throttle, key) : NULL;
  if (!g) luaL_error(L, "throttle key '%s' is not configured", key);
  return g;
}

/* core.throttle_config(key, rate, burst)  [-3, +0] */
static int l_throttle_config(lua_State *L) {
  pl_ctx *ctx = pl_ctx_up(L);
  const char *key = luaL_checkstring(L, 1);
  double rate = luaL_checknumber(L, 2), burst = luaL_checknumber(L, 3);
  pl_policy *p = policy(ctx);
  if (!p || !pl_throttle_get(&p->throttle, key, rate, burst)) return luaL_error(L, "out of memory");
  return 0;
}

/* core.throttle_reserve(key) -> seconds to wait before sending  [-1, +1] */
static int l_throttle_reserve(lua_State *L) {
  pl_ctx *ctx = pl_ctx_up(L);
  pl_gcra *g = key_gcra(L, ctx, luaL_checkstring(L, 1));
  lua_pushnumber(L, pl_gcra_reserve(g, pl_loop_now(ctx->loop)));
  return 1;
}

/* core.throttle_pause(key, seconds): nobody on key sends before then  [-2, +0] */
static int l_throttle_pause(lua_State *L) {
  pl_ctx *ctx = pl_ctx_up(L);
  pl_gcra *g = key_gcra(L, ctx, luaL_checkstring(L, 1));
  pl_gcra_pause_until(g, pl_loop_now(ctx->loop) + luaL_checknumber(L, 2));
  return 0;
}

/* ---- the shared throttle on Redis (pl_redis.h) ------------------------- */

static pl_redis **check_redis(lua_State *L, int idx) {
  pl_redis **r = luaL_checkudata(L, idx, PL_REDIS_MT);
  if (!*r) luaL_error(L, "the shared throttle is closed");
  return r;
}

static int redis_gc(lua_State *L) {
  pl_redis **r = luaL_checkudata(L, 1, PL_REDIS_MT);
  pl_redis_free(*r);
  *r = NULL;
  return 0;
}

/* core.redis_new(url, prefix) -> handle | nil, message  [-2, +1|2] */
static int l_redis_new(lua_State *L) {
  const char *url = luaL_checkstring(L, 1), *prefix = luaL_checkstring(L, 2);
  pl_redis **r = lua_newuserdatauv(L, sizeof *r, 0);
  char err[256];
  *r = pl_redis_new(url, prefix, err, sizeof err);
  if (!*r) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  if (luaL_newmetatable(L, PL_REDIS_MT)) {
    lua_pushcfunction(L, redis_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, redis_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  return 1;
}

/* ---- Redis calls, off the loop's thread --------------------------------
 * Each call is handed to the handle's own thread (pl_redis_submit) and the
 * calling task waits for it, so a slow or silent Redis stalls only the
 * tasks that need it. */

static void unlock_back(pl_post *p, int closing);
static int redis_fail(lua_State *L, pl_redis *r, pl_redis_call *c);

/* The loop's thread, when a call is back: wake its task; or, if nobody
 * waits for it any more (or the loop is closing), finish it. */
static void redis_back(pl_post *p, int closing) {
  pl_redis_call *c = (pl_redis_call *)p;
  if (p->owner && !closing) {
    p->done = 1;
    pl_wake(p->owner, PL_WAKE_POST);
    return;
  }
  if (p->owner) ((pl_task *)p->owner)->post = NULL; /* closing: its task will not resume */
  /* Nobody waits for it (the task was cancelled or interrupted, or the
   * state is closing). A lock it took would stay taken until it expires,
   * so the same call goes back as its unlock, unless the loop is gone. */
  if (closing != 2 && c->op == PL_REDIS_LOCK && !c->renew && c->rc == 1) {
    c->op = PL_REDIS_UNLOCK;
    c->post.cb = unlock_back;
    c->post.owner = NULL;
    c->post.done = 0;
    if (pl_redis_submit(c->redis, c->loop, c) == 0) return;
  }
  pl_redis_call_free(c);
}

/* Submit c and suspend the caller until it is back, then k; or nil and
 * the reason at once if it cannot be handed over. */
static int redis_wait(lua_State *L, pl_redis *r, pl_redis_call *c, lua_KFunction k) {
  pl_ctx *ctx = pl_ctx_up(L);
  pl_task standin, *w = pl_waiter(L, ctx, &standin);
  c->post.cb = redis_back;
  c->post.owner = w;
  if (pl_redis_submit(r, ctx->loop, c) != 0) return redis_fail(L, r, c); /* never handed over */
  w->post = &c->post;
  return pl_suspend(L, w, k);
}

/* The call w waited for, now w's to free. */
static pl_redis_call *redis_result(pl_task *w) {
  pl_redis_call *c = (pl_redis_call *)w->post;
  w->post = NULL;
  return c;
}

/* [-0, +2] nil, "redis at host:port: why"; frees c */
static int redis_fail(lua_State *L, pl_redis *r, pl_redis_call *c) {
  luaL_pushfail(L);
  lua_pushfstring(L, "redis at %s: %s", pl_redis_where(r), c->error);
  pl_redis_call_free(c);
  return 2;
}

/* A new call; for one the caller waits for, raises first if the caller is
 * a task that cannot wait here (so nothing is allocated then). */
static pl_redis_call *new_call(lua_State *L, int op, const char *key) {
  pl_task probe;
  if (op != PL_REDIS_UNLOCK) (void)pl_waiter(L, pl_ctx_up(L), &probe);
  if (strlen(key) >= sizeof((pl_redis_call *)0)->key) luaL_error(L, "redis key too long");
  pl_redis_call *c = calloc(1, sizeof *c);
  if (!c) luaL_error(L, "out of memory");
  c->op = op;
  snprintf(c->key, sizeof c->key, "%s", key);
  return c;
}

static int throttle_done(lua_State *L, int status, lua_KContext kc) {
  (void)status;
  pl_redis_call *c = redis_result((pl_task *)kc);
  if (c->rc != 0) return redis_fail(L, c->redis, c); /* the handle may be closed by now: c keeps it */
  lua_pushnumber(L, c->wait);
  pl_redis_call_free(c);
  return 1;
}

/* core.redis_throttle(handle, key, rate, burst, pause) -> seconds to wait
 * (pause > 0: 0 after pausing key) | nil, message  [-5, +1|2]; waits */
static int l_redis_throttle(lua_State *L) {
  pl_redis *r = *check_redis(L, 1);
  pl_gcra g;
  pl_gcra_init(&g, luaL_checknumber(L, 3), luaL_checknumber(L, 4));
  lua_Number pause = luaL_checknumber(L, 5);
  pl_redis_call *c = new_call(L, PL_REDIS_THROTTLE, luaL_checkstring(L, 2));
  c->interval = g.interval;
  c->tolerance = g.tolerance;
  c->pause = pause;
  return redis_wait(L, r, c, throttle_done);
}

/* ---- ensure locks (pl_lock.h, pl_redis.h) ------------------------------ */

#define PL_LOCK_MT "peerlua.lock"

static int lock_gc(lua_State *L) {
  int *fd = luaL_checkudata(L, 1, PL_LOCK_MT);
  pl_lock_release(*fd);
  *fd = -1;
  return 0;
}

/* core.lock_file(key) -> handle | false, holder pid | nil, message
 * [-1, +(1|2)]. The handle holds the lock until core.lock_release(handle),
 * its collection, or the process's end. */
static int l_lock_file(lua_State *L) {
  size_t len;
  const char *key = luaL_checklstring(L, 1, &len);
  char dir[4096], err[512];
  long holder = 0;
  if (pl_lock_dir(dir, sizeof dir, err, sizeof err) != 0) return luaL_pushfail(L), lua_pushstring(L, err), 2;
  int *fd = lua_newuserdatauv(L, sizeof *fd, 0);
  *fd = pl_lock_try(dir, key, len, &holder, err, sizeof err);
  if (*fd == PL_LOCK_BUSY) return lua_pushboolean(L, 0), lua_pushinteger(L, holder), 2;
  if (*fd < 0) return luaL_pushfail(L), lua_pushstring(L, err), 2;
  if (luaL_newmetatable(L, PL_LOCK_MT)) {
    lua_pushcfunction(L, lock_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return 1;
}

/* core.lock_release(handle)  [-1, +0] */
static int l_lock_release(lua_State *L) {
  return lock_gc(L);
}

/* key's lock name in Redis: its hash, so no account name is stored there */
static const char *redis_lock_key(lua_State *L, int idx, char out[17]) {
  size_t len;
  const char *key = luaL_checklstring(L, idx, &len);
  pl_lock_name(key, len, out);
  return out;
}

/* A token no other holder has: host, pid, a counter and the time. */
static void make_token(char *out, size_t cap) {
  static unsigned long counter;
  char host[128] = "";
  gethostname(host, sizeof host - 1);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(out, cap, "%s:%ld:%lu:%lld.%09ld", host, (long)getpid(), ++counter, (long long)ts.tv_sec, ts.tv_nsec);
}

static int lock_done(lua_State *L, int status, lua_KContext kc) {
  (void)status;
  pl_redis_call *c = redis_result((pl_task *)kc);
  if (c->rc < 0) return redis_fail(L, c->redis, c); /* the handle may be closed by now: c keeps it */
  if (!c->rc)
    lua_pushboolean(L, 0);
  else if (c->renew)
    lua_pushboolean(L, 1);
  else
    lua_pushstring(L, c->token);
  pl_redis_call_free(c);
  return 1;
}

/* core.redis_lock(handle, key, ttl) -> token | false (held) | nil, message
 * core.redis_lock(handle, key, ttl, token) -> true | false (lost) | nil, message
 * Take (or, with the token, extend) key's lock for ttl seconds.  [-(3|4), +(1|2)]; waits */
static int l_redis_lock(lua_State *L) {
  pl_redis *r = *check_redis(L, 1);
  char name[17];
  redis_lock_key(L, 2, name);
  lua_Number ttl = luaL_checknumber(L, 3);
  luaL_argcheck(L, ttl >= 0.001 && ttl <= 86400, 3, "must be 0.001 to 86400 seconds");
  const char *token = luaL_optstring(L, 4, NULL);
  luaL_argcheck(L, !token || strlen(token) < 256, 4, "too long");
  pl_redis_call *c = new_call(L, PL_REDIS_LOCK, name);
  if (token)
    snprintf(c->token, sizeof c->token, "%s", token);
  else
    make_token(c->token, sizeof c->token);
  c->ttl_ms = (long)(ttl * 1000);
  c->renew = token != NULL;
  return redis_wait(L, r, c, lock_done);
}

/* The loop's thread, when an unlock is back: nobody waits for it. */
static void unlock_back(pl_post *p, int closing) {
  (void)closing;
  pl_redis_call_free((pl_redis_call *)p);
}

/* core.redis_unlock(handle, key, token) -> true (sent) | nil, message
 * [-3, +(1|2)]. Does not wait: it runs from <close> handlers, which may
 * not yield; a lock whose unlock fails expires. The process waits for it
 * at exit. */
static int l_redis_unlock(lua_State *L) {
  pl_ctx *ctx = pl_ctx_up(L);
  pl_redis *r = *check_redis(L, 1);
  char name[17];
  redis_lock_key(L, 2, name);
  const char *token = luaL_checkstring(L, 3);
  luaL_argcheck(L, strlen(token) < 256, 3, "too long");
  pl_redis_call *c = new_call(L, PL_REDIS_UNLOCK, name);
  snprintf(c->token, sizeof c->token, "%s", token);
  c->post.cb = unlock_back;
  if (pl_redis_submit(r, ctx->loop, c) != 0) return redis_fail(L, r, c);
  lua_pushboolean(L, 1);
  return 1;
}

/* core.redis_where(handle) -> "host:port"  [-1, +1] */
static int l_redis_where(lua_State *L) {
  lua_pushstring(L, pl_redis_where(*check_redis(L, 1)));
  return 1;
}

/* core.retry_after(header value) -> seconds | nil  [-1, +1] */
static int l_retry_after(lua_State *L) {
  double delay;
  if (pl_retry_after_parse(luaL_checkstring(L, 1), (double)time(NULL), &delay) != 0) return 0;
  lua_pushnumber(L, delay);
  return 1;
}

/* core.retry_delay({attempts=, base=, cap=, deadline=}, attempt, retry_after, elapsed)
 * -> seconds before the next attempt, or -1 to give up  [-4, +1] */
static int l_retry_delay(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  pl_policy *pol = policy(pl_ctx_up(L));
  if (!pol) return luaL_error(L, "out of memory");
  pl_retry_policy p;
  lua_getfield(L, 1, "attempts");
  lua_getfield(L, 1, "base");
  lua_getfield(L, 1, "cap");
  lua_getfield(L, 1, "deadline");
  p.max_attempts = (int)luaL_optinteger(L, -4, 5);
  p.base = luaL_optnumber(L, -3, 0.5);
  p.cap = luaL_optnumber(L, -2, 30);
  p.deadline = luaL_optnumber(L, -1, 120);
  lua_pushnumber(L,
                 pl_retry_next_delay(&p, (int)luaL_checkinteger(L, 2), luaL_checknumber(L, 3), luaL_checknumber(L, 4),
                                     jitter(pol)));
  return 1;
}

static pl_retry_budget *key_budget(lua_State *L, pl_ctx *ctx, const char *key) {
  pl_policy *p = policy(ctx);
  pl_retry_budget *b = p ? pl_throttle_budget(&p->throttle, key) : NULL;
  if (!b) luaL_error(L, "retry budget '%s' is not configured", key);
  return b;
}

/* core.budget_config(key)  [-1, +0] */
static int l_budget_config(lua_State *L) {
  key_budget(L, pl_ctx_up(L), luaL_checkstring(L, 1));
  return 0;
}

/* core.budget_take(key, is_timeout) -> false when the budget is spent  [-2, +1] */
static int l_budget_take(lua_State *L) {
  pl_retry_budget *b = key_budget(L, pl_ctx_up(L), luaL_checkstring(L, 1));
  lua_pushboolean(L, pl_retry_budget_take(b, lua_toboolean(L, 2)));
  return 1;
}

/* core.budget_refund(key)  [-1, +0] */
static int l_budget_refund(lua_State *L) {
  pl_retry_budget_refund(key_budget(L, pl_ctx_up(L), luaL_checkstring(L, 1)));
  return 0;
}

void pl_policy_free(pl_ctx *ctx) {
  if (!ctx->policy) return;
  pl_throttle_free(&ctx->policy->throttle);
  free(ctx->policy);
  ctx->policy = NULL;
}

void pl_open_policy(lua_State *L, int ctxidx) {
  static const luaL_Reg funcs[] = {{"throttle_config", l_throttle_config},
                                   {"throttle_reserve", l_throttle_reserve},
                                   {"throttle_pause", l_throttle_pause},
                                   {"retry_after", l_retry_after},
                                   {"retry_delay", l_retry_delay},
                                   {"budget_config", l_budget_config},
                                   {"budget_take", l_budget_take},
                                   {"budget_refund", l_budget_refund},
                                   {"redis_new", l_redis_new},
                                   {"redis_throttle", l_redis_throttle},
                                   {"redis_where", l_redis_where},
                                   {"redis_lock", l_redis_lock},
                                   {"redis_unlock", l_redis_unlock},
                                   {"lock_file", l_lock_file},
                                   {"lock_release", l_lock_release},
                                   {NULL, NULL}};
  lua_pushvalue(L, ctxidx);
  luaL_setfuncs(L, funcs, 1);
}
