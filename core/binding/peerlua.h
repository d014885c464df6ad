/* The Lua binding's C interface, used by the host binary (host.c, repl.c).
 * The module itself exports only luaopen_peerlua and luaopen_peerlua_sim. */
#ifndef PEERLUA_H
#define PEERLUA_H
#include <signal.h>
#include <stdio.h>
#include "lua.h"
#include "lauxlib.h"

#ifndef PEERLUA_VERSION
#define PEERLUA_VERSION "0.0.0"
#endif

#define PL_EXPORT __attribute__((visibility("default")))

/* [-0, +1] Opens the module: the peerlua table (creates this state's loop). */
PL_EXPORT int luaopen_peerlua(lua_State *L);
/* [-0, +1] Opens peerlua.sim (the emulator's module), opening peerlua first. */
PL_EXPORT int luaopen_peerlua_sim(lua_State *L);

typedef struct pl_ctx pl_ctx;

/* The context of L's state, or NULL if peerlua was never opened in it. */
pl_ctx *pl_ctx_of(lua_State *L);

/* [-(nargs+1), +(nresults|1)] Like lua_pcall, but runs the function as a
 * scheduler task and drives the event loop until that task ends (other
 * tasks run meanwhile). On error the message, with the task's traceback
 * appended when it is a string, is left on the stack and LUA_ERRRUN is
 * returned. If *interrupt becomes non-zero while it runs (see
 * pl_set_interrupt), the task is cancelled and the error is "interrupted!".
 * Requires peerlua to be opened in L. */
int pl_run(lua_State *L, int nargs, int nresults);

/* [-0, +0] Drive the loop until no task, timer or transfer is left.
 * Returns LUA_OK, or an error status with the message on the stack. */
int pl_drain(lua_State *L);

/* Poll this flag in the loop (set by a SIGINT handler). NULL disables. */
void pl_set_interrupt(lua_State *L, volatile sig_atomic_t *flag);
/* The coroutine of the task running now, or NULL. Reads plain fields only,
 * so a signal handler may call it (to set an interrupt hook there). */
lua_State *pl_running_thread(pl_ctx *ctx);

/* Trace every HTTP exchange to f, one line each, and with headers each
 * request's headers too (secrets redacted). NULL turns it off. */
void pl_set_trace(lua_State *L, FILE *f, int headers);
/* Print the --stats summary (one line) to f. */
void pl_print_stats(lua_State *L, FILE *f);

#endif
