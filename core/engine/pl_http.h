/* One HTTP exchange, prepared in C, run by the loop. Lua-free.
 * Life: pl_http_new -> pl_http_set_* -> pl_loop_start -> done callback ->
 * read fields -> pl_http_free. */
#ifndef PL_HTTP_H
#define PL_HTTP_H
#include <stddef.h>
#include <stdio.h>
#include "pl_buf.h"
#include "pl_loop.h"

enum pl_http_err {
  PL_HTTP_OK = 0,  /* a response arrived (any status) */
  PL_HTTP_INVALID, /* refused before sending: bad URL, method, ... */
  PL_HTTP_TIMEOUT, /* connect or total time limit reached */
  PL_HTTP_NETWORK, /* DNS, connect, reset, truncated ...: may pass */
  PL_HTTP_NOMEM,
  PL_HTTP_REFUSED /* a failure that another try would repeat: a certificate
                     that does not verify, a body over max_body */
};

/* Default cap on a response body, after decompression (README "Options"). */
#define PL_HTTP_MAX_BODY ((size_t)16 << 20)

typedef void (*pl_http_cb)(pl_http *h, void *ud);

struct pl_http {
  pl_loop *loop;
  void *easy;                 /* CURL*, from the loop's pool */
  struct curl_slist *headers; /* request headers */
  char method[16];
  char *url;
  pl_buf body;            /* request body */
  double timeout;         /* total seconds, 0 = none */
  double connect_timeout; /* seconds */
  int insecure;           /* allow http:// to non-loopback hosts */
  int no_verify;          /* skip TLS certificate checks (tls_verify = false) */
  char *ca_file;          /* CA bundle to verify with (owned), NULL: the system's */
  size_t max_body;        /* largest response body taken, decompressed */
  int secret_body;        /* the body holds a credential: zeroed when h is freed */

  /* result */
  int err; /* enum pl_http_err */
  char errmsg[256];
  long status;
  pl_buf resp_headers; /* raw header block of the final response */
  pl_buf resp_body;
  double started, elapsed; /* loop clock seconds */

  pl_http_cb done;
  void *ud;
  int running;
  int over; /* the body passed max_body */
};

pl_http *pl_http_new(pl_loop *l);
void pl_http_free(pl_http *h); /* aborts it first if running */

/* Each returns 0, or -1 with h->err = PL_HTTP_INVALID and h->errmsg set. */
int pl_http_set_method(pl_http *h, const char *method);         /* GET POST PUT PATCH DELETE HEAD OPTIONS */
int pl_http_set_url(pl_http *h, const char *url, int insecure); /* scheme, host, loopback rule */
int pl_http_add_header(pl_http *h, const char *name, const char *value);
int pl_http_set_body(pl_http *h, const char *data, size_t len);

/* Is host a loopback name or address ("localhost", 127.0.0.0/8, ::1)? */
int pl_http_is_loopback(const char *host);
/* The rule a plain http:// URL to any other host breaks. */
#define PL_HTTP_PLAIN_RULE                                                                                             \
  "plain http:// is only allowed to loopback hosts (127.0.0.1, ::1, localhost); use https:// or pass insecure = true"

/* Names of headers whose values never appear in traces or errors. */
int pl_http_header_is_secret(const char *name, size_t len);
/* Whether text holds one of the words that name a credential
 * (authorization, token, secret, password, cookie, api key, signature),
 * in any case: text that is then not shown. */
int pl_http_mentions_secret(const char *s, size_t len);

/* Used by the loop only. */
int pl_http_prepare(pl_http *h);                /* configure h->easy; -1 sets h->err */
void pl_http_finish(pl_http *h, int curl_code); /* fill status / err from the result */
/* One line per exchange; with headers, each request header on its own
 * line after it. Secrets redacted. */
void pl_http_trace(const pl_http *h, FILE *f, int headers);

#endif
