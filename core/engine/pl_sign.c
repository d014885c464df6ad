/* Huawei AK/SK and AWS Signature Version 4 signing: see pl_sign.h. */
#include "pl_sign.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pl_buf.h"
#include "pl_lazy.h"

typedef struct pair {
  char *name, *value;
  size_t seq; /* a header's place in the request, to keep repeated names in order */
} pair;

static int add_escaped(pl_buf *b, const char *s) {
  return pl_buf_add_escaped(b, s, strlen(s));
}

/* s escaped, as a new string; NULL when out of memory. */
static char *escaped(const char *s) {
  pl_buf b;
  pl_buf_init(&b);
  if (add_escaped(&b, s) || pl_buf_add(&b, "", 0) || !b.data) {
    pl_buf_free(&b);
    return NULL;
  }
  return b.data;
}

static int add_hex(pl_buf *b, const unsigned char *d, size_t n) {
  static const char hex[] = "0123456789abcdef";
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    char e[2] = {hex[d[i] >> 4], hex[d[i] & 15]};
    bad |= pl_buf_add(b, e, 2);
  }
  return bad;
}

static void sha256_hex(const void *data, size_t n, char out[65]) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int hmac_sha256(const void *key, size_t klen, const void *data, size_t n, unsigned char out[32]) {
  unsigned int len = 0;
  return HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len) && len == 32 ? 0 : -1;
}

static int cmp_pair(const void *a, const void *b) {
  const pair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
}

/* by name, then by place in the request */
static int cmp_header(const void *a, const void *b) {
  const pair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void free_pairs(pair *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(p[i].name);
    free(p[i].value);
  }
  free(p);
}

/* The canonical URI: each segment of path[0..n) decoded, escaped, '/' kept,
 * and a trailing '/'. */
static int add_canonical_uri(pl_buf *b, const char *path, size_t n) {
  int bad = 0;
  if (n == 0 || path[0] != '/') bad |= pl_buf_add(b, "/", 1);
  size_t i = 0;
  while (i < n) {
    if (path[i] == '/') {
      bad |= pl_buf_add(b, "/", 1);
      i++;
      continue;
    }
    size_t j = i;
    while (j < n && path[j] != '/') j++;
    char *seg = pl_percent_decode(path + i, j - i, NULL);
    if (!seg) return -1;
    bad |= add_escaped(b, seg);
    free(seg);
    i = j;
  }
  if (b->len == 0 || b->data[b->len - 1] != '/') bad |= pl_buf_add(b, "/", 1);
  return bad;
}

/* Append path[0..n) escaped, its '/' kept. */
static int add_escaped_path(pl_buf *b, const char *path, size_t n) {
  int bad = 0;
  for (size_t i = 0, j; i <= n; i = j + 1) {
    j = i;
    while (j < n && path[j] != '/') j++;
    bad |= pl_buf_add_escaped(b, path + i, j - i);
    if (j < n) bad |= pl_buf_add(b, "/", 1);
  }
  return bad;
}

/* The AWS canonical URI of path[0..n): each segment escaped as it stands.
 * Unless raw, empty and "." segments are dropped and ".." drops the one
 * before it (RFC 3986 5.2.4, duplicate slashes collapsed); a trailing '/'
 * stays, as it does after a final "." or "..". */
static int add_aws_uri(pl_buf *b, const char *path, size_t n, int raw) {
  if (n == 0) return pl_buf_add(b, "/", 1);
  if (raw) return (path[0] != '/' && pl_buf_add(b, "/", 1)) || add_escaped_path(b, path, n) ? -1 : 0;
  struct span {
    size_t at, len;
  } *seg = malloc((n + 1) * sizeof *seg);
  if (!seg) return -1;
  size_t nseg = 0, i = 0, j = 0;
  for (; i <= n; i = j + 1) {
    j = i;
    while (j < n && path[j] != '/') j++;
    int dot = j - i == 1 && path[i] == '.', dotdot = j - i == 2 && path[i] == '.' && path[i + 1] == '.';
    if (dotdot && nseg) nseg--;
    if (j > i && !dot && !dotdot) seg[nseg++] = (struct span){i, j - i};
    if (j == n) break;
  }
  /* i is where the last segment starts */
  int trailing =
      path[n - 1] == '/' || (n - i == 1 && path[i] == '.') || (n - i == 2 && path[i] == '.' && path[i + 1] == '.');
  int bad = 0;
  for (size_t k = 0; k < nseg; k++) bad |= pl_buf_add(b, "/", 1) | pl_buf_add_escaped(b, path + seg[k].at, seg[k].len);
  if (!nseg || trailing) bad |= pl_buf_add(b, "/", 1);
  free(seg);
  return bad ? -1 : 0;
}

