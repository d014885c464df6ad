#include "pl_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include "pl_lazy.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void invalid(pl_http *h, const char *msg) {
  h->err = PL_HTTP_INVALID;
  snprintf(h->errmsg, sizeof h->errmsg, "%s", msg);
}

pl_http *pl_http_new(pl_loop *l) {
  pl_http *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->loop = l;
  h->connect_timeout = 10;
  h->timeout = 30;
  h->max_body = PL_HTTP_MAX_BODY;
  strcpy(h->method, "GET");
  pl_buf_init(&h->body);
  pl_buf_init(&h->resp_headers);
  pl_buf_init(&h->resp_body);
  return h;
}

void pl_http_free(pl_http *h) {
  if (!h) return;
  pl_loop_abort(h->loop, h);
  /* a plain GET leaves the handle as the next plain GET wants it */
  int plain = h->easy && !h->ca_file && !h->no_verify && !h->body.len && strcmp(h->method, "GET") == 0;
  if (plain) { /* no pointer into h may outlive it */
    curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(h->easy, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(h->easy, CURLOPT_PRIVATE, NULL);
  }
  pl_loop_easy_put(h->loop, h->easy, plain);
  /* the credential lines are zeroed before their memory goes back (what
   * libcurl copied into its own request buffer is libcurl's) */
  for (struct curl_slist *l = h->headers; l; l = l->next) {
    size_t n = strcspn(l->data, ":;");
    if (pl_http_header_is_secret(l->data, n)) pl_wipe(l->data, strlen(l->data));
  }
  curl_slist_free_all(h->headers);
  free(h->url);
  free(h->ca_file);
  if (h->secret_body && h->body.data) pl_wipe(h->body.data, h->body.len);
  pl_buf_free(&h->body);
  pl_buf_free(&h->resp_headers);
  pl_buf_free(&h->resp_body);
  free(h);
}

int pl_http_set_method(pl_http *h, const char *method) {
  static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", NULL};
  for (int i = 0; known[i]; i++) {
    if (strcmp(method, known[i]) == 0) {
      strcpy(h->method, known[i]);
      return 0;
    }
  }
  invalid(h, "method: unsupported (use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS)");
  return -1;
}

int pl_http_is_loopback(const char *host) {
  unsigned char a[16];
  char buf[64];
  size_t n = strlen(host);
  if (strcasecmp(host, "localhost") == 0) return 1;
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    host = buf;
  }
  if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
  if (inet_pton(AF_INET6, host, a) == 1) {
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (memcmp(a, one, 16) == 0) return 1;
    return memcmp(a, v4mapped, 12) == 0 && a[12] == 127;
  }
  return 0;
}

/* The length of url's origin ("scheme://authority", up to the first '/',
 * '?' or '#' after "://"), or 0 when it has none or one too long to keep. */
static size_t origin_len(const char *url) {
  const char *sep = strstr(url, "://");
  if (!sep) return 0;
  size_t n = (size_t)(sep - url) + 3 + strcspn(sep + 3, "/?#");
  return n < PL_ORIGIN_MAX ? n : 0;
}

/* Did a URL of url's origin pass the checks below, with the same insecure,
 * and is the rest of url only printable ASCII without spaces (which
 * curl_url_set takes as it is)? Then url passes them too. */
static int origin_known(const pl_origins *o, const char *url, size_t n, int insecure) {
  if (!o || n == 0) return 0;
  for (const unsigned char *p = (const unsigned char *)url + n; *p; p++)
    if (*p <= 0x20 || *p >= 0x7f) return 0;
  for (int i = 0; i < PL_ORIGINS; i++)
    if (o->slot[i].len == n && o->slot[i].insecure == insecure && memcmp(o->slot[i].text, url, n) == 0) return 1;
  return 0;
}

static void origin_remember(pl_origins *o, const char *url, size_t n, int insecure) {
  if (!o || n == 0) return;
  unsigned i = o->next++ % PL_ORIGINS;
  memcpy(o->slot[i].text, url, n);
  o->slot[i].len = n;
  o->slot[i].insecure = insecure;
}

