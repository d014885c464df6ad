/* peerlua, the host binary: lua5.4's command line (same options, `arg`,
 * LUA_INIT as PEERLUA_INIT, messages and exit codes) plus peerlua's own
 * options. Every chunk runs as a scheduler task, so scripts can wait for
 * HTTP and timers at top level. */
#define _POSIX_C_SOURCE 200809L
#include "pl_lazy.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "pl_valid.h"
#include "lualib.h"
#include "peerlua.h"
#include "server.h"

/* --sim runs the emulator faster than real time unless told otherwise. */
#define PL_SIM_TIME_SCALE 60

const char *host_progname = "peerlua";

/* ---- usage ------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args]]\n"
          "Run a Lua 5.4 script with the peerlua runtime; with no script on a terminal, start the REPL.\n"
          "Input that is not a terminal is read as a script; for REPL lines (=expr) from a pipe, use -i.\n"
          "\n"
          "Lua options (as lua5.4):\n"
          "  -e stat         execute string 'stat'\n"
          "  -i              enter interactive mode after executing 'script'\n"
          "  -l mod          require library 'mod' into global 'mod'\n"
          "  -l g=mod        require library 'mod' into global 'g'\n"
          "  -v, --version   show version information\n"
          "  -E              ignore environment variables (PEERLUA_INIT, LUA_PATH, LUA_CPATH)\n"
          "  -W              turn warnings on\n"
          "  --              stop handling options\n"
          "  -               stop handling options and execute stdin\n"
          "\n"
          "peerlua options:\n"
          "  -h, --help             show this help and exit\n"
          "  --trace[=FILE]         log every HTTP exchange, retry and throttle wait to FILE\n"
          "                         (default stderr), one line each; credentials are redacted\n"
          "  --trace-headers[=FILE] --trace[=FILE], and each request's headers after its line\n"
          "  --stats                print request, retry, throttle-wait and byte counts at exit\n"
          "  --quiet                no progress output\n"
          "  --dry-run              reads are real; every change (create, update, delete,\n"
          "                         accept) is shown instead of sent, then a summary\n"
          "  --json[=FILE]          progress as one JSON object per line, on stdout or to FILE\n",
          host_progname);
  if (pl_server_available())
    fputs("  --sim                  start the provider emulator on a free loopback port; clients\n"
          "                         without base_url use it (peerlua.sim.url), with its\n"
          "                         fixture's credentials unless they are given\n"
          "  --sim-time-scale X     emulated seconds per real second (default 60: a minute\n"
          "                         of provisioning takes a second; at most 3600)\n"
          "  --sim-faults SPEC      fault injection, e.g. 429:0.05,500:0.05,reset:0.02\n"
          "  --sim-seed N           random seed of the emulator (default 0)\n"
          "  --sim-fixture FILE     JSON fixture instead of the default accounts\n"
          "  --emulator [OPTIONS]   serve the emulator until SIGINT or SIGTERM\n"
          "                         (peerlua --emulator --help lists its options)\n",
          f);
  fputs("\n"
        "Environment: PEERLUA_INIT (like LUA_INIT), PEERLUA_HISTFILE (REPL history),\n"
        "PEERLUA_SIM_URL (a standalone emulator), PEERLUA_REDIS_URL (a shared throttle),\n"
        "PEERLUA_CREDENTIALS and PEERLUA_PROFILE (the profile file and section), and the\n"
        "providers' credentials (see peerlua(1) or the README).\n"
        "Exit status: 0 success, 1 script error,\n"
        "2 usage error.\n",
        f);
}

static int usage_error(const char *fmt, const char *what) {
  fprintf(stderr, "%s: ", host_progname);
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\nusage: %s [options] [script [args]] (%s --help lists the options)\n", host_progname,
          host_progname);
  return -1;
}

/* ---- options ----------------------------------------------------------- */

