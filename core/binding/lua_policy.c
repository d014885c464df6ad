/* Throttle, retry and signing policies (pl_gcra, pl_retry, pl_sign) seen
 * from Lua. The state (throttle keys, retry budgets) lives in the context,
 * keyed by "provider:credential", so every client of one account in this
 * state shares it. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "pl_engine.h"
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

/* ---- the operation engine (pl_engine.h) -------------------------------
 * core.engine{provider=, api=, key=, rate=, burst=, attempts=, base=, cap=,
 * deadline=[, classes={name={rate=, burst=}}][, redis=handle]} -> engine:
 * one client's policy, fixed when it is made. Its throttle and retry
 * budget are the key's ("provider:credential"), shared by every client of
 * that account in this state; a class has a throttle of its own
 * (key:name). With a Redis handle (core.redis_new) the throttle is the one
 * shared on Redis, this state's when Redis cannot be used. Nothing of it
 * can be changed from Lua afterwards. */

#define PL_ENGINE_MT "peerlua.engine"
#define PL_RUN_MT    "peerlua.run"
#define PL_CLASSES   4

typedef struct engine_ud {
  pl_engine e;
  double rate, burst;
  pl_gcra *throttle; /* the key's */
  char key[200];     /* "provider:credential": the shared throttle's key */
  int shared;        /* user value 1 is a Redis handle: the throttle is shared on it */
  struct {
    char name[16];
    pl_gcra *g;
    double rate, burst;
  } classes[PL_CLASSES];
  int nclasses;
  pl_retry_budget own; /* the fuzz build's: each input stands alone */
  /* the credential every request carries (a header), in C memory only:
   * zeroed when it is replaced, dropped or collected */
  char auth_name[32];
  char *auth_value;
  size_t auth_len;
  double auth_until; /* the loop time it is to be replaced by (a fetched token's); 0: never */
} engine_ud;

typedef struct run_ud {
  pl_call r;
  pl_gcra *throttle; /* the one this operation's requests take */
  int cls;           /* its class, or -1: the key's */
} run_ud;

/* The policy state, or an error if peerlua was closed under a client. */
static pl_policy *live_policy(lua_State *L) {
  pl_ctx *ctx = pl_ctx_up(L);
  if (ctx->closed || !ctx->policy) luaL_error(L, "peerlua is closed: this client can no longer be used");
  return ctx->policy;
}

/* t[name], a number within [lo, hi] (or def when absent)  [-0, +0] */
static double field_num(lua_State *L, int t, const char *name, double lo, double hi, double def) {
  int ty = lua_getfield(L, t, name);
  double v = ty == LUA_TNIL ? def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if ((ty != LUA_TNIL && ty != LUA_TNUMBER) || !(v >= lo && v <= hi))
    luaL_error(L, "engine: %s must be a number from %f to %f", name, lo, hi);
  return v;
}