/* The canonical query of q[0..n): pairs decoded, sorted, escaped, '&'-joined;
 * sorted after escaping when escaped_order (AWS), before it otherwise. */
static int add_canonical_query(pl_buf *b, const char *q, size_t n, int escaped_order) {
  size_t count = 0, cap = 8;
  pair *ps = malloc(cap * sizeof *ps);
  int bad = ps == NULL;
  for (size_t i = 0; !bad && i < n;) {
    size_t j = i;
    while (j < n && q[j] != '&') j++;
    if (j > i) {
      const char *eq = memchr(q + i, '=', j - i);
      size_t klen = eq ? (size_t)(eq - (q + i)) : j - i;
      if (count == cap) {
        pair *grown = realloc(ps, (cap *= 2) * sizeof *ps);
        if (!grown) {
          bad = 1;
          break;
        }
        ps = grown;
      }
      ps[count].name = pl_percent_decode(q + i, klen, NULL);
      ps[count].value = eq ? pl_percent_decode(eq + 1, (size_t)(q + j - eq - 1), NULL) : pl_percent_decode("", 0, NULL);
      count++;
      if (!ps[count - 1].name || !ps[count - 1].value) bad = 1;
    }
    i = j + 1;
  }
  for (size_t i = 0; !bad && escaped_order && i < count; i++) {
    char *name = escaped(ps[i].name), *value = escaped(ps[i].value);
    free(ps[i].name);
    free(ps[i].value);
    ps[i].name = name;
    ps[i].value = value;
    bad = !name || !value;
  }
  if (!bad) qsort(ps, count, sizeof *ps, cmp_pair);
  for (size_t i = 0; !bad && i < count; i++) {
    if (i) bad |= pl_buf_add(b, "&", 1);
    if (escaped_order)
      bad |= pl_buf_addstr(b, ps[i].name) | pl_buf_add(b, "=", 1) | pl_buf_addstr(b, ps[i].value);
    else
      bad |= add_escaped(b, ps[i].name) | pl_buf_add(b, "=", 1) | add_escaped(b, ps[i].value);
  }
  if (ps) free_pairs(ps, count);
  return bad ? -1 : 0;
}

/* name lower-cased, value trimmed of surrounding white space (spaces, tabs,
 * line breaks: the Go signer's strings.TrimSpace); with collapse, each run
 * of white space inside the value made one space (AWS) */
static int make_header(pair *h, const char *name, const char *value, int collapse) {
  size_t n = strlen(name);
  while (isspace((unsigned char)*value)) value++;
  size_t v = strlen(value);
  while (v && isspace((unsigned char)value[v - 1])) v--;
  h->name = malloc(n + 1);
  h->value = malloc(v + 1);
  if (!h->name || !h->value) return -1;
  for (size_t i = 0; i <= n; i++) h->name[i] = (char)tolower((unsigned char)name[i]);
  size_t o = 0;
  for (size_t i = 0; i < v; i++) {
    int space = isspace((unsigned char)value[i]);
    if (!collapse || !space) {
      h->value[o++] = value[i];
    } else if (!isspace((unsigned char)value[i - 1])) {
      h->value[o++] = ' '; /* value[0] is not white space: trimmed */
    }
  }
  h->value[o] = '\0';
  return 0;
}

/* A header name fit to sign: visible ASCII without ':'. */
static int name_ok(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s <= ' ' || *s > '~' || *s == ':') return 0;
  return 1;
}

/* Split an absolute http(s) URL into host, path and query (no '?'), each a
 * span of url. -1 if it is not one. */
typedef struct url_parts {
  const char *host, *path, *query;
  size_t hlen, plen, qlen;
} url_parts;

static int split_url(const char *u, url_parts *p) {
  const char *sep = u ? strstr(u, "://") : NULL;
  int scheme_ok =
      sep && ((sep - u == 4 && strncasecmp(u, "http", 4) == 0) || (sep - u == 5 && strncasecmp(u, "https", 5) == 0));
  if (!scheme_ok || !sep[3] || strchr("/?#", sep[3])) return -1;
  p->host = sep + 3;
  p->hlen = strcspn(p->host, "/?#");
  p->path = p->host + p->hlen;
  p->plen = strcspn(p->path, "?#");
  p->query = p->path[p->plen] == '?' ? p->path + p->plen + 1 : "";
  p->qlen = strcspn(p->query, "#");
  return 0;
}