/* The long options: what each takes, and the names "did you mean" picks from. */
enum { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED }; /* --name; --name[=VALUE]; --name VALUE or --name=VALUE */
enum {
  L_HELP,
  L_VERSION,
  L_STATS,
  L_QUIET,
  L_DRY_RUN,
  L_SIM,
  L_TRACE,
  L_TRACE_HEADERS,
  L_JSON,
  L_SIM_TIME_SCALE, /* the --sim-* options: pl_server_option's, after "sim-" */
  L_SIM_FAULTS,
  L_SIM_SEED,
  L_SIM_FIXTURE,
  L_EMULATOR, /* taken before the others (main), so only named here */
  L_COUNT
};
static const struct {
  const char *name;
  int arg;
} long_opts[L_COUNT] = {
    [L_HELP] = {"help", ARG_NONE},
    [L_VERSION] = {"version", ARG_NONE},
    [L_STATS] = {"stats", ARG_NONE},
    [L_QUIET] = {"quiet", ARG_NONE},
    [L_DRY_RUN] = {"dry-run", ARG_NONE},
    [L_SIM] = {"sim", ARG_NONE},
    [L_TRACE] = {"trace", ARG_OPTIONAL},
    [L_TRACE_HEADERS] = {"trace-headers", ARG_OPTIONAL},
    [L_JSON] = {"json", ARG_OPTIONAL},
    [L_SIM_TIME_SCALE] = {"sim-time-scale", ARG_REQUIRED},
    [L_SIM_FAULTS] = {"sim-faults", ARG_REQUIRED},
    [L_SIM_SEED] = {"sim-seed", ARG_REQUIRED},
    [L_SIM_FIXTURE] = {"sim-fixture", ARG_REQUIRED},
    [L_EMULATOR] = {"emulator", ARG_NONE},
};

/* An unknown long option: said with the nearest known one, if one is near. */
static int unknown_long(const char *a, size_t n) {
  const char *names[L_COUNT + 1];
  for (int k = 0; k < L_COUNT; k++) names[k] = long_opts[k].name;
  names[L_COUNT] = NULL;
  const char *best = pl_nearest(a + 2, n, names);
  char sim[80]; /* --fixture for --sim-fixture: the emulator's own name for it */
  if (!best && n < sizeof sim - 4) {
    int len = snprintf(sim, sizeof sim, "sim-%.*s", (int)n, a + 2);
    for (int k = L_SIM_TIME_SCALE; k <= L_SIM_FIXTURE && !best; k++)
      if (strcmp(sim, names[k]) == 0) best = names[k];
    if (!best) best = pl_nearest(sim, (size_t)len, names);
  }
  if (!best) return usage_error("unrecognized option '%s'", a);
  char msg[160];
  snprintf(msg, sizeof msg, "unrecognized option '%.64s' (did you mean '--%s'?)", a, best);
  return usage_error("%s", msg);
}

typedef struct options {
  int interactive, version, noenv, warnings, execute; /* -i -v -E -W, any -e */
  int help, stats, quiet, sim, dry_run, trace_headers;
  const char *json;   /* NULL: off, "": stdout, else a file */
  const char *trace;  /* NULL: off, "": stderr, else a file */
  pl_server_opts emu; /* --sim-* */
} options;

/* argv[*i] is "--name[=VALUE]": set what it says (a value in the next
 * argument advances *i). 0, or -1 after a usage message. */
