/* The physical limit for sequential requests: a plain libcurl loop doing N
 * keep-alive GETs on one easy handle, bodies kept in memory like peerlua
 * does. Usage: bench_curl_loop URL N */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct body {
  char *data;
  size_t len, cap;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct body *b = ud;
  size_t add = size * n;
  if (b->len + add > b->cap) {
    b->cap = (b->len + add) * 2;
    b->data = realloc(b->data, b->cap);
    if (!b->data) return 0;
  }
  memcpy(b->data + b->len, p, add);
  b->len += add;
  return add;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s URL N\n", argv[0]);
    return 2;
  }
  long n = strtol(argv[2], NULL, 10), ok = 0;
  struct body b = {0};
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  for (long i = 0; i < n; i++) {
    long status = 0;
    b.len = 0;
    if (curl_easy_perform(e) == CURLE_OK && curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status == 200)
      ok++;
  }
  curl_easy_cleanup(e);
  free(b.data);
  curl_global_cleanup();
  printf("%ld/%ld ok\n", ok, n);
  return ok == n ? 0 : 1;
}
