/* The provider emulator: a loopback HTTP server (libmicrohttpd) running in
** its own thread with its own lua_State; request handlers are Lua
** (module peerlua.sim). */
#ifndef PL_SERVER_H
#define PL_SERVER_H
#include <stddef.h>

typedef struct pl_server pl_server;

#define PL_SERVER_DEFAULT_LISTEN "127.0.0.1:8080"
#define PL_SERVER_MAX_TIME_SCALE 3600 /* emulated seconds per real second, at most */

typedef struct pl_server_opts {
  const char *listen;  /* "HOST:PORT", default "127.0.0.1:8080"; port 0 = pick a free one */
  double time_scale;   /* default 1 */
  const char *faults;  /* fault spec string or NULL (parsed by the emulator) */
  unsigned long seed;  /* default 0 */
  const char *fixture; /* JSON file path or NULL */
  const char *state;   /* file: read at start if it exists, written when stopped (NULL: none) */
} pl_server_opts;

/* Why pl_server_start failed. refused says whether it was the caller's
 * mistake (a usage error, exit 2) and which option it was: "faults",
 * "fixture", "state" or "time-scale", or "" for none in particular (a build
 * without the emulator); NULL when it was not the caller's (a port in use,
 * no memory). */
typedef struct pl_server_error {
  char message[512];
  const char *refused;
} pl_server_error;

/* Start serving; NULL and why in e on failure. */
pl_server *pl_server_start(const pl_server_opts *o, pl_server_error *e);

/* "http://127.0.0.1:PORT" with the real bound port. */
const char *pl_server_url(const pl_server *s);

/* Stop: joins the thread, writes the state file if one was given (a
** failure is said on stderr), closes its lua_State, frees. NULL is a no-op.
** Returns 0, or -1 if the state file was not written. */
int pl_server_stop(pl_server *s);
/* 1 if this build has the emulator, 0 if not (-DPEERLUA_EMULATOR=OFF). */
int pl_server_available(void);

/* Set option name ("listen", "time-scale", "faults", "seed", "fixture", "state")
** from its command-line text. Returns 0, or -1 with the rule broken in err. */
int pl_server_option(pl_server_opts *o, const char *name, const char *val, char *err, size_t errlen);

/* `peerlua --emulator [--listen HOST:PORT] [--time-scale X] [--faults SPEC]
** [--seed N] [--fixture FILE]`: argv[0] is the program name and "--emulator"
** appears somewhere before the options. Returns the process exit status
** (2 on usage errors). */
int pl_emulator_main(int argc, char **argv);

#endif
