/* Shared by the host binary's files (host.c, repl.c). */
#ifndef PL_HOST_H
#define PL_HOST_H
#include "lua.h"

/* [-(nargs+1), +(nresults|1)] Run the function below the arguments as a
 * task (pl_run) with Ctrl-C turned into an "interrupted!" error. */
int host_call(lua_State *L, int nargs, int nresults);

/* [-1, +0] If status is an error, print the message at the top like lua.c
 * does ("peerlua: msg") and pop it. Returns status. */
int host_report(lua_State *L, int status);

/* The interactive loop (libedit on a terminal, plain lines otherwise).
 * Returns when input ends. */
void host_repl(lua_State *L);

extern const char *host_progname;

#endif
