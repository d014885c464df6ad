/* A minimal assertion helper for the C unit tests: count failures, exit 1 if any. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>

static int check_failures, check_total;

#define CHECK(cond)                                                                                                    \
  do {                                                                                                                 \
    check_total++;                                                                                                     \
    if (!(cond)) {                                                                                                     \
      check_failures++;                                                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                         \
    }                                                                                                                  \
  } while (0)

static int check_report(const char *name) {
  printf("%s: %d checks, %d failed\n", name, check_total, check_failures);
  return check_failures ? 1 : 0;
}

#endif