/* Whether the query q[0..n) has a parameter named name (as written). */
static int query_has(const char *q, size_t n, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && q[j] != '&') j++;
    if (j - i >= len && strncmp(q + i, name, len) == 0 && (j - i == len || q[i + len] == '=')) return 1;
    i = j + 1;
  }
  return 0;
}

int pl_sign_date_ok(const char *s) {
  if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return 0;
  for (int i = 0; i < 15; i++)
    if (i != 8 && !isdigit((unsigned char)s[i])) return 0;
  return 1;
}

void pl_sign_out_free(pl_sign_out *out) {
  pl_buf_free(&out->canonical);
  pl_buf_free(&out->string_to_sign);
  pl_buf_free(&out->signed_headers);
  pl_buf_free(&out->host);
  pl_buf_free(&out->authorization);
  pl_buf_free(&out->url);
}

/* out->signature = hex(mac) */
static int hex_signature(pl_sign_out *out, const unsigned char mac[32]) {
  pl_buf sig;
  pl_buf_init(&sig);
  int bad = add_hex(&sig, mac, 32);
  if (!bad) memcpy(out->signature, sig.data, 65);
  pl_buf_free(&sig);
  return bad;
}

static int fail(char *err, size_t errlen, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  return -1;
}

/* An HTTP method as it is sent: upper-case letters (RFC 9110 9.1: methods
 * are case-sensitive; a canonical request signs it as given) */
static int method_ok(const char *s) {
  if (!s || !*s) return 0;
  for (; *s; s++)
    if (*s < 'A' || *s > 'Z') return 0;
  return 1;
}

#define METHOD_RULE   "method: must be an HTTP method in upper case (GET, POST, ...)"
#define USERINFO_RULE "url: must not hold a user or password (user:password@host): they would be sent and shown"

/* Whether the URL's authority holds user information (a '@' before the path). */
static int has_userinfo(const char *host, size_t hlen) {
  return memchr(host, '@', hlen) != NULL;
}

