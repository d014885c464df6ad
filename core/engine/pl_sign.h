/* Request signing, Lua-free: Huawei Cloud API Gateway AK/SK and AWS
 * Signature Version 4.
 *
 * Huawei "SDK-HMAC-SHA256" (shared/providers.md 2.3), used by the Huawei
 * client and, to verify requests, by the emulator:
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
 *                      CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
 *   StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
 *   Signature        = hex(HMAC-SHA256(SK, StringToSign))
 *
 * The URI gets a trailing '/', each path segment and query part is
 * percent-decoded then escaped (RFC 3986 unreserved kept), query pairs are
 * sorted by name then value, headers are lower-cased, trimmed and sorted,
 * and host and x-sdk-date are always signed.
 *
 * AWS Signature Version 4, header form ("Create a signed AWS API request",
 * docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html;
 * checked against the aws-c-auth test suite, shared/fixtures/aws-sigv4/):
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
 *                      CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
 *   StringToSign     = "AWS4-HMAC-SHA256" \n X-Amz-Date \n Scope \n hex(sha256(CanonicalRequest))
 *   Scope            = YYYYMMDD/region/service/aws4_request
 *   SigningKey       = HMAC chain from "AWS4" + secret over YYYYMMDD, region,
 *                      service, "aws4_request"
 *   Signature        = hex(HMAC-SHA256(SigningKey, StringToSign))
 *
 * The path has its dot segments and duplicate slashes removed and each
 * segment is escaped as it stands in the URL (so an escape already in the
 * URL is escaped again: AWS's rule for every service but S3); query pairs
 * are decoded, escaped (RFC 3986 unreserved kept) and sorted by escaped
 * name then value; header names are lower-cased, values trimmed with inner
 * runs of white space made one space, and a repeated name's values joined
 * by ',' in the order given. Host (the one given, else the URL's),
 * x-amz-date and, with a session token, x-amz-security-token are signed
 * along with every header given.
 *
 * Presigned (the query form, pl_sigv4_req.expires > 0): X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and,
 * with a session token, X-Amz-Security-Token join the URL's query, which
 * the canonical request sorts in; the headers signed are those given and
 * Host; the URL comes back with those and X-Amz-Signature after its own
 * query, in the order aws-c-auth's suite writes them. */
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

typedef struct pl_sigv4_req {
  const char *method;            /* GET, POST, ... */
  const char *url;               /* absolute: http(s)://host[:port]/path[?query] */
  const pl_sign_header *headers; /* the request's headers, repeated names allowed */
  size_t nheaders;
  const char *body; /* may be NULL when body_len is 0 */
  size_t body_len;
  const char *access_key, *secret_key;
  const char *session_token; /* NULL: none */
  const char *region, *service;
  const char *date; /* X-Amz-Date, YYYYMMDDTHHMMSSZ */
  int raw_path;     /* 1: the path as it stands, not normalised (S3's rule) */
  long expires;     /* 0: sign in the Authorization header; else presign, in the
                       query, for this many seconds (1 to PL_SIGV4_MAX_EXPIRES) */
} pl_sigv4_req;

/* The longest a presigned request lives: seven days ("X-Amz-Expires ...
 * Maximum value of 604800", S3 API Reference, "Authenticating Requests:
 * Using Query Parameters (AWS Signature Version 4)"). */
#define PL_SIGV4_MAX_EXPIRES 604800

/* The parts of a signature; every buffer is owned by the result. */
typedef struct pl_sign_out {
  pl_buf canonical;      /* the canonical request (for tests and debugging) */
  pl_buf string_to_sign; /* likewise */
  pl_buf signed_headers; /* "content-type;host;x-sdk-date" */
  pl_buf host;           /* the host header value signed */
  pl_buf authorization;  /* "SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=hex" (header form) */
  pl_buf url;            /* presigned: the URL with its X-Amz-* parameters, X-Amz-Signature last */
  char signature[65];
} pl_sign_out;

/* Sign r. Returns 0, or -1 with a message in err naming the bad field (the
 * SK is never part of a message). pl_sign_out_free releases out either way. */
int pl_sign_huawei(const pl_sign_req *r, pl_sign_out *out, char *err, size_t errlen);
void pl_sign_out_free(pl_sign_out *out);

/* Sign r with AWS Signature Version 4; as pl_sign_huawei, the message
 * naming the field as the Lua API does (access_key, region, ...). */
int pl_sign_aws(const pl_sigv4_req *r, pl_sign_out *out, char *err, size_t errlen);

/* Is s a valid X-Sdk-Date or X-Amz-Date (YYYYMMDDTHHMMSSZ)? */
int pl_sign_date_ok(const char *s);

#endif
