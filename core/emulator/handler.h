/* The emulator's Lua side (handler.c): the lua_State that answers requests,
 * the request table handed to it and the MHD response made from its answer.
 * server.c owns the HTTP side (connections, suspend and resume, the thread)
 * and calls only these. One handler belongs to one server thread. */
#ifndef PL_HANDLER_H
#define PL_HANDLER_H
#include <stddef.h>
#include "pl_lazy.h"
#include "server.h"

typedef struct lua_State lua_State;

/* What a response asks of the connection besides its bytes. */
enum { PL_ACT_NONE, PL_ACT_RESET, PL_ACT_TRUNCATE, PL_ACT_STREAM };

typedef struct pl_handler {
  lua_State *L;
  struct pl_pool *pool; /* L's allocator (pl_pool.h) */
  int fn;               /* registry ref of the Lua handler */
  int app;              /* registry ref of the emulator app (for --state), or LUA_NOREF */
} pl_handler;

/* One exchange: the request in, the answer out. */
typedef struct pl_exchange {
  struct MHD_Connection *conn;
  const char *method, *url, *version; /* MHD's, valid during the call only */
  const char *body;
  size_t len;
  struct MHD_Response *resp; /* out: NULL if the handler failed (logged) */
  unsigned status;           /* out */
  int action;                /* out: PL_ACT_* */
  double delay;              /* out: seconds before the answer is sent */
} pl_exchange;

/* Monotonic seconds, the clock of the emulator's timers. */
double pl_handler_mono(void);

/* Make the state, load peerlua.sim and boot it with o (url is the bound
 * address). 0, or -1 with why in e: e->refused names the option the Lua
 * side refused (it raises {option =, message =}). */
int pl_handler_open(pl_handler *h, const pl_server_opts *o, double scale, const char *url, pl_server_error *e);
/* Answer x (a complete request): x's out fields are set. */
void pl_handler_answer(pl_handler *h, pl_exchange *x);
/* Write the --state file through app:save_state. 0, or -1 (said on stderr). */
int pl_handler_save_state(pl_handler *h, const char *path);
/* Close the state; a closed or never-opened handler is a no-op. */
void pl_handler_close(pl_handler *h);

#endif