int pl_sign_huawei(const pl_sign_req *r, pl_sign_out *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  const char *why = pl_lazy_crypto();
  if (why) return fail(err, errlen, why);
  if (!r->method || !*r->method) return fail(err, errlen, "method: is required");
  if (!method_ok(r->method)) return fail(err, errlen, METHOD_RULE);
  if (!r->ak || !*r->ak) return fail(err, errlen, "ak: is required");
  if (!r->sk || !*r->sk) return fail(err, errlen, "sk: is required");
  if (!pl_sign_date_ok(r->date)) return fail(err, errlen, "date: must look like 20191115T033655Z");
  url_parts u;
  if (split_url(r->url, &u) != 0) return fail(err, errlen, "url: must be an absolute http(s) URL");
  if (has_userinfo(u.host, u.hlen)) return fail(err, errlen, USERINFO_RULE);
  const char *host = u.host, *path = u.path, *query = u.query;
  size_t hlen = u.hlen, plen = u.plen, qlen = u.qlen;

  /* headers: the given ones (minus host and x-sdk-date), then those two */
  size_t nh = 0;
  pair *hs = calloc(r->nheaders + 2, sizeof *hs);
  int bad = hs == NULL;
  for (size_t i = 0; !bad && i < r->nheaders; i++) {
    const char *name = r->headers[i].name, *value = r->headers[i].value;
    if (!name || !*name || !value) {
      free_pairs(hs, nh);
      return fail(err, errlen, "headers: names and values must be strings");
    }
    if (strcasecmp(name, "host") == 0 || strcasecmp(name, "x-sdk-date") == 0) continue;
    bad = make_header(&hs[nh++], name, value, 0);
  }
  char hostbuf[256];
  snprintf(hostbuf, sizeof hostbuf, "%.*s", (int)(hlen < 255 ? hlen : 255), host);
  bad = bad || make_header(&hs[nh++], "host", hostbuf, 0) || make_header(&hs[nh++], "x-sdk-date", r->date, 0);
  if (!bad) qsort(hs, nh, sizeof *hs, cmp_pair);

  const char *payload_hash = NULL;
  char body_hash[65];
  for (size_t i = 0; !bad && i < nh; i++)
    if (strcmp(hs[i].name, "x-sdk-content-sha256") == 0 && strcmp(hs[i].value, "UNSIGNED-PAYLOAD") == 0)
      payload_hash = "UNSIGNED-PAYLOAD";
  if (!payload_hash) {
    sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, body_hash);
    payload_hash = body_hash;
  }

  pl_buf *c = &out->canonical;
  bad = bad || pl_buf_addstr(c, r->method) || pl_buf_add(c, "\n", 1) || add_canonical_uri(c, path, plen) ||
      pl_buf_add(c, "\n", 1) || add_canonical_query(c, query, qlen, 0) || pl_buf_add(c, "\n", 1);
  for (size_t i = 0; !bad && i < nh; i++) {
    bad = pl_buf_addstr(c, hs[i].name) || pl_buf_add(c, ":", 1) || pl_buf_addstr(c, hs[i].value) ||
        pl_buf_add(c, "\n", 1);
    if (!bad && i) bad = pl_buf_add(&out->signed_headers, ";", 1);
    bad = bad || pl_buf_addstr(&out->signed_headers, hs[i].name);
  }
  bad = bad || pl_buf_add(c, "\n", 1) || pl_buf_add(c, out->signed_headers.data, out->signed_headers.len) ||
      pl_buf_add(c, "\n", 1) || pl_buf_addstr(c, payload_hash) || pl_buf_addstr(&out->host, hostbuf);
  if (hs) free_pairs(hs, nh);
  if (bad) {
    pl_sign_out_free(out);
    return fail(err, errlen, "out of memory");
  }

  char creq_hash[65];
  sha256_hex(c->data, c->len, creq_hash);
  pl_buf *sts = &out->string_to_sign;
  bad = pl_buf_addstr(sts, "SDK-HMAC-SHA256\n") || pl_buf_addstr(sts, r->date) || pl_buf_add(sts, "\n", 1) ||
      pl_buf_addstr(sts, creq_hash);
  unsigned char mac[32];
  bad = bad || hmac_sha256(r->sk, strlen(r->sk), sts->data, sts->len, mac) || hex_signature(out, mac);
  pl_buf *a = &out->authorization;
  bad = bad || pl_buf_addstr(a, "SDK-HMAC-SHA256 Access=") || pl_buf_addstr(a, r->ak) ||
      pl_buf_addstr(a, ", SignedHeaders=") || pl_buf_addstr(a, out->signed_headers.data) ||
      pl_buf_addstr(a, ", Signature=") || pl_buf_addstr(a, out->signature);
  if (bad) {
    pl_sign_out_free(out);
    return fail(err, errlen, "out of memory or no HMAC");
  }
  return 0;
}

/* A region or service name: one DNS label of lower-case letters, digits and '-'. */
static int label_ok(const char *s) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!islower((unsigned char)s[n]) && !isdigit((unsigned char)s[n]) && s[n] != '-') return 0;
  return n <= 63;
}

static int alnum_ok(const char *s) {
  for (; *s; s++)
    if (!isalnum((unsigned char)*s)) return 0;
  return 1;
}

/* visible ASCII, no spaces: a token fit for a header value */
static int visible_ok(const char *s) {
  for (; *s; s++)
    if (*s <= ' ' || *s > '~') return 0;
  return 1;
}

/* The SigV4 signing key: HMAC chain over the scope's parts, from "AWS4" + secret. */
static int aws_signing_key(const pl_sigv4_req *r, unsigned char key[32]) {
  size_t slen = strlen(r->secret_key);
  char *k0 = malloc(slen + 5);
  if (!k0) return -1;
  memcpy(k0, "AWS4", 4);
  memcpy(k0 + 4, r->secret_key, slen + 1);
  const char *parts[] = {r->region, r->service, "aws4_request"};
  unsigned char prev[32];
  int bad = hmac_sha256(k0, slen + 4, r->date, 8, key);
  for (int i = 0; !bad && i < 3; i++) {
    memcpy(prev, key, 32);
    bad = hmac_sha256(prev, 32, parts[i], strlen(parts[i]), key);
  }
  explicit_bzero(prev, sizeof prev);
  explicit_bzero(k0, slen + 4);
  free(k0);
  return bad;
}

/* The query parameters of a presigned request, in the order AWS's signers
 * write them (aws-c-auth's query-signed-request.txt), X-Amz-Signature
 * aside: "X-Amz-Algorithm=...&...&X-Amz-Expires=N[&X-Amz-Security-Token=...]". */
