/* libFuzzer target: the Huawei signer's canonicalisation. Input: method,
 * URL, header name, header value and body separated by '\n'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pl_sign.h"

static int contains(const char *d, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; d && i + k <= n; i++)
    if (memcmp(d + i, needle, k) == 0) return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  char *part[5] = {s, "", "", "", ""};
  char *p = s;
  for (int k = 1; k < 5 && (p = memchr(p, '\n', (size_t)(s + size - p))); k++) {
    *p++ = '\0';
    part[k] = p;
  }
  pl_sign_header h = {part[2], part[3]};
  pl_sign_req r = {.method = part[0],
                   .url = part[1],
                   .headers = &h,
                   .nheaders = *part[2] ? 1 : 0,
                   .body = part[4],
                   .body_len = strlen(part[4]),
                   .ak = "AKFUZZ",
                   .sk = "FUZZ-SECRET-KEY",
                   .date = "20191115T033655Z"};
  pl_sign_out out;
  char err[256];
  /* the SK never appears in the header or a message (unless the input put it
   * there: upper case, so lower-cased header names cannot spell it) */
  int sk_given = contains((const char *)data, size, r.sk);
  if (pl_sign_huawei(&r, &out, err, sizeof err) == 0) {
    if (strlen(out.signature) != 64) abort();
    if (!sk_given && contains(out.authorization.data, out.authorization.len, r.sk)) abort();
  } else if (!sk_given && strstr(err, r.sk)) {
    abort();
  }
  pl_sign_out_free(&out);
  free(s);
  return 0;
}
