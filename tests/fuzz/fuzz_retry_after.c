/* libFuzzer target: Retry-After parsing (delta seconds or an HTTP date),
 * and the wait a 429's body says (Aiven's "try again in 28s"). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_provider.h"
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
  /* the body as it came (not NUL-terminated): within it, and held to the cap */
  double said = pl_provider_retry_said(pl_provider_find("aiven", ""), 429, (const char *)data, size);
  if (said != -1 && !(said >= 0 && said <= PL_RETRY_SAID_MAX)) abort();
  free(s);
  return 0;
}