static int long_option(int argc, char **argv, int *i, options *o) {
  const char *a = argv[*i], *eq = strchr(a, '=');
  size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
  int k = 0;
  while (k < L_COUNT && !(strncmp(a + 2, long_opts[k].name, n) == 0 && long_opts[k].name[n] == '\0')) k++;
  if (k == L_COUNT) return unknown_long(a, n);
  const char *v = eq ? eq + 1 : ""; /* "" for a bare flag */
  if (eq && long_opts[k].arg == ARG_NONE) return usage_error("option '--%s' takes no argument", long_opts[k].name);
  if (!eq && long_opts[k].arg == ARG_REQUIRED) {
    if (*i + 1 >= argc) return usage_error("option '%s' needs an argument", a);
    v = argv[++*i];
  }
  char err[256];
  switch (k) {
    case L_HELP: o->help = 1; break;
    case L_VERSION: o->version = 1; break;
    case L_STATS: o->stats = 1; break;
    case L_QUIET: o->quiet = 1; break;
    case L_DRY_RUN: o->dry_run = 1; break;
    case L_SIM: o->sim = 1; break;
    case L_TRACE: o->trace = v; break;
    case L_TRACE_HEADERS: /* --trace-headers[=FILE] */
      o->trace_headers = 1;
      if (*v) o->trace = v;
      break;
    case L_JSON: o->json = v; break;
    case L_EMULATOR: break;
    default: /* --sim-* */
      if (pl_server_option(&o->emu, long_opts[k].name + 4, v, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --%s: %s\n", host_progname, long_opts[k].name, err);
        return -1;
      }
      o->sim = 1;
  }
  return 0;
}

/* Check the options before the script, as lua.c's collectargs. Returns the
 * index of the script (argc if none), or -1 after a usage message. */
static int collect(int argc, char **argv, options *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || a[1] == '\0') return i; /* script, or "-" for stdin */
    if (a[1] == '-') {
      if (a[2] == '\0') return i + 1; /* "--" */
      if (long_option(argc, argv, &i, o) != 0) return -1;
      continue;
    }
    switch (a[1]) {
      case 'i':
        o->interactive = 1;
        /* -i implies -v */
        /* fall through */
      case 'v':
        if (a[2] != '\0') return usage_error("unrecognized option '%s'", a);
        o->version = 1;
        break;
      case 'h':
        if (a[2] != '\0') return usage_error("unrecognized option '%s'", a);
        o->help = 1;
        break;
      case 'E':
      case 'W':
        if (a[2] != '\0') return usage_error("unrecognized option '%s'", a);
        if (a[1] == 'E')
          o->noenv = 1;
        else
          o->warnings = 1;
        break;
      case 'e':
        o->execute = 1;
        /* fall through */
      case 'l':
        if (a[2] == '\0' && (++i >= argc || argv[i][0] == '-')) return usage_error("'%s' needs argument", a);
        break;
      default: return usage_error("unrecognized option '%s'", a);
    }
  }
  return argc;
}

/* ---- running chunks ---------------------------------------------------- */

static volatile sig_atomic_t interrupted;
static pl_ctx *main_ctx;

static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* First Ctrl-C: stop the running Lua code (a hook in the running task's
 * coroutine; the main thread runs only C glue, which must not be broken
 * into) and the wait the loop is in (the flag). The second one, before the
 * first is handled, kills the process as usual. */
static void on_sigint(int sig) {
  signal(sig, SIG_DFL);
  interrupted = 1;
  int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT;
  lua_State *co = pl_running_thread(main_ctx);
  if (co) lua_sethook(co, stop_hook, mask, 1);
}

int host_call(lua_State *L, int nargs, int nresults) {
  interrupted = 0;
  signal(SIGINT, on_sigint);
  int status = pl_run(L, nargs, nresults);
  signal(SIGINT, SIG_DFL);
  interrupted = 0;
  lua_State *co = pl_running_thread(main_ctx);
  if (co) lua_sethook(co, NULL, 0, 0);
  return status;
}

/* Say the error on top of L (and pop it), as lua.c does: a value with
 * __tostring is that string; any other is named by its type and, as lua.c
 * adds one, followed by its traceback (the one a task's failure keeps in a
 * table's traceback field, lua_task.c). */
int host_report(lua_State *L, int status) {
  if (status == LUA_OK) return status;
  int err = lua_gettop(L);
  const char *msg = lua_tostring(L, err), *tb = NULL;
  if (!msg && luaL_callmeta(L, err, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
  if (!msg) {
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, err));
    if (lua_type(L, err) == LUA_TTABLE && lua_getfield(L, err, "traceback") == LUA_TSTRING) tb = lua_tostring(L, -1);
  }
  fprintf(stderr, "%s: %s%s%s\n", host_progname, msg, tb ? "\n" : "", tb ? tb : "");
  fflush(stderr);
  lua_settop(L, err - 1);
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = host_call(L, 0, 0);
  return host_report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod, -l g=mod: global[g or mod] = require(mod) */
static int dolibrary(lua_State *L, char *spec) {
  char *mod = strchr(spec, '='), *glob = spec;
  if (mod)
    *mod++ = '\0';
  else
    mod = spec;
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = host_call(L, 1, 1);
  if (status == LUA_OK) {
    if (glob == mod) { /* "-l a.b-c" sets global "a.b" like lua.c: drop the suffix */
      char *dash = strchr(glob, '-');
      if (dash) *dash = '\0';
    }
    lua_setglobal(L, glob);
  }
  return host_report(L, status);
}

static int handle_init(lua_State *L) {
  const char *name = "=PEERLUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (!init) {
    name = "=PEERLUA_INIT";
    init = getenv(name + 1);
  }
  if (!init) return LUA_OK;
  if (init[0] == '@') return dochunk(L, luaL_loadfile(L, init + 1));
  return dostring(L, init, name);
}