static int l_engine(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  pl_policy *pol = policy(pl_ctx_up(L));
  if (!pol) return luaL_error(L, "out of memory");
  lua_getfield(L, 1, "provider");
  lua_getfield(L, 1, "api");
  lua_getfield(L, 1, "key");
  const char *name = luaL_checkstring(L, -3), *api = luaL_optstring(L, -2, ""), *key = luaL_checkstring(L, -1);
  const pl_provider *prov = pl_provider_find(name, api);
  if (!prov) return luaL_error(L, "engine: no provider %s %s", name, api);
  luaL_argcheck(L, strlen(key) < sizeof((engine_ud *)0)->key, 1, "engine: key too long");
  engine_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
  memset(u, 0, sizeof *u);
  strcpy(u->key, key);
  u->e.provider = prov;
  if (lua_getfield(L, 1, "redis") != LUA_TNIL) { /* a shared throttle: held, so it outlives the engine */
    check_redis(L, -1);
    lua_setiuservalue(L, -2, 1);
    u->shared = 1;
  } else {
    lua_pop(L, 1);
  }
  u->rate = field_num(L, 1, "rate", 0.001, 10000, prov->rate);
  u->burst = field_num(L, 1, "burst", 1, 10000, prov->burst);
  u->e.retry.max_attempts = (int)field_num(L, 1, "attempts", 1, 100, 5);
  u->e.retry.base = field_num(L, 1, "base", 0, 600, 0.5);
  u->e.retry.cap = field_num(L, 1, "cap", 0, 3600, 30);
  u->e.retry.deadline = field_num(L, 1, "deadline", 0, 86400, 120);
  u->throttle = pl_throttle_get(&pol->throttle, key, u->rate, u->burst);
#ifdef PEERLUA_FUZZ_BUILD
  pl_retry_budget_init(&u->own);
  u->e.budget = &u->own;
#else
  u->e.budget = pl_throttle_budget(&pol->throttle, key);
#endif
  if (!u->throttle || !u->e.budget) return luaL_error(L, "out of memory");
  if (lua_getfield(L, 1, "classes") == LUA_TTABLE) {
    int t = lua_gettop(L);
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
      size_t n;
      const char *cname = lua_tolstring(L, -2, &n);
      if (!cname || lua_type(L, -2) != LUA_TSTRING || n >= sizeof u->classes[0].name || u->nclasses == PL_CLASSES ||
          !lua_istable(L, -1))
        return luaL_error(L, "engine: classes: at most %d, names of at most 15 bytes", PL_CLASSES);
      memcpy(u->classes[u->nclasses].name, cname, n + 1);
      double rate = field_num(L, -1, "rate", 0.001, 10000, 1), burst = field_num(L, -1, "burst", 1, 10000, 1);
      const char *ckey = lua_pushfstring(L, "%s:%s", key, cname);
      u->classes[u->nclasses].g = pl_throttle_get(&pol->throttle, ckey, rate, burst);
      u->classes[u->nclasses].rate = rate;
      u->classes[u->nclasses].burst = burst;
      lua_pop(L, 1);
      if (!u->classes[u->nclasses++].g) return luaL_error(L, "out of memory");
    }
  }
  lua_pop(L, 1);
  luaL_setmetatable(L, PL_ENGINE_MT);
  return 1;
}

/* The index of class (a string at idx) among u's, or -1 for nil: the key's. */
static int class_of(lua_State *L, engine_ud *u, int idx) {
  if (lua_isnoneornil(L, idx)) return -1;
  const char *name = luaL_checkstring(L, idx);
  for (int i = 0; i < u->nclasses; i++)
    if (strcmp(u->classes[i].name, name) == 0) return i;
  return luaL_error(L, "engine: no throttle class '%s'", name);
}

static pl_gcra *gcra_of(engine_ud *u, int cls) {
  return cls < 0 ? u->throttle : u->classes[cls].g;
}

/* A shared-throttle call on class cls's key ("provider:credential[:class]"). */
static pl_redis_call *shared_call(lua_State *L, engine_ud *u, int cls, double pause) {
  pl_redis_call *c = new_call(L, PL_REDIS_THROTTLE, "");
  snprintf(c->key, sizeof c->key, cls < 0 ? "%s" : "%s:%s", u->key, cls < 0 ? "" : u->classes[cls].name);
  pl_gcra g; /* this client's rate and burst (the local throttle is its key's first client's) */
  pl_gcra_init(&g, cls < 0 ? u->rate : u->classes[cls].rate, cls < 0 ? u->burst : u->classes[cls].burst);
  c->interval = g.interval;
  c->tolerance = g.tolerance;
  c->pause = pause;
  return c;
}

/* [-0, +2] The local throttle's wait, and why the shared one could not be
 * used (message), for the client to say; frees c. */
static int reserve_here(lua_State *L, engine_ud *u, int cls, pl_redis *r, pl_redis_call *c) {
  lua_pushnumber(L, pl_gcra_reserve(gcra_of(u, cls), pl_loop_now(pl_ctx_up(L)->loop)));
  lua_pushfstring(L, "redis at %s: %s", pl_redis_where(r), c->error);
  pl_redis_call_free(c);
  return 2;
}

static int shared_reserved(lua_State *L, int status, lua_KContext kc) {
  (void)status;
  pl_redis_call *c = redis_result((pl_task *)kc);
  engine_ud *u = lua_touserdata(L, 1);
  int cls = (int)lua_tointeger(L, 3);
  if (c->rc != 0) return reserve_here(L, u, cls, c->redis, c); /* c keeps the handle alive */
  lua_pushnumber(L, c->wait);
  pl_redis_call_free(c);
  return 1;
}

/* engine:reserve([class]) -> seconds to wait before sending[, why the
 * shared throttle was not used]  [-2, +(1|2)]. With a shared throttle it
 * asks Redis and waits for the answer; if Redis cannot be used it
 * throttles in this process and says why. */
