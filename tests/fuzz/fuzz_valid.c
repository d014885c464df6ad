/* libFuzzer target: every validator, and the path-template expander with
 * values taken from the input. Input: a template line, then values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_buf.h"
#include "pl_valid.h"

static const char *const names[] = {"uuid",       "cidr",      "cidr4", "aws_vpc", "aws_account",
                                    "aws_region", "ic_region", "hex32", "nonempty"};

struct values {
  const char *v[4];
};

static const char *lookup(const char *name, size_t len, void *ud) {
  const struct values *vs = ud;
  return vs->v[len % 4]; /* any name maps to one of the values, NULL included */
  (void)name;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    pl_validator fn = pl_valid_by_name(names[i]);
    const char *rule = fn(s, size);
    if (rule && !*rule) abort(); /* a rule is a readable sentence */
  }
  /* "template\nvalue1\nvalue2\nvalue3" */
  struct values vs = {{NULL, NULL, NULL, NULL}};
  char *line = strchr(s, '\n');
  for (int k = 1; line && k < 4; k++) {
    *line++ = '\0';
    vs.v[k] = line;
    line = strchr(line, '\n');
  }
  pl_buf out;
  pl_buf_init(&out);
  const char *bad = NULL;
  size_t badlen = 0;
  if (pl_path_expand(s, lookup, &vs, &out, &bad, &badlen) != 0) {
    if (bad && (bad < s || bad + badlen > s + strlen(s))) abort(); /* points into the template */
  }
  pl_buf_free(&out);
  free(s);
  return 0;
}