/* Run the -e and -l options in order. */
static int runargs(lua_State *L, char **argv, int script) {
  for (int i = 1; i < script; i++) {
    char *a = argv[i];
    if (a[0] != '-' || a[1] == '-') continue;
    if (a[1] != 'e' && a[1] != 'l') continue;
    char *extra = a[2] != '\0' ? a + 2 : argv[++i];
    int status = a[1] == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
    if (status != LUA_OK) return status;
  }
  return LUA_OK;
}

/* arg: script at 0, its arguments at 1.., the interpreter's options below. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;
  lua_createtable(L, argc - script - 1 > 0 ? argc - script - 1 : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    lua_getglobal(L, "arg");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    status = host_call(L, n, 0);
  }
  return host_report(L, status);
}

static void print_version(void) {
  const char *why = pl_lazy_curl();
  printf("peerlua %s  %s  libcurl %s\n", PEERLUA_VERSION, LUA_RELEASE,
         why ? "(not loaded)" : curl_version_info(CURLVERSION_NOW)->version);
  fflush(stdout);
}

/* ---- main -------------------------------------------------------------- */

typedef struct host {
  int argc;
  char **argv;
  options o;
  int script;
  pl_server *sim;
  FILE *trace;
} host;

/* [-0, +0] peerlua.plan[fn](), with the peerlua table at the top. */
static int plan_call(lua_State *L, const char *fn) {
  lua_getfield(L, -1, "plan");
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  return host_report(L, lua_pcall(L, 0, 0, 0));
}

/* peerlua.options, peerlua.set_sim: before any chunk runs. */
/* os.exit under --stats: the counts first, then the real os.exit (upvalue 1),
 * so a script that ends with os.exit still gets its stats line. */
static int exit_with_stats(lua_State *L) {
  pl_print_stats(L, stderr);
  fflush(stderr);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

static int setup(lua_State *L, host *h) {
  luaL_requiref(L, "peerlua", luaopen_peerlua, 1);
  main_ctx = pl_ctx_of(L);
  pl_set_interrupt(L, &interrupted);
  if (h->trace) pl_set_trace(L, h->trace, h->o.trace_headers);
  lua_getfield(L, -1, "options");
  lua_pushboolean(L, h->o.quiet);
  lua_setfield(L, -2, "quiet");
  if (h->o.json && h->o.json[0])
    lua_pushstring(L, h->o.json); /* the file, opened by peerlua.progress */
  else
    lua_pushboolean(L, h->o.json != NULL);
  lua_setfield(L, -2, "json");
  lua_pop(L, 1);
  if (h->o.stats) { /* before the dry run's wrapper, whose summary then comes first, as at a normal end */
    lua_getglobal(L, "os");
    lua_getfield(L, -1, "exit");
    lua_pushcclosure(L, exit_with_stats, 1);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
  }
  if (h->o.dry_run && plan_call(L, "start_cli") != LUA_OK) return 1;
  if (h->sim) {
    lua_getfield(L, -1, "set_sim");
    lua_createtable(L, 0, 2);
    lua_pushstring(L, pl_server_url(h->sim));
    lua_setfield(L, -2, "url");
    if (h->o.emu.fixture) {
      lua_pushstring(L, h->o.emu.fixture);
      lua_setfield(L, -2, "fixture_file");
    }
    if (host_report(L, lua_pcall(L, 1, 0, 0)) != LUA_OK) return 1;
  }
  lua_pop(L, 1);
  return 0;
}

/* Runs in protected mode, like lua.c's pmain; pushes the exit status. */
static int pmain(lua_State *L) {
  host *h = lua_touserdata(L, 1);
  options *o = &h->o;
  int status = 1;
  if (o->version) print_version();
  if (o->noenv) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  createargtable(L, h->argv, h->argc, h->script);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (o->warnings) lua_warning(L, "@on", 0);
  if (setup(L, h) != 0) goto done;
  if (!o->noenv && handle_init(L) != LUA_OK) goto done;
  if (runargs(L, h->argv, h->script) != LUA_OK) goto done;
  if (h->script < h->argc && handle_script(L, h->argv + h->script) != LUA_OK) goto done;
  if (o->interactive) {
    host_repl(L);
  } else if (h->script == h->argc && !o->execute && !o->version) {
    if (isatty(STDIN_FILENO)) {
      print_version();
      host_repl(L);
    } else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK) {
      goto done;
    }
  }
  status = host_report(L, pl_drain(L)) == LUA_OK ? 0 : 1;
done:
  if (o->dry_run) { /* the summary, even after a failure: what was planned so far */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_getfield(L, -1, "peerlua");
    if (lua_istable(L, -1) && plan_call(L, "report") != LUA_OK) status = 1;
    lua_pop(L, 3);
  }
  if (o->stats) pl_print_stats(L, stderr);
  lua_pushinteger(L, status);
  return 1;
}

