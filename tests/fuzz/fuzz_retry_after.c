/* libFuzzer target: Retry-After parsing (delta seconds or an HTTP date). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  double delay = -1;
  if (pl_retry_after_parse(s, 1700000000.0, &delay) == 0) {
    if (!(delay >= 0) || isinf(delay)) abort(); /* a usable, finite, non-negative wait */
  }
  free(s);
  return 0;
}
