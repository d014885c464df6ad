/* `peerlua --emulator`: the emulator as a program of its own, and the
 * option parser --sim shares (pl_server_option). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "pl_http.h"
#include "pl_valid.h"
#include "listen.h"
#include "server.h"

static void pl_server_usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s --emulator [--listen HOST:PORT] [--time-scale X] [--faults SPEC]\n"
          "       %*s [--seed N] [--fixture FILE] [--state FILE]\n"
          "Serve the provider emulator until SIGINT or SIGTERM.\n"
          "  --listen HOST:PORT  address to bind (default " PL_SERVER_DEFAULT_LISTEN "; port 0 picks one)\n"
          "  --time-scale X      emulated seconds per real second (above 0, at most 3600; default 1)\n"
          "  --faults SPEC       fault injection, e.g. 429:0.05,500after:0.02,reset:0.01,slow=2s:0.01\n"
          "                      or per route: /instaclustr/*=429:0.2;*=500:0.05 (\"none\": off)\n"
          "  --seed N            random seed, a non-negative integer (default 0)\n"
          "  --fixture FILE      JSON fixture of accounts and resources\n"
          "  --state FILE        read the emulator's state (peerings, rules, tokens, clock) from FILE\n"
          "                      if it exists, and write it there when stopped (exit 1 if it cannot be)\n"
          "  --quiet             say nothing on stderr when the state is loaded or saved\n"
          "A background job (cmd &) ignores SIGINT: stop it with SIGTERM (kill PID).\n",
          prog, (int)strlen(prog), "");
}

static const char *const pl_server_option_names[] = {"listen",  "time-scale", "faults", "seed",
                                                     "fixture", "state",      NULL};

int pl_server_option(pl_server_opts *o, const char *name, const char *val, char *err, size_t errlen) {
  int k = 0;
  while (pl_server_option_names[k] && strcmp(pl_server_option_names[k], name) != 0) k++;
  char *end, host[256], port[8];
  switch (k) {
    case 0:
      if (pl_listen_split(val, host, sizeof host, port, sizeof port, err, errlen) != 0) return -1;
      o->listen = val;
      return 0;
    case 1:
      errno = 0;
      o->time_scale = strtod(val, &end);
      /* at most an emulated hour a second: the shortest-lived credential the
       * emulator hands out (an Aerospike token, an hour) then lasts a second */
      if (*val == '\0' || *end != '\0' || errno != 0 || !(o->time_scale > 0) ||
          o->time_scale > PL_SERVER_MAX_TIME_SCALE)
        break;
      return 0;
    case 2: o->faults = val; return 0;
    case 3:
      errno = 0;
      o->seed = strtoul(val, &end, 10);
      if (*val < '0' || *val > '9' || *end != '\0' || errno != 0) break;
      return 0;
    case 4:
      if (*val == '\0') break;
      o->fixture = val;
      return 0;
    case 5:
      if (*val == '\0') break;
      o->state = val;
      return 0;
    default: snprintf(err, errlen, "unknown emulator option '%s'", name); return -1;
  }
  static const char *const rules[] = {
      "", "is not a number above 0 and at most 3600", "", "is not a non-negative integer", "is empty", "is empty"};
  snprintf(err, errlen, "'%s' %s", val, rules[k]);
  return -1;
}

int pl_emulator_main(int argc, char **argv) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "peerlua";
  pl_server_opts o = {PL_SERVER_DEFAULT_LISTEN, 1, NULL, 0, NULL, NULL};
  char err[512];
  int i = 1, quiet = 0;
  for (int j = 1; j < argc; j++) {
    if (strcmp(argv[j], "--emulator") == 0) {
      i = j + 1;
      break;
    }
    if (strcmp(argv[j], "--quiet") == 0) { /* peerlua --quiet --emulator */
      quiet = 1;
      continue;
    }
    /* peerlua --sim --emulator: the script options of the host would be dropped without a word */
    fprintf(stderr,
            "%s: '%s' does not go with --emulator, which serves the emulator on its own (its options come "
            "after it: %s --emulator --help)\n",
            prog, argv[j], prog);
    return 2;
  }
  for (; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      pl_server_usage(stdout, prog);
      return 0;
    }
    if (strcmp(a, "--quiet") == 0) {
      quiet = 1;
      continue;
    }
    int k = 0;
    for (; a[0] == '-' && a[1] == '-' && pl_server_option_names[k]; k++) {
      size_t n = strlen(pl_server_option_names[k]);
      if (strncmp(a + 2, pl_server_option_names[k], n) == 0 && (a[n + 2] == '\0' || a[n + 2] == '=')) {
        if (a[n + 2] == '=')
          val = a + n + 3;
        else if (i + 1 < argc)
          val = argv[++i];
        else {
          fprintf(stderr, "%s: option '%s' needs an argument\n", prog, a);
          pl_server_usage(stderr, prog);
          return 2;
        }
        break;
      }
    }
    if (!val) {
      const char *eq = strchr(a, '='), *near = NULL;
      if (a[0] == '-' && a[1] == '-')
        near = pl_nearest(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2), pl_server_option_names);
      if (near)
        fprintf(stderr, "%s: unrecognized option '%s' (did you mean '--%s'?)\n", prog, a, near);
      else
        fprintf(stderr, "%s: %s '%s'\n", prog, a[0] == '-' ? "unrecognized option" : "unexpected argument", a);
      pl_server_usage(stderr, prog);
      return 2;
    }
    if (pl_server_option(&o, pl_server_option_names[k], val, err, sizeof err) != 0) {
      fprintf(stderr, "%s: --%s: %s\n", prog, pl_server_option_names[k], err);
      return 2;
    }
  }

  /* SIGINT and SIGTERM are taken with sigwait: blocked from here on (the
   * server thread blocks everything), with default dispositions so that a
   * shell's "ignore SIGINT" for background jobs does not get in the way.
   * They stay blocked on return: a second signal (a supervisor often sends
   * one to the whole process group) must not kill a process that is
   * exiting cleanly. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  struct sigaction dfl, oldint, oldterm;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGINT, &dfl, &oldint);
  sigaction(SIGTERM, &dfl, &oldterm);
  int status = 0;
  int had_state = o.state && access(o.state, F_OK) == 0;
  pl_server_error e = {.refused = NULL};
  pl_server *s = pl_server_start(&o, &e);
  if (!s) {
    fprintf(stderr, "%s: %s\n", prog, e.message);
    status = e.refused ? 2 : 1;
  } else {
    if (had_state && !quiet) fprintf(stderr, "%s: --state %s: loaded\n", prog, o.state);
    char host[256], port[8], err[128];
    if (pl_listen_split(o.listen, host, sizeof host, port, sizeof port, err, sizeof err) == 0 &&
        !pl_http_is_loopback(host)) /* said even under --quiet: it is not about the state */
      fprintf(stderr,
              "%s: warning: listening on %s, which other machines can reach: anyone who connects gets the "
              "fixture's accounts, and what clients send in plain http\n",
              prog, o.listen);
    printf("listening on %s\n", pl_server_url(s));
    fflush(stdout);
    int sig;
    while (sigwait(&set, &sig) != 0) {
    }
    if (pl_server_stop(s) != 0)
      status = 1;
    else if (o.state && !quiet)
      fprintf(stderr, "%s: --state %s: saved\n", prog, o.state);
  }
  sigaction(SIGINT, &oldint, NULL);
  sigaction(SIGTERM, &oldterm, NULL);
  return status;
}
