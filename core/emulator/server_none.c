/* The emulator's API in a build without the emulator (-DPEERLUA_EMULATOR=OFF):
 * every way to start it says so, as a usage error. */
#include <stdio.h>
#include <string.h>

#include "server.h"

#define NO_EMULATOR "this build of peerlua has no emulator (configured with -DPEERLUA_EMULATOR=OFF)"

pl_server *pl_server_start(const pl_server_opts *o, pl_server_error *e) {
  (void)o;
  snprintf(e->message, sizeof e->message, "%s", NO_EMULATOR);
  e->refused = "";
  return NULL;
}

const char *pl_server_url(const pl_server *s) {
  (void)s;
  return "";
}

int pl_server_available(void) {
  return 0;
}

int pl_server_stop(pl_server *s) {
  (void)s;
  return 0;
}

int pl_server_option(pl_server_opts *o, const char *name, const char *val, char *err, size_t errlen) {
  (void)o, (void)name, (void)val;
  snprintf(err, errlen, "%s", NO_EMULATOR);
  return -1;
}

int pl_emulator_main(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "%s: --emulator: %s\n", argv[0], NO_EMULATOR);
  return 2;
}
