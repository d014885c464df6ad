#include "pl_buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void pl_buf_init(pl_buf *b) {
  b->data = NULL;
  b->len = b->cap = 0;
}

void pl_buf_free(pl_buf *b) {
  free(b->data);
  pl_buf_init(b);
}

void pl_buf_reset(pl_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

int pl_buf_add(pl_buf *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int pl_buf_addstr(pl_buf *b, const char *s) {
  return pl_buf_add(b, s, strlen(s));
}

int pl_buf_add_escaped(pl_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  int bad = 0;
  for (const unsigned char *p = (const unsigned char *)s; p < (const unsigned char *)s + n; p++) {
    if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      bad |= pl_buf_add(b, p, 1);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      bad |= pl_buf_add(b, e, 3);
    }
  }
  return bad;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *pl_percent_decode(const char *s, size_t n, size_t *len) {
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
  if (len) *len = (size_t)(o - out);
  return out;
}

void pl_wipe(void *p, size_t n) {
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
}

size_t pl_base64(const void *in, size_t n, char *out) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = in;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned long v =
        (unsigned long)p[i] << 16 | (i + 1 < n ? (unsigned long)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out[o++] = abc[v >> 18 & 63];
    out[o++] = abc[v >> 12 & 63];
    out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? abc[v & 63] : '=';
  }
  out[o] = '\0';
  return o;
}
