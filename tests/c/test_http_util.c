/* Request preparation without the network: URL rules, methods, headers,
 * loopback detection and secret header names. */
#include <string.h>

#include "check.h"
#include "pl_http.h"

static int url_ok(pl_loop *l, const char *url, int insecure) {
  pl_http *h = pl_http_new(l);
  int rc = pl_http_set_url(h, url, insecure);
  int bad = h->err == PL_HTTP_INVALID && h->errmsg[0];
  pl_http_free(h);
  return rc == 0 ? 1 : (bad ? 0 : -1);
}

int main(void) {
  pl_loop *l = pl_loop_new();
  CHECK(l != NULL);

  CHECK(pl_http_is_loopback("127.0.0.1"));
  CHECK(pl_http_is_loopback("127.255.0.9"));
  CHECK(pl_http_is_loopback("localhost"));
  CHECK(pl_http_is_loopback("LOCALHOST"));
  CHECK(pl_http_is_loopback("[::1]"));
  CHECK(pl_http_is_loopback("::1"));
  CHECK(pl_http_is_loopback("[::ffff:127.0.0.1]"));
  CHECK(!pl_http_is_loopback("128.0.0.1"));
  CHECK(!pl_http_is_loopback("10.0.0.1"));
  CHECK(!pl_http_is_loopback("localhost.example.com"));
  CHECK(!pl_http_is_loopback("[::2]"));

  CHECK(url_ok(l, "http://127.0.0.1:8080/x?y=1", 0) == 1);
  CHECK(url_ok(l, "https://api.instaclustr.com/provisioning/v1/", 0) == 1);
  CHECK(url_ok(l, "http://api.instaclustr.com/", 0) == 0); /* plain http off loopback */
  CHECK(url_ok(l, "http://api.instaclustr.com/", 1) == 1); /* ... unless insecure */
  CHECK(url_ok(l, "ftp://127.0.0.1/", 0) == 0);
  CHECK(url_ok(l, "not a url", 0) == 0);
  CHECK(url_ok(l, "", 0) == 0);
  CHECK(url_ok(l, "http://", 0) == 0);
  /* the origins above passed: a URL of one is taken without a second parse,
   * but only with the same insecure and a rest curl takes as it is */
  CHECK(url_ok(l, "http://127.0.0.1:8080/other/path?q=%20#f", 0) == 1);
  CHECK(url_ok(l, "http://127.0.0.1:8080/a b", 0) == 0);
  CHECK(url_ok(l, "http://127.0.0.1:8080/a\x01", 0) == 0);
  CHECK(url_ok(l, "http://api.instaclustr.com/other", 0) == 0);           /* remembered with insecure = 1 */
  CHECK(url_ok(l, "http://127.0.0.1:8080@api.instaclustr.com/", 0) == 0); /* another origin */
  CHECK(url_ok(l, "http://127.0.0.1:80800/", 0) == 0);

  pl_http *h = pl_http_new(l);
  CHECK(pl_http_set_method(h, "PATCH") == 0 && strcmp(h->method, "PATCH") == 0);
  CHECK(pl_http_set_method(h, "BREW") == -1 && h->err == PL_HTTP_INVALID);
  CHECK(pl_http_set_method(h, "get") == -1); /* the Lua layer upper-cases */
  CHECK(pl_http_add_header(h, "X-Ok", "v") == 0);
  CHECK(pl_http_add_header(h, "Bad Name", "v") == -1);
  CHECK(pl_http_add_header(h, "X-Split", "a\r\nInjected: 1") == -1);
  CHECK(pl_http_add_header(h, "", "v") == -1);
  pl_http_free(h);

  /* in any case, anywhere in a text, and only within its length */
  CHECK(pl_http_mentions_secret("denied: AUTHORIZATION: x", 24));
  CHECK(pl_http_mentions_secret("a Password here", 15));
  CHECK(!pl_http_mentions_secret("plain text error", 16));
  CHECK(!pl_http_mentions_secret("tok", 3));
  CHECK(!pl_http_mentions_secret("the token", 6)); /* "the to": the word lies past len */
  CHECK(pl_http_header_is_secret("Authorization", 13));
  CHECK(pl_http_header_is_secret("X-Auth-Token", 12));
  CHECK(pl_http_header_is_secret("x-subject-token", 15));
  CHECK(pl_http_header_is_secret("X-Security-Token", 16));
  CHECK(!pl_http_header_is_secret("Content-Type", 12));
  CHECK(!pl_http_header_is_secret("X-Sdk-Date", 10));

  pl_loop_free(l);
  return check_report("http_util");
}