int pl_http_set_url(pl_http *h, const char *url, int insecure) {
  pl_origins *origins = h->loop ? pl_loop_origins(h->loop) : NULL;
  size_t olen = origin_len(url);
  if (origin_known(origins, url, olen, insecure)) {
    if (!(h->url = strdup(url))) {
      invalid(h, "out of memory");
      return -1;
    }
    h->insecure = insecure;
    return 0;
  }
  const char *why = pl_lazy_curl();
  if (why) {
    h->err = PL_HTTP_NETWORK;
    snprintf(h->errmsg, sizeof h->errmsg, "%s", why);
    return -1;
  }
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  int rc = -1;
  if (!u) {
    invalid(h, "out of memory");
    return -1;
  }
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
    invalid(h, "url: malformed URL");
  } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
    invalid(h, "url: unsupported scheme (use http:// or https://)");
  } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
    invalid(h, "url: no host");
  } else if (strcmp(scheme, "http") == 0 && !insecure && !pl_http_is_loopback(host)) {
    invalid(h, "url: " PL_HTTP_PLAIN_RULE);
  } else if (!(h->url = strdup(url))) {
    invalid(h, "out of memory");
  } else {
    h->insecure = insecure;
    origin_remember(origins, url, olen, insecure);
    rc = 0;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return rc;
}

int pl_http_add_header(pl_http *h, const char *name, const char *value) {
  pl_buf line;
  for (const char *p = name; *p; p++) {
    if (!isgraph((unsigned char)*p) || *p == ':') {
      invalid(h, "headers: bad header name (letters, digits and punctuation other than ':')");
      return -1;
    }
  }
  if (!*name || strpbrk(value, "\r\n")) {
    invalid(h, *name ? "headers: values must not contain line breaks" : "headers: empty header name");
    return -1;
  }
  pl_buf_init(&line);
  int bad = pl_buf_addstr(&line, name) || pl_buf_add(&line, *value ? ": " : ";", *value ? 2 : 1) ||
      pl_buf_addstr(&line, value);
  struct curl_slist *l = bad ? NULL : curl_slist_append(h->headers, line.data);
  if (line.data) pl_wipe(line.data, line.len);
  pl_buf_free(&line);
  if (!l) {
    invalid(h, "out of memory");
    return -1;
  }
  h->headers = l;
  return 0;
}

int pl_http_set_body(pl_http *h, const char *data, size_t len) {
  pl_buf_reset(&h->body);
  if (pl_buf_add(&h->body, data, len) != 0) {
    invalid(h, "out of memory");
    return -1;
  }
  return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  pl_http *h = ud;
  if (size * n > h->max_body - h->resp_body.len) { /* 0 aborts the transfer */
    h->over = 1;
    return 0;
  }
  return pl_buf_add(&h->resp_body, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  pl_http *h = ud;
  if (n * size > 5 && strncmp(p, "HTTP/", 5) == 0) pl_buf_reset(&h->resp_headers); /* a new response */
  return pl_buf_add(&h->resp_headers, p, size * n) == 0 ? size * n : 0;
}

int pl_http_prepare(pl_http *h) {
  if (!h->url) {
    invalid(h, "no URL");
    return -1;
  }
  int configured = 0;
  if (!h->easy && !(h->easy = pl_loop_easy_get(h->loop, &configured))) {
    h->err = PL_HTTP_NOMEM;
    snprintf(h->errmsg, sizeof h->errmsg, "out of memory");
    return -1;
  }
  /* no "Expect: 100-continue" round trip on larger bodies (a request
   * without a body never asks for one) */
  struct curl_slist *expect = h->body.len ? curl_slist_append(h->headers, "Expect:") : NULL;
  if (expect) h->headers = expect; /* out of memory: sent without it */
  CURL *e = h->easy;
  if (!configured) { /* the same for every request */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "peerlua/" PEERLUA_CORE_VERSION);
  }
  curl_easy_setopt(e, CURLOPT_URL, h->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)h);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errmsg);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(h->connect_timeout * 1000));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(h->timeout * 1000));
  /* a declared length over the cap fails before the body comes */
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_body);
  if (h->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
  if (h->no_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  /* libcurl sends a request again, unasked, when a reused connection turns
   * out dead before any answer, even after the server read and ran it. A
   * POST or PATCH (a create) goes on a connection of its own, which is
   * never re-sent: whether to try again is the caller's call, after it
   * has looked whether the first one landed. */
  int once = strcmp(h->method, "POST") == 0 || strcmp(h->method, "PATCH") == 0;
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, (long)once);
  if (strcmp(h->method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (strcmp(h->method, "GET") != 0) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, h->method);
  }
  if (h->body.len || strcmp(h->method, "POST") == 0 || strcmp(h->method, "PUT") == 0 ||
      strcmp(h->method, "PATCH") == 0) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body.len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->body.data ? h->body.data : "");
  }
  h->err = PL_HTTP_OK;
  h->status = 0;
  h->over = 0;
  h->errmsg[0] = '\0';
  pl_buf_reset(&h->resp_headers);
  pl_buf_reset(&h->resp_body);
  return 0;
}