static int add_presign_params(pl_buf *b, const pl_sigv4_req *r, const char *scope, const pl_buf *sh) {
  char expires[24];
  snprintf(expires, sizeof expires, "%ld", r->expires);
  int bad = pl_buf_addstr(b, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=") || add_escaped(b, r->access_key) ||
      pl_buf_addstr(b, "%2F") || add_escaped(b, scope) || pl_buf_addstr(b, "&X-Amz-Date=") ||
      pl_buf_addstr(b, r->date) || pl_buf_addstr(b, "&X-Amz-SignedHeaders=") ||
      pl_buf_add_escaped(b, sh->data, sh->len) || pl_buf_addstr(b, "&X-Amz-Expires=") || pl_buf_addstr(b, expires);
  if (!bad && r->session_token) bad = pl_buf_addstr(b, "&X-Amz-Security-Token=") || add_escaped(b, r->session_token);
  return bad;
}

int pl_sign_aws(const pl_sigv4_req *r, pl_sign_out *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  const char *why = pl_lazy_crypto();
  if (why) return fail(err, errlen, why);
  int presign = r->expires != 0;
  if (!r->method || !*r->method) return fail(err, errlen, "method: is required");
  if (!method_ok(r->method)) return fail(err, errlen, METHOD_RULE);
  if (!r->access_key || !*r->access_key) return fail(err, errlen, "access_key: is required");
  if (!alnum_ok(r->access_key)) return fail(err, errlen, "access_key: must be letters and digits");
  if (!r->secret_key || !*r->secret_key) return fail(err, errlen, "secret_key: is required");
  if (r->session_token && (!*r->session_token || !visible_ok(r->session_token)))
    return fail(err, errlen, "session_token: must be visible ASCII characters without spaces");
  if (!r->region || !*r->region) return fail(err, errlen, "region: is required");
  if (!label_ok(r->region)) return fail(err, errlen, "region: must be lower-case letters, digits and '-' (at most 63)");
  if (!r->service || !*r->service) return fail(err, errlen, "service: is required");
  if (!label_ok(r->service))
    return fail(err, errlen, "service: must be lower-case letters, digits and '-' (at most 63)");
  if (!pl_sign_date_ok(r->date)) return fail(err, errlen, "date: must look like 20150830T123600Z");
  if (presign && (r->expires < 1 || r->expires > PL_SIGV4_MAX_EXPIRES))
    return fail(err, errlen, "expires: must be 1 to 604800 seconds (seven days)");
  url_parts u;
  if (split_url(r->url, &u) != 0) return fail(err, errlen, "url: must be an absolute http(s) URL");
  if (has_userinfo(u.host, u.hlen)) return fail(err, errlen, USERINFO_RULE);
  if (presign && query_has(u.query, u.qlen, "X-Amz-Signature"))
    return fail(err, errlen, "url: is presigned already (its query has X-Amz-Signature)");

  /* headers: the given ones (their x-amz-date, Authorization and, with a
   * session token, x-amz-security-token replaced by ours), host if none;
   * presigned, the date and token go in the query instead */
  size_t nh = 0;
  int has_host = 0;
  pair *hs = calloc(r->nheaders + 3, sizeof *hs);
  int bad = hs == NULL;
  for (size_t i = 0; !bad && i < r->nheaders; i++) {
    const char *name = r->headers[i].name, *value = r->headers[i].value;
    if (!name || !value || !name_ok(name)) {
      free_pairs(hs, nh);
      return fail(err, errlen, "headers: names must be visible ASCII without ':' and values strings");
    }
    if (strcasecmp(name, "x-amz-date") == 0 || strcasecmp(name, "authorization") == 0 ||
        (r->session_token && strcasecmp(name, "x-amz-security-token") == 0))
      continue;
    has_host |= strcasecmp(name, "host") == 0;
    hs[nh].seq = i;
    bad = make_header(&hs[nh++], name, value, 1);
  }
  if (!bad && !has_host) {
    bad = pl_buf_add(&out->host, u.host, u.hlen) || make_header(&hs[nh++], "host", out->host.data, 1);
  }
  if (!presign) bad = bad || make_header(&hs[nh++], "x-amz-date", r->date, 1);
  if (!bad && !presign && r->session_token) bad = make_header(&hs[nh++], "x-amz-security-token", r->session_token, 1);
  if (!bad) qsort(hs, nh, sizeof *hs, cmp_header);
  pl_buf *sh = &out->signed_headers;
  for (size_t i = 0; !bad && i < nh; i++)
    if (!i || strcmp(hs[i].name, hs[i - 1].name) != 0)
      bad = (sh->len && pl_buf_add(sh, ";", 1)) || pl_buf_addstr(sh, hs[i].name);

  char scope[160];
  snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", r->date, r->region, r->service);
  pl_buf query; /* presigned: the URL's query and ours, which the canonical query sorts in */
  pl_buf_init(&query);
  if (presign)
    bad = bad || pl_buf_add(&query, u.query, u.qlen) || (u.qlen && pl_buf_add(&query, "&", 1)) ||
        add_presign_params(&query, r, scope, sh);
  char body_hash[65];
  sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, body_hash);
  pl_buf *c = &out->canonical;
  bad = bad || pl_buf_addstr(c, r->method) || pl_buf_add(c, "\n", 1) || add_aws_uri(c, u.path, u.plen, r->raw_path) ||
      pl_buf_add(c, "\n", 1) ||
      (presign ? add_canonical_query(c, query.data, query.len, 1) : add_canonical_query(c, u.query, u.qlen, 1)) ||
      pl_buf_add(c, "\n", 1);
  pl_buf_free(&query);
  for (size_t i = 0; !bad && i < nh; i++) {
    int repeat = i && strcmp(hs[i].name, hs[i - 1].name) == 0, last = i + 1 == nh || strcmp(hs[i].name, hs[i + 1].name);
    bad = (repeat ? pl_buf_add(c, ",", 1) : pl_buf_addstr(c, hs[i].name) || pl_buf_add(c, ":", 1)) ||
        pl_buf_addstr(c, hs[i].value) || (last && pl_buf_add(c, "\n", 1));
  }
  bad = bad || pl_buf_add(c, "\n", 1) || pl_buf_add(c, sh->data, sh->len) || pl_buf_add(c, "\n", 1) ||
      pl_buf_addstr(c, body_hash);
  if (!bad && has_host) { /* the Host given, as signed */
    size_t i = 0;
    while (strcmp(hs[i].name, "host") != 0) i++;
    bad = pl_buf_addstr(&out->host, hs[i].value);
  }
  if (hs) free_pairs(hs, nh);
  if (bad) {
    pl_sign_out_free(out);
    return fail(err, errlen, "out of memory");
  }

  char creq_hash[65];
  sha256_hex(c->data, c->len, creq_hash);
  pl_buf *sts = &out->string_to_sign;
  bad = pl_buf_addstr(sts, "AWS4-HMAC-SHA256\n") || pl_buf_addstr(sts, r->date) || pl_buf_add(sts, "\n", 1) ||
      pl_buf_addstr(sts, scope) || pl_buf_add(sts, "\n", 1) || pl_buf_addstr(sts, creq_hash);
  unsigned char key[32], mac[32];
  bad = bad || aws_signing_key(r, key) || hmac_sha256(key, 32, sts->data, sts->len, mac) || hex_signature(out, mac);
  explicit_bzero(key, sizeof key);
  if (presign) { /* the URL as given, up to any fragment, with our parameters after its own */
    pl_buf *w = &out->url;
    size_t upto = u.path[u.plen] == '?' ? (size_t)(u.query + u.qlen - r->url) : (size_t)(u.path + u.plen - r->url);
    bad = bad || pl_buf_add(w, r->url, upto) ||
        pl_buf_addstr(w,
                      u.path[u.plen] != '?' ? "?"
                          : u.qlen          ? "&"
                                            : "") ||
        add_presign_params(w, r, scope, sh) || pl_buf_addstr(w, "&X-Amz-Signature=") ||
        pl_buf_addstr(w, out->signature);
  } else {
    pl_buf *a = &out->authorization;
    bad = bad || pl_buf_addstr(a, "AWS4-HMAC-SHA256 Credential=") || pl_buf_addstr(a, r->access_key) ||
        pl_buf_add(a, "/", 1) || pl_buf_addstr(a, scope) || pl_buf_addstr(a, ", SignedHeaders=") ||
        pl_buf_add(a, sh->data, sh->len) || pl_buf_addstr(a, ", Signature=") || pl_buf_addstr(a, out->signature);
  }
  if (bad) {
    pl_sign_out_free(out);
    return fail(err, errlen, "out of memory or no HMAC");
  }
  return 0;
}
