/* Shared between the binding's files (lua_*.c). Not used by the core below. */
#ifndef PL_LUA_H
#define PL_LUA_H
#include <signal.h>
#include "lua.h"
#include "lauxlib.h"
#include "peerlua.h"
#include "pl_engine.h"
#include "pl_http.h"
#include "pl_loop.h"

#define PL_CTX_KEY  "peerlua.ctx"
#define PL_TASK_MT  "peerlua.task"
#define PL_ERROR_MT "peerlua.error"

typedef struct pl_task pl_task;
typedef struct pl_policy pl_policy; /* throttle keys and retry budgets (lua_policy.c) */

struct pl_ctx {
  pl_loop *loop;
  pl_task *ready_head, *ready_tail; /* tasks to resume, FIFO */
  pl_task *current;                 /* the task being resumed, or NULL */
  size_t alive;                     /* tasks not finished yet */
  volatile sig_atomic_t *interrupt;
  pl_policy *policy; /* created on first use */
  int closed;
};

enum pl_task_state { PL_READY, PL_RUNNING, PL_WAITING, PL_DONE, PL_FAILED, PL_CANCELLED };
enum pl_wake { PL_WAKE_NONE, PL_WAKE_TIMER, PL_WAKE_HTTP, PL_WAKE_TASK, PL_WAKE_POST };

/* A task, or (co == NULL) a stand-in for code that waits outside any task
 * (stock lua5.4's main thread): the loop is then run until it wakes. */
struct pl_task {
  pl_ctx *ctx;
  lua_State *co;
  int state, wake;
  int anchor;           /* registry ref keeping it alive while unfinished */
  int nargs;            /* values on co's stack for the first resume */
  int observed;         /* its result was taken by wait() */
  pl_task *prev, *next; /* ready queue */
  pl_timer timer;       /* sleep, wait timeout */
  pl_http *http;        /* the request it waits for */
  pl_post *post;        /* the work on another thread it waits for (post->owner == this) */
  pl_task *target;      /* the task it waits for */
  pl_task *waiters;     /* tasks waiting for it, linked by wnext */
  pl_task *wnext;
};

/* [-0, +0] The context (upvalue 1 of every module function). */
#define pl_ctx_up(L) ((pl_ctx *)lua_touserdata((L), lua_upvalueindex(1)))

/* Set up w as the waiter of the calling code: the running task if L is its
 * thread, otherwise a stand-in. Raises if L is a task that cannot yield. */
pl_task *pl_waiter(lua_State *L, pl_ctx *ctx, pl_task *standin);
/* Suspend until w is woken, then return k(L, LUA_YIELD, (lua_KContext)w).
 * The operation (timer, transfer) must already be armed with w as owner. */
int pl_suspend(lua_State *L, pl_task *w, lua_KFunction k);
/* Mark w runnable because of why (no Lua is called). */
void pl_wake(pl_task *w, int why);

/* [-0, +1] A new error value with code and message (other fields set by caller). */
void pl_push_error(lua_State *L, const char *code, const char *msg);

/* [-0, +0] Add the HTTP functions to the table at the top (ctx at ctxidx). */
void pl_open_http(lua_State *L, int ctxidx);
/* [-0, +0] Add the task functions to the table at the top (ctx at ctxidx). */
void pl_open_task(lua_State *L, int ctxidx);
/* [-0, +0] Add prepare() and providers to the table at the top. */
void pl_open_provider(lua_State *L, int ctxidx);
/* [-0, +1] core.error_info(provider, api, resp at index resp): what the
 * failed answer says by the provider's error shapes, or nil; read once per
 * answer. */
void pl_push_error_info(lua_State *L, const char *provider, const char *api, int resp);
/* [-0, +0] Add the throttle, retry and budget functions to the table at the top. */
void pl_open_policy(lua_State *L, int ctxidx);
/* The header an engine (core.engine) holds for its requests: 1 with name
 * and value set, or 0 when the value at idx is no engine or holds none. */
int pl_engine_auth(lua_State *L, int idx, const char **name, const char **value);
/* Make the engine at idx hold the header name: prefix value (vlen bytes),
 * to be replaced after lifetime seconds (0: never, engine:fresh()); NULL,
 * or why the header cannot be made. */
