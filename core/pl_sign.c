/* Huawei AK/SK signing: see pl_sign.h. */
#include "pl_sign.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pl_lazy.h"

typedef struct pair {
  char *name, *value;
} pair;

static int is_unreserved(unsigned char c) {
  return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into a new string. */
static char *decode(const char *s, size_t n) {
  char *out = malloc(n + 1), *o = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
        (lo = hexval((unsigned char)s[i + 2])) >= 0) {
      *o++ = (char)(hi * 16 + lo);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

/* Append s escaped (unreserved characters kept, others %XX). */
static int add_escaped(pl_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  int bad = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (is_unreserved(*p)) {
      bad |= pl_buf_add(b, p, 1);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      bad |= pl_buf_add(b, e, 3);
    }
  }
  return bad;
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

static int cmp_pair(const void *a, const void *b) {
  const pair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
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
    char *seg = decode(path + i, j - i);
    if (!seg) return -1;
    bad |= add_escaped(b, seg);
    free(seg);
    i = j;
  }
  if (b->len == 0 || b->data[b->len - 1] != '/') bad |= pl_buf_add(b, "/", 1);
  return bad;
}

/* The canonical query of q[0..n): pairs decoded, sorted, escaped, '&'-joined. */
static int add_canonical_query(pl_buf *b, const char *q, size_t n) {
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
      ps[count].name = decode(q + i, klen);
      ps[count].value = eq ? decode(eq + 1, (size_t)(q + j - eq - 1)) : decode("", 0);
      count++;
      if (!ps[count - 1].name || !ps[count - 1].value) bad = 1;
    }
    i = j + 1;
  }
  if (!bad) qsort(ps, count, sizeof *ps, cmp_pair);
  for (size_t i = 0; !bad && i < count; i++) {
    if (i) bad |= pl_buf_add(b, "&", 1);
    bad |= add_escaped(b, ps[i].name) | pl_buf_add(b, "=", 1) | add_escaped(b, ps[i].value);
  }
  if (ps) free_pairs(ps, count);
  return bad ? -1 : 0;
}

/* name lower-cased, value trimmed of surrounding white space (spaces, tabs,
 * line breaks: the Go signer's strings.TrimSpace) */
static int make_header(pair *h, const char *name, const char *value) {
  size_t n = strlen(name);
  while (isspace((unsigned char)*value)) value++;
  size_t v = strlen(value);
  while (v && isspace((unsigned char)value[v - 1])) v--;
  h->name = malloc(n + 1);
  h->value = malloc(v + 1);
  if (!h->name || !h->value) return -1;
  for (size_t i = 0; i <= n; i++) h->name[i] = (char)tolower((unsigned char)name[i]);
  memcpy(h->value, value, v);
  h->value[v] = '\0';
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
  pl_buf_free(&out->signed_headers);
  pl_buf_free(&out->host);
  pl_buf_free(&out->authorization);
}

static int fail(char *err, size_t errlen, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  return -1;
}

int pl_sign_huawei(const pl_sign_req *r, pl_sign_out *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  const char *why = pl_lazy_crypto();
  if (why) return fail(err, errlen, why);
  if (!r->method || !*r->method) return fail(err, errlen, "method: is required");
  if (!r->ak || !*r->ak) return fail(err, errlen, "ak: is required");
  if (!r->sk || !*r->sk) return fail(err, errlen, "sk: is required");
  if (!pl_sign_date_ok(r->date)) return fail(err, errlen, "date: must look like 20191115T033655Z");
  const char *url = r->url ? strstr(r->url, "://") : NULL;
  int scheme_ok = url &&
      ((url - r->url == 4 && strncasecmp(r->url, "http", 4) == 0) ||
       (url - r->url == 5 && strncasecmp(r->url, "https", 5) == 0));
  if (!scheme_ok || !url[3] || strchr("/?#", url[3])) return fail(err, errlen, "url: must be an absolute http(s) URL");
  const char *host = url + 3;
  size_t hlen = strcspn(host, "/?#");
  const char *path = host + hlen;
  size_t plen = strcspn(path, "?#");
  const char *query = path[plen] == '?' ? path + plen + 1 : "";
  size_t qlen = strcspn(query, "#");

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
    bad = make_header(&hs[nh++], name, value);
  }
  char hostbuf[256];
  snprintf(hostbuf, sizeof hostbuf, "%.*s", (int)(hlen < 255 ? hlen : 255), host);
  bad = bad || make_header(&hs[nh++], "host", hostbuf) || make_header(&hs[nh++], "x-sdk-date", r->date);
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
      pl_buf_add(c, "\n", 1) || add_canonical_query(c, query, qlen) || pl_buf_add(c, "\n", 1);
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
  pl_buf sts;
  pl_buf_init(&sts);
  bad = pl_buf_addstr(&sts, "SDK-HMAC-SHA256\n") || pl_buf_addstr(&sts, r->date) || pl_buf_add(&sts, "\n", 1) ||
      pl_buf_addstr(&sts, creq_hash);
  unsigned char mac[32];
  unsigned int maclen = 0;
  if (!bad && !HMAC(EVP_sha256(), r->sk, (int)strlen(r->sk), (const unsigned char *)sts.data, sts.len, mac, &maclen))
    bad = 1;
  pl_buf_free(&sts);
  pl_buf sig;
  pl_buf_init(&sig);
  bad = bad || add_hex(&sig, mac, 32);
  if (!bad) memcpy(out->signature, sig.data, 65);
  pl_buf_free(&sig);
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
