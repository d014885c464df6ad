/* A growable byte buffer, always NUL-terminated. */
#ifndef PL_BUF_H
#define PL_BUF_H
#include <stddef.h>

typedef struct pl_buf {
  char *data;
  size_t len, cap;
} pl_buf;

void pl_buf_init(pl_buf *b);
void pl_buf_free(pl_buf *b);
void pl_buf_reset(pl_buf *b);                       /* len = 0, keeps the memory */
int pl_buf_add(pl_buf *b, const void *p, size_t n); /* 0 ok, -1 out of memory */
int pl_buf_addstr(pl_buf *b, const char *s);

/* Zero n bytes at p in a way the compiler may not drop (a secret's memory
 * before it is freed). */
void pl_wipe(void *p, size_t n);

/* Append s[0..n) percent-encoded as RFC 3986 says: the unreserved
 * characters (letters, digits, -._~) as they are, every other byte %XX. */
int pl_buf_add_escaped(pl_buf *b, const char *s, size_t n);

/* s[0..n) percent-decoded ("%2F" is '/'; a '%' not followed by two hex
 * digits is kept) into a new NUL-terminated string the caller frees, or
 * NULL when out of memory; its length (a "%00" counts) in *len unless
 * len is NULL. */
char *pl_percent_decode(const char *s, size_t n, size_t *len);

/* Base64 (RFC 4648, with padding) of n bytes at in, written to out (room
 * for 4 * ((n + 2) / 3) bytes and a NUL); the length written. */
size_t pl_base64(const void *in, size_t n, char *out);

#endif