static int l_engine_reserve(lua_State *L) {
  engine_ud *u = luaL_checkudata(L, 1, PL_ENGINE_MT);
  live_policy(L);
  int cls = class_of(L, u, 2);
  if (!u->shared) {
    lua_pushnumber(L, pl_gcra_reserve(gcra_of(u, cls), pl_loop_now(pl_ctx_up(L)->loop)));
    return 1;
  }
  lua_settop(L, 2);
  lua_pushinteger(L, cls); /* 3: for the continuation */
  lua_getiuservalue(L, 1, 1);
  pl_redis *r = *check_redis(L, 4);
  pl_redis_call *c = shared_call(L, u, cls, 0);
  pl_ctx *ctx = pl_ctx_up(L);
  pl_task standin, *w = pl_waiter(L, ctx, &standin);
  c->post.cb = redis_back;
  c->post.owner = w;
  if (pl_redis_submit(r, ctx->loop, c) != 0) return reserve_here(L, u, cls, r, c); /* never handed over */
  w->post = &c->post;
  return pl_suspend(L, w, shared_reserved);
}

/* The loop's thread, when a shared pause is back: nobody waits for it. */
static void pause_back(pl_post *p, int closing) {
  (void)closing;
  pl_redis_call_free((pl_redis_call *)p);
}

/* Pause the shared throttle of run r's key for seconds, not waiting for
 * Redis (calls on one handle run in order: the next reserve sees it); if
 * it cannot be handed over, the next reserve says Redis is lost. */
static void pause_shared(lua_State *L, int runidx, double seconds) {
  run_ud *r = lua_touserdata(L, runidx);
  int top = lua_gettop(L);
  lua_getiuservalue(L, runidx, 1);
  engine_ud *u = lua_touserdata(L, -1);
  if (u->shared && lua_getiuservalue(L, -1, 1) == LUA_TUSERDATA) {
    pl_redis **h = lua_touserdata(L, -1);
    if (*h) {
      pl_redis_call *c = shared_call(L, u, r->cls, seconds);
      c->post.cb = pause_back;
      if (pl_redis_submit(*h, pl_ctx_up(L)->loop, c) != 0) pl_redis_call_free(c);
    }
  }
  lua_settop(L, top); /* the engine, and its handle when shared */
}

/* engine:settings() -> {rate=, burst=, attempts=, base=, cap=, deadline=}  [-1, +1] */
static int l_engine_settings(lua_State *L) {
  engine_ud *u = luaL_checkudata(L, 1, PL_ENGINE_MT);
  lua_createtable(L, 0, 6);
  lua_pushnumber(L, u->rate);
  lua_setfield(L, -2, "rate");
  lua_pushinteger(L, (lua_Integer)u->burst);
  lua_setfield(L, -2, "burst");
  lua_pushinteger(L, u->e.retry.max_attempts);
  lua_setfield(L, -2, "attempts");
  lua_pushnumber(L, u->e.retry.base);
  lua_setfield(L, -2, "base");
  lua_pushnumber(L, u->e.retry.cap);
  lua_setfield(L, -2, "cap");
  lua_pushnumber(L, u->e.retry.deadline);
  lua_setfield(L, -2, "deadline");
  return 1;
}

/* engine:start(opname[, class]) -> run  [-3, +1]: keeps the engine alive */
static int l_engine_start(lua_State *L) {
  engine_ud *u = luaL_checkudata(L, 1, PL_ENGINE_MT);
  const char *opname = luaL_checkstring(L, 2);
  const pl_op *op = pl_op_find(u->e.provider, opname);
  if (!op) return luaL_error(L, "engine: %s has no operation %s", u->e.provider->name, opname);
  int cls = class_of(L, u, 3);
  run_ud *r = lua_newuserdatauv(L, sizeof *r, 1);
  r->throttle = gcra_of(u, cls);
  r->cls = cls;
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  pl_call_start(&r->r, &u->e, op, pl_loop_now(pl_ctx_up(L)->loop));
  luaL_setmetatable(L, PL_RUN_MT);
  return 1;
}

/* ---- the credential a client's requests carry --------------------------
 * engine:hold(name, value): every request of this engine (http.send with
 * auth = engine) carries the header name: value, which lives here, not in
 * Lua: the Lua string it came from is the caller's to let go.
 * engine:drop(): no header any more. engine:holds([name, value]) ->
 * whether one is held (and is exactly that: a check for tests, which never
 * reads the value back). engine:fresh() -> whether one is held that is not
 * due to be replaced (a token: pl_engine_hold's until). */