const char *pl_engine_hold(lua_State *L, int idx, const char *name, const char *prefix, const char *value, size_t vlen,
                           double lifetime);
/* [-0, +1] The value at one dotted path (no '|') of len bytes: fields of the
 * table at body, a number indexing a list; "@name" a header of the response
 * at resp. nil where any step is missing (lua_provider.c). */
void pl_push_at(lua_State *L, int body, int resp, const char *path, size_t len);
/* Whether the engine at idx holds a header not due to be replaced (engine:fresh). */
int pl_engine_fresh(lua_State *L, int idx);
/* Make the engine at idx hold no header (engine:drop); whether it held one. */
int pl_engine_drop(lua_State *L, int idx);
void pl_policy_free(pl_ctx *ctx);
/* The engine's run at idx (engine:start): whether status is one of its
 * operation's successes; its next step after an answer, or after what the
 * caller learnt for an ASK step, with the pause the answer asked of the
 * whole key already applied (locally, and on Redis when shared). */
int pl_run_ok(lua_State *L, int idx, int status);
/* The provider table the run's engine follows. */
const pl_provider *pl_run_provider(lua_State *L, int idx);
pl_next pl_run_answer(lua_State *L, int idx, const pl_answer *a);
pl_next pl_run_told(lua_State *L, int idx, enum pl_told told);
/* [-0, +0] Add operate (one provider operation, lua_operate.c) to the table at the top. */
void pl_open_operate(lua_State *L, int ctxidx);
/* The module loader (lua_loader.c), shared by the binding's state and the
 * emulator's: where a module's core table sits in the registry, */
#define PL_CORE_KEY "peerlua.core"
/* [-0, +1] load module name (PEERLUA_LUA_DIR, else embedded): pushes the
 * chunk and returns 1, or pushes a message and returns 0 (a syntax error)
 * or -1 (no such module); */
int pl_load_module(lua_State *L, const char *name);
/* a module's loader, a closure over its chunk: [-2, +1] runs it as
 * chunk(name, origin, registry[PL_CORE_KEY]); */
int pl_run_module(lua_State *L);
/* core.require(name): a module of peerlua's kept out of package.loaded
 * (lua_loader.c); [-1, +1] */
int pl_private_require(lua_State *L);
/* [-0, +0] and the package.searchers entry for peerlua.*, put at [2] once. */
void pl_install_searcher(lua_State *L);
/* core.json_integers(t) -> t: lua-cjson's whole-number floats made integers
 * (peerlua.json); the emulator's modules get it too (core/emulator/handler.c). */
int pl_json_integers(lua_State *L);
/* [-0, +0] Add huawei_sign and aws_sign to the table at the top (no context needed). */
void pl_open_sign(lua_State *L);
/* http.send's sign = {scheme =, key =, region =, service =} at index sign:
 * sign the request in the options table at 1 and add the signature
 * headers (and the key's token) to h. 0, or -1 with h's error set. */
struct pl_http;
int pl_sign_into(lua_State *L, int sign, struct pl_http *h);
void pl_open_xml(lua_State *L);
/* [-0, +0] Add query_form and xml_body (AWS's request bodies, lua_wire.c) to the table at the top. */
void pl_open_wire(lua_State *L);
/* core.xml_decode(text) -> value, root name | nil, err (lua_xml.c) */
int pl_xml_decode(lua_State *L);
/* [-0, +0] Add client_wrap, client_state and client_close (clients as userdata) to the table at the top. */
void pl_open_client(lua_State *L);
/* [-0, +0] Add sim_start and sim_stop (the emulator in this process) to the table at the top. */
void pl_open_sim(lua_State *L);
/* Cancel everything that belongs to ctx (called from its __gc). */
void pl_task_shutdown(pl_ctx *ctx);
/* The level, from `from` up, of the first frame that is neither C nor
 * peerlua's own Lua (the script's line a misuse is raised at), or none. */
int pl_caller_level(lua_State *L, int from, int none);

#endif