static int has_arg(int argc, char **argv, const char *what) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], what) == 0) return 1;
    if (argv[i][0] != '-' || strcmp(argv[i], "--") == 0 || strcmp(argv[i], "-") == 0) return 0;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) host_progname = argv[0];
  if (has_arg(argc, argv, "--emulator")) return pl_emulator_main(argc, argv);
  host h = {.argc = argc, .argv = argv, .o.emu = {"127.0.0.1:0", 0, NULL, 0, NULL}};
  h.script = collect(argc, argv, &h.o);
  if (h.script < 0) return 2;
  if (h.o.help) {
    usage(stdout);
    return 0;
  }
  if (h.o.trace_headers && !h.o.trace) h.o.trace = "";
  if (h.o.trace) {
    h.trace = h.o.trace[0] ? fopen(h.o.trace, "w") : stderr;
    if (!h.trace) {
      fprintf(stderr, "%s: --trace: cannot open '%s': %s\n", host_progname, h.o.trace, strerror(errno));
      return 2;
    }
  }
  if (h.o.json && h.o.json[0]) { /* made empty now, so a bad path is a usage error */
    FILE *f = fopen(h.o.json, "w");
    if (!f) {
      fprintf(stderr, "%s: --json: cannot open '%s': %s\n", host_progname, h.o.json, strerror(errno));
      return 2;
    }
    fclose(f);
  }
  if (h.o.sim) {
    pl_server_error e = {.refused = NULL};
    if (h.o.emu.time_scale == 0) h.o.emu.time_scale = PL_SIM_TIME_SCALE;
    if (!(h.sim = pl_server_start(&h.o.emu, &e))) {
      /* name the option that gave what the emulator refused: ours are --sim-* */
      const char *r = e.refused ? e.refused : "";
      int ours = strcmp(r, "faults") == 0 || strcmp(r, "fixture") == 0 || strcmp(r, "time-scale") == 0;
      fprintf(stderr, "%s: --sim%s%s: %s\n", host_progname, ours ? "-" : "", ours ? r : "", e.message);
      return e.refused ? 2 : 1;
    }
  }
  lua_State *L = luaL_newstate();
  int status = 1;
  if (!L) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", host_progname);
  } else {
    lua_pushcfunction(L, pmain);
    lua_pushlightuserdata(L, &h);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK)
      status = (int)lua_tointeger(L, -1);
    else
      host_report(L, LUA_ERRRUN);
    signal(SIGINT, SIG_DFL);
    main_ctx = NULL;
    lua_close(L);
  }
  pl_server_stop(h.sim);
  if (h.trace && h.trace != stderr) fclose(h.trace);
  return status;
}