static void drop_auth(engine_ud *u) {
  if (u->auth_value) {
    pl_wipe(u->auth_value, u->auth_len);
    free(u->auth_value);
  }
  u->auth_value = NULL;
  u->auth_len = 0;
  u->auth_name[0] = '\0';
  u->auth_until = 0;
}

const char *pl_engine_hold(lua_State *L, int idx, const char *name, const char *prefix, const char *value, size_t vlen,
                           double lifetime) {
  engine_ud *u = luaL_checkudata(L, idx, PL_ENGINE_MT);
  size_t nlen = strlen(name), plen = strlen(prefix);
  if (nlen == 0 || nlen >= sizeof u->auth_name) return "a header name of 1 to 31 bytes";
  if (memchr(value, '\r', vlen) || memchr(value, '\n', vlen) || memchr(value, '\0', vlen))
    return "no line breaks in a header";
  char *copy = malloc(plen + vlen + 1);
  if (!copy) return "out of memory";
  memcpy(copy, prefix, plen);
  memcpy(copy + plen, value, vlen);
  copy[plen + vlen] = '\0';
  drop_auth(u);
  memcpy(u->auth_name, name, nlen + 1);
  u->auth_value = copy;
  u->auth_len = plen + vlen;
  if (lifetime > 0) u->auth_until = pl_loop_now(pl_ctx_up(L)->loop) + lifetime;
  return NULL;
}

static int l_engine_hold(lua_State *L) {
  size_t vlen;
  const char *name = luaL_checkstring(L, 2), *value = luaL_checklstring(L, 3, &vlen);
  const char *why = pl_engine_hold(L, 1, name, "", value, vlen, 0);
  if (why) return luaL_argerror(L, strstr(why, "name") ? 2 : 3, why);
  return 0;
}

int pl_engine_fresh(lua_State *L, int idx) {
  engine_ud *u = luaL_checkudata(L, idx, PL_ENGINE_MT);
  return u->auth_value && (u->auth_until == 0 || pl_loop_now(pl_ctx_up(L)->loop) < u->auth_until);
}

static int l_engine_fresh(lua_State *L) {
  lua_pushboolean(L, pl_engine_fresh(L, 1));
  return 1;
}

int pl_engine_drop(lua_State *L, int idx) {
  engine_ud *u = luaL_checkudata(L, idx, PL_ENGINE_MT);
  int held = u->auth_value != NULL;
  drop_auth(u);
  return held;
}

static int l_engine_drop(lua_State *L) {
  pl_engine_drop(L, 1);
  return 0;
}

static int l_engine_holds(lua_State *L) {
  engine_ud *u = luaL_checkudata(L, 1, PL_ENGINE_MT);
  int held = u->auth_value != NULL;
  if (held && !lua_isnoneornil(L, 2)) {
    size_t vlen;
    const char *name = luaL_checkstring(L, 2), *value = luaL_checklstring(L, 3, &vlen);
    held = strcmp(name, u->auth_name) == 0 && vlen == u->auth_len && memcmp(value, u->auth_value, vlen) == 0;
  }
  lua_pushboolean(L, held);
  return 1;
}

int pl_engine_auth(lua_State *L, int idx, const char **name, const char **value) {
  engine_ud *u = luaL_testudata(L, idx, PL_ENGINE_MT);
  if (!u || !u->auth_value) return 0;
  *name = u->auth_name;
  *value = u->auth_value;
  return 1;
}

/* The pause an answer asked of the whole key, applied: to the local
 * throttle, and sent to the shared one (run at runidx). */
static pl_next applied(lua_State *L, int runidx, run_ud *r, pl_next n) {
  if (n.pause > 0) {
    pl_gcra_pause_until(r->throttle, pl_loop_now(pl_ctx_up(L)->loop) + n.pause);
    pause_shared(L, runidx, n.pause);
  }
  return n;
}

pl_next pl_run_answer(lua_State *L, int idx, const pl_answer *a) {
  run_ud *r = luaL_checkudata(L, idx, PL_RUN_MT);
  double u = jitter(live_policy(L));
  return applied(L, idx, r, pl_call_answer(&r->r, a, pl_loop_now(pl_ctx_up(L)->loop), u));
}

