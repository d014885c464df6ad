/* Huawei Cloud API Gateway request signing, AK/SK "SDK-HMAC-SHA256"
 * (shared/providers.md 2.3). Lua-free. Used by the Huawei client and, to
 * verify requests, by the emulator.
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
 *                      CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
 *   StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
 *   Signature        = hex(HMAC-SHA256(SK, StringToSign))
 *
 * The URI gets a trailing '/', each path segment and query part is
 * percent-decoded then escaped (RFC 3986 unreserved kept), query pairs are
 * sorted by name then value, headers are lower-cased, trimmed and sorted,
 * and host and x-sdk-date are always signed. */
#ifndef PL_SIGN_H
#define PL_SIGN_H
#include <stddef.h>
#include "pl_buf.h"

typedef struct pl_sign_header {
  const char *name, *value;
} pl_sign_header;

typedef struct pl_sign_req {
  const char *method;            /* GET, POST, ... */
  const char *url;               /* absolute: http(s)://host[:port]/path[?query] */
  const pl_sign_header *headers; /* the headers to sign besides host and x-sdk-date */
  size_t nheaders;
  const char *body; /* may be NULL when body_len is 0 */
  size_t body_len;
  const char *ak, *sk;
  const char *date; /* X-Sdk-Date, YYYYMMDDTHHMMSSZ */
} pl_sign_req;

/* The parts of a signature; every buffer is owned by the result. */
typedef struct pl_sign_out {
  pl_buf canonical;      /* the canonical request (for tests and debugging) */
  pl_buf signed_headers; /* "content-type;host;x-sdk-date" */
  pl_buf host;           /* the host header value signed */
  pl_buf authorization;  /* "SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=hex" */
  char signature[65];
} pl_sign_out;

/* Sign r. Returns 0, or -1 with a message in err naming the bad field (the
 * SK is never part of a message). pl_sign_out_free releases out either way. */
int pl_sign_huawei(const pl_sign_req *r, pl_sign_out *out, char *err, size_t errlen);
void pl_sign_out_free(pl_sign_out *out);

/* Is s a valid X-Sdk-Date (YYYYMMDDTHHMMSSZ)? */
int pl_sign_date_ok(const char *s);

#endif