void pl_http_finish(pl_http *h, int code) {
  CURLcode rc = (CURLcode)code;
  curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
  if (rc == CURLE_OK) {
    h->err = PL_HTTP_OK;
    return;
  }
  if (h->over || rc == CURLE_FILESIZE_EXCEEDED) {
    h->err = PL_HTTP_REFUSED;
    snprintf(h->errmsg, sizeof h->errmsg, "response body over max_body (%zu bytes, after decompression)", h->max_body);
    return;
  }
  int cert = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR ||
      rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
  h->err = rc == CURLE_OPERATION_TIMEDOUT ? PL_HTTP_TIMEOUT
      : rc == CURLE_OUT_OF_MEMORY         ? PL_HTTP_NOMEM
      : cert                              ? PL_HTTP_REFUSED
                                          : PL_HTTP_NETWORK;
  if (!h->errmsg[0]) snprintf(h->errmsg, sizeof h->errmsg, "%s", curl_easy_strerror(rc));
  /* OpenSSL's answer to a TLS hello met by plain HTTP: every try gets it */
  if (rc == CURLE_SSL_CONNECT_ERROR && strstr(h->errmsg, "wrong version number")) {
    h->err = PL_HTTP_REFUSED;
    size_t n = strlen(h->errmsg);
    snprintf(h->errmsg + n, sizeof h->errmsg - n, " (the server does not speak TLS there: an http:// URL?)");
  }
  if (cert) {
    size_t n = strlen(h->errmsg);
    snprintf(h->errmsg + n, sizeof h->errmsg - n, " (the TLS certificate did not verify; ca_file names a CA to trust)");
  }
}

int pl_http_mentions_secret(const char *s, size_t len) {
  static const char *const words[] = {"authorization", "token",  "secret",    "password",  "cookie",
                                      "api-key",       "apikey", "x-api-key", "signature", NULL};
  for (int i = 0; words[i]; i++) {
    size_t n = strlen(words[i]);
    for (size_t at = 0; at + n <= len; at++)
      if (strncasecmp(s + at, words[i], n) == 0) return 1;
  }
  return 0;
}

int pl_http_header_is_secret(const char *name, size_t len) {
  return pl_http_mentions_secret(name, len);
}

/* Write url with its user information ("user:password@", or a token
 * there) and the values of secret-looking query parameters replaced. */