pl_next pl_run_told(lua_State *L, int idx, enum pl_told told) {
  run_ud *r = luaL_checkudata(L, idx, PL_RUN_MT);
  double u = jitter(live_policy(L));
  return applied(L, idx, r, pl_call_told(&r->r, told, pl_loop_now(pl_ctx_up(L)->loop), u));
}

int pl_run_ok(lua_State *L, int idx, int status) {
  return pl_op_ok(((run_ud *)luaL_checkudata(L, idx, PL_RUN_MT))->r.op, status);
}

const pl_provider *pl_run_provider(lua_State *L, int idx) {
  return ((run_ud *)luaL_checkudata(L, idx, PL_RUN_MT))->r.engine->provider;
}

/* [-0, +4] step, then for "send" the wait and the retry number, for "fail"
 * why and the attempts made; and the pause (applied by pl_run_*). */
static int push_next(lua_State *L, pl_next n) {
  static const char *const whys[] = {"answer", "attempts", "budget", "list"};
  lua_pushstring(L, pl_step_name(n.step));
  if (n.step == PL_STEP_SEND) {
    lua_pushnumber(L, n.wait);
    lua_pushinteger(L, n.retry);
  } else if (n.step == PL_STEP_FAIL) {
    lua_pushstring(L, whys[n.why]);
    lua_pushinteger(L, n.attempts);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  lua_pushnumber(L, n.pause);
  return 4;
}

/* run:answer(status, retry_after, busy, stale, transport_retryable, timed_out)
 * -> step, ...  (push_next); status 0: a transport error  [-7, +4] */
static int l_run_answer(lua_State *L) {
  pl_answer a = {(int)luaL_checkinteger(L, 2),
                 lua_toboolean(L, 6),
                 lua_toboolean(L, 7),
                 luaL_optnumber(L, 3, -1),
                 lua_toboolean(L, 4),
                 lua_toboolean(L, 5),
                 NULL};
  return push_next(L, pl_run_answer(L, 1, &a));
}

/* run:told("yes" | "no" | "failed") -> step, ...: the answer to an ask_* step  [-2, +4] */
static int l_run_told(lua_State *L) {
  static const char *const told[] = {"no", "yes", "failed", NULL};
  luaL_checkudata(L, 1, PL_RUN_MT);
  return push_next(L, pl_run_told(L, 1, (enum pl_told)luaL_checkoption(L, 2, NULL, told)));
}

/* run:ok(status) -> whether status is one of the operation's successes  [-2, +1] */
static int l_run_ok(lua_State *L) {
  lua_pushboolean(L, pl_run_ok(L, 1, (int)luaL_checkinteger(L, 2)));
  return 1;
}

/* [-0, +0] The metatable of name with methods funcs (ctx as upvalue). */
static void methods(lua_State *L, int ctxidx, const char *name, const luaL_Reg *funcs) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  lua_pushvalue(L, ctxidx);
  luaL_setfuncs(L, funcs, 1);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "peerlua.engine");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

void pl_policy_free(pl_ctx *ctx) {
  if (!ctx->policy) return;
  pl_throttle_free(&ctx->policy->throttle);
  free(ctx->policy);
  ctx->policy = NULL;
}

void pl_open_policy(lua_State *L, int ctxidx) {
  static const luaL_Reg funcs[] = {{"engine", l_engine},
                                   {"redis_new", l_redis_new},
                                   {"redis_where", l_redis_where},
                                   {"redis_lock", l_redis_lock},
                                   {"redis_unlock", l_redis_unlock},
                                   {"lock_file", l_lock_file},
                                   {"lock_release", l_lock_release},
                                   {NULL, NULL}};
  lua_pushvalue(L, ctxidx);
  luaL_setfuncs(L, funcs, 1);
  static const luaL_Reg engine_funcs[] = {{"reserve", l_engine_reserve},   {"start", l_engine_start},
                                          {"settings", l_engine_settings}, {"hold", l_engine_hold},
                                          {"drop", l_engine_drop},         {"holds", l_engine_holds},
                                          {"fresh", l_engine_fresh},       {NULL, NULL}};
  static const luaL_Reg run_funcs[] = {{"answer", l_run_answer}, {"told", l_run_told}, {"ok", l_run_ok}, {NULL, NULL}};
  methods(L, ctxidx, PL_ENGINE_MT, engine_funcs);
  luaL_getmetatable(L, PL_ENGINE_MT);
  lua_pushcfunction(L, l_engine_drop);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  methods(L, ctxidx, PL_RUN_MT, run_funcs);
}