static void trace_url(const char *url, FILE *f) {
  const char *sep = strstr(url, "://");
  if (sep) {
    const char *host = sep + 3;
    size_t auth = strcspn(host, "/?#");
    const char *at = NULL; /* the last '@' before the path ends the user information */
    for (size_t i = 0; i < auth; i++)
      if (host[i] == '@') at = host + i;
    if (at) {
      fwrite(url, 1, (size_t)(host - url), f);
      fputs("[REDACTED]", f);
      url = at; /* from the '@' */
    }
  }
  const char *q = strchr(url, '?');
  if (!q) {
    fputs(url, f);
    return;
  }
  fwrite(url, 1, (size_t)(q - url), f);
  for (const char *p = q; *p && *p != '#';) {
    fputc(*p++, f); /* '?' or '&' */
    size_t klen = strcspn(p, "=&#");
    size_t vlen = p[klen] == '=' ? strcspn(p + klen + 1, "&#") : 0;
    fwrite(p, 1, klen, f);
    if (p[klen] == '=') {
      int secret = pl_http_header_is_secret(p, klen) || (klen >= 3 && strncasecmp(p + klen - 3, "key", 3) == 0);
      fputc('=', f);
      if (secret)
        fputs("[REDACTED]", f);
      else
        fwrite(p + klen + 1, 1, vlen, f);
      p += klen + 1 + vlen;
    } else {
      p += klen;
    }
  }
}

/* qsort order of header lines: by name, case-insensitively, then as given. */
static int trace_header_cmp(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  int c = strcasecmp(x, y);
  return c ? c : strcmp(x, y);
}

/* The Action of an AWS Query request, whose form body names it (EC2, STS:
 * "Action=DescribeVpcs&Version=..."), so its trace line says which call
 * it was; NULL when the request has no form body or it names none. Only a
 * word is taken. */
static const char *query_action(const pl_http *h, size_t *len) {
  int form = 0; /* only a form body: no JSON value is taken for an action */
  for (const struct curl_slist *s = h->headers; s && !form; s = s->next)
    form = strncasecmp(s->data, "Content-Type: application/x-www-form-urlencoded", 47) == 0;
  if (!form || !h->body.len) return NULL;
  const char *p = h->body.data, *end = p + h->body.len;
  while (p && end - p > 7) {
    if (memcmp(p, "Action=", 7) == 0) {
      size_t n = 0;
      while (p + 7 + n < end && n < 64 && isalnum((unsigned char)p[7 + n])) n++;
      *len = n;
      return n ? p + 7 : NULL;
    }
    p = memchr(p, '&', (size_t)(end - p));
    if (p) p++;
  }
  return NULL;
}

void pl_http_trace(const pl_http *h, FILE *f, int headers) {
  fprintf(f, "peerlua: http %s ", h->method);
  trace_url(h->url, f);
  size_t alen;
  const char *action = query_action(h, &alen);
  if (action) fprintf(f, " Action=%.*s", (int)alen, action);
  if (h->err == PL_HTTP_OK)
    fprintf(f, " -> %ld", h->status);
  else
    fprintf(f, " -> error (%s)", h->errmsg);
  fprintf(f, " %.3fs sent %zu B received %zu B\n", h->elapsed, h->body.len, h->resp_body.len);
  /* the headers sorted by name, so that two traces of one call compare */
  size_t n = 0;
  for (const struct curl_slist *s = headers ? h->headers : NULL; s; s = s->next) n++;
  const char **lines = n ? malloc(n * sizeof *lines) : NULL;
  if (n && !lines) n = 0; /* out of memory: no header lines */
  n = 0;
  for (const struct curl_slist *s = lines ? h->headers : NULL; s; s = s->next) lines[n++] = s->data;
  if (n) qsort(lines, n, sizeof *lines, trace_header_cmp);
  for (size_t i = 0; i < n; i++) {
    const char *line = lines[i], *colon = strchr(line, ':');
    if (!colon || strcmp(line, "Expect:") == 0) continue;
    size_t nlen = (size_t)(colon - line);
    if (pl_http_header_is_secret(line, nlen))
      fprintf(f, "  > %.*s: [REDACTED]\n", (int)nlen, line);
    else
      fprintf(f, "  > %s\n", line);
  }
  free(lines);
  fflush(f);
}
