/* AWS Signature Version 4: every case of the aws-c-auth test suite
 * (../shared/fixtures/aws-sigv4/, beside the repository; see SOURCES.md
 * there), in both forms: the header form's canonical request, string to
 * sign, signature and Authorization header, and the query form's (a
 * presigned URL) with the URL as the suite writes it, parameter order and
 * all. Then the rules for bad input.
 * Secrets and tokens are never printed: a mismatch shows the case, the part
 * and the offset of the first difference. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "pl_lazy.h"
#include "pl_sign.h"

#define SUITE       PL_SOURCE_DIR "/../shared/fixtures/aws-sigv4"
#define MAX_HEADERS 32

/* The whole file, NUL-terminated, or NULL. */
static char *slurp(const char *dir, const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/%s", SUITE, dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *s = malloc(cap);
  for (size_t got; s && (got = fread(s + n, 1, cap - n - 1, f)) > 0;) {
    n += got;
    if (cap - n - 1 == 0) {
      char *grown = realloc(s, cap *= 2);
      if (!grown) free(s);
      s = grown;
    }
  }
  fclose(f);
  if (s) s[n] = '\0';
  if (len) *len = n;
  return s;
}

/* The value after "key": in a JSON text whose keys are all distinct: a
 * string copied into out (NULL if absent), or for true/false 1/0 (-1 absent). */
static const char *after_key(const char *json, const char *key) {
  char quoted[64];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *p = strstr(json, quoted);
  if (!p) return NULL;
  p += strlen(quoted);
  while (isspace((unsigned char)*p) || *p == ':') p++;
  return p;
}

static const char *json_str(const char *json, const char *key, char *out, size_t size) {
  const char *p = after_key(json, key);
  if (!p || *p++ != '"') return NULL;
  size_t n = 0;
  for (; *p && *p != '"' && n + 1 < size; p++) out[n++] = *p == '\\' && p[1] ? *++p : *p;
  out[n] = '\0';
  return out;
}

static int json_bool(const char *json, const char *key) {
  const char *p = after_key(json, key);
  return !p ? -1 : strncmp(p, "true", 4) == 0;
}

/* An HTTP request as the suite writes it: request line, headers (a line
 * starting with white space continues the one before: RFC 7230 obs-fold,
 * made one space), a blank line, the body. Parsed in place. */
typedef struct request {
  char *method, *path, *body;
  pl_sign_header headers[MAX_HEADERS];
  char folded[MAX_HEADERS][512];
  size_t nheaders;
} request;

static int parse_request(char *text, request *rq) {
  memset(rq, 0, sizeof *rq);
  rq->body = text + strlen(text); /* none, unless after a blank line */
  char *line = text, *next;
  char *eol = strchr(line, '\n');
  if (!eol) return -1;
  *eol = '\0';
  char *sp = strchr(line, ' '), *version = strstr(line, " HTTP/");
  if (!sp || !version || version < sp) return -1;
  *sp = *version = '\0';
  rq->method = line;
  rq->path = sp + 1;
  for (line = eol + 1; *line; line = next) {
    eol = strchr(line, '\n');
    next = eol ? eol + 1 : line + strlen(line);
    if (eol) *eol = '\0';
    if (*line == '\0') {
      rq->body = next;
      break;
    }
    if (isspace((unsigned char)*line)) { /* a continuation */
      if (!rq->nheaders) return -1;
      char *v = rq->folded[rq->nheaders - 1];
      while (isspace((unsigned char)*line)) line++;
      size_t used = strlen(v);
      snprintf(v + used, sizeof rq->folded[0] - used, " %s", line);
      continue;
    }
    char *colon = strchr(line, ':');
    if (!colon || rq->nheaders == MAX_HEADERS) return -1;
    *colon = '\0';
    rq->headers[rq->nheaders].name = line;
    snprintf(rq->folded[rq->nheaders], sizeof rq->folded[0], "%s", colon + 1);
    rq->nheaders++;
  }
  for (size_t i = 0; i < rq->nheaders; i++) rq->headers[i].value = rq->folded[i];
  return 0;
}

static const char *header(const request *rq, const char *name) {
  for (size_t i = 0; i < rq->nheaders; i++)
    if (strcasecmp(rq->headers[i].name, name) == 0) return rq->headers[i].value;
  return NULL;
}

/* Is got the expected file's text? Says where not. */
static int same(const char *dir, const char *file, const char *got) {
  char *want = slurp(dir, file, NULL);
  if (!want) {
    fprintf(stderr, "%s: no %s\n", dir, file);
    return 0;
  }
  size_t i = 0;
  while (want[i] && want[i] == got[i]) i++;
  int ok = want[i] == got[i];
  if (!ok) fprintf(stderr, "%s: %s differs at byte %zu\n", dir, file, i);
  free(want);
  return ok;
}

/* The line of text starting with prefix, into out without the prefix. */
static int line_after(const char *text, const char *prefix, char *out, size_t size) {
  size_t n = strlen(prefix);
  for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, prefix, n) == 0) {
      size_t len = strcspn(p + n, "\n");
      snprintf(out, size, "%.*s", (int)len, p + n);
      return 0;
    }
  }
  return -1;
}

/* The part of text from the first occurrence of from up to (not including) the next to, into out. */
static int span_of(const char *text, const char *from, const char *to, char *out, size_t size) {
  const char *p = strstr(text, from), *q = p ? strstr(p + strlen(from), to) : NULL;
  if (!q) return -1;
  snprintf(out, size, "%.*s", (int)(q - p), p);
  return 0;
}

/* The query form of one case, signed as r: the canonical request, string
 * to sign and signature the suite gives, and the signed request's line
 * "METHOD /path?query HTTP/1.1" made from the URL we return. A token the
 * case adds after signing (omit_session_token) is put where it says. */
static int query_case(const char *dir, pl_sigv4_req r, const char *host, const char *token, int omit) {
  char *signed_req = slurp(dir, "query-signed-request.txt", NULL), err[160], want[4096], got[4096], tail[2048];
  pl_sign_out out;
  r.expires = 3600; /* every case's expiration_in_seconds */
  int ok = signed_req != NULL;
  if (!ok) {
    fprintf(stderr, "%s: no query-signed-request.txt\n", dir);
  } else if (pl_sign_aws(&r, &out, err, sizeof err) != 0) {
    fprintf(stderr, "%s: query form: %s\n", dir, err);
    ok = 0;
  } else {
    ok = same(dir, "query-canonical-request.txt", out.canonical.data);
    ok &= same(dir, "query-string-to-sign.txt", out.string_to_sign.data);
    ok &= same(dir, "query-signature.txt", out.signature);
    const char *path = out.url.data + strlen("https://") + strlen(host);
    snprintf(got, sizeof got, "%s %s HTTP/1.1", r.method, path);
    if (omit && token) { /* "...&X-Amz-Expires=3600&X-Amz-Security-Token=<escaped>&X-Amz-Signature=..." */
      char *sig = strstr(got, "&X-Amz-Signature=");
      ok &= sig && span_of(signed_req, "&X-Amz-Security-Token=", "&X-Amz-Signature=", tail, sizeof tail) == 0;
      if (ok) {
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", sig);
        snprintf(sig, sizeof got - (size_t)(sig - got), "%s%s", tail, rest);
      }
    }
    ok &= line_after(signed_req, "", want, sizeof want) == 0;
    if (strcmp(want, got) != 0) {
      size_t i = 0;
      while (want[i] && want[i] == got[i]) i++;
      fprintf(stderr, "%s: query-signed-request.txt differs at byte %zu of its first line\n", dir, i);
      ok = 0;
    }
    CHECK(strstr(out.url.data, r.secret_key) == NULL);
    CHECK(out.authorization.len == 0);
    pl_sign_out_free(&out);
  }
  free(signed_req);
  return ok;
}

/* Sign one case, both forms; 1 when it passes. */
static int run_case(const char *dir) {
  size_t len;
  char *ctx = slurp(dir, "context.json", NULL), *text = slurp(dir, "request.txt", &len),
       *signed_req = slurp(dir, "header-signed-request.txt", NULL);
  char ak[64], sk[128], token[1024], region[64], service[64], stamp[32], date[17], url[1024], body_hash[65];
  request rq;
  int ok = ctx && text && signed_req && json_str(ctx, "access_key_id", ak, sizeof ak) &&
      json_str(ctx, "secret_access_key", sk, sizeof sk) && json_str(ctx, "region", region, sizeof region) &&
      json_str(ctx, "service", service, sizeof service) && json_str(ctx, "timestamp", stamp, sizeof stamp) &&
      parse_request(text, &rq) == 0 && header(&rq, "host");
  if (!ok) {
    fprintf(stderr, "%s: cannot read the case\n", dir);
  } else {
    /* 2015-08-30T12:36:00Z -> 20150830T123600Z */
    size_t n = 0;
    for (const char *p = stamp; *p && n < 16; p++)
      if (*p != '-' && *p != ':') date[n++] = *p;
    date[n] = '\0';
    snprintf(url, sizeof url, "https://%s%s", header(&rq, "host"), rq.path);
    size_t body_len = len - (size_t)(rq.body - text);
    /* omit_session_token: the token is sent, but added after signing */
    int has_token = json_str(ctx, "token", token, sizeof token) != NULL;
    int omit = json_bool(ctx, "omit_session_token") == 1;
    pl_sigv4_req r = {rq.method,
                      url,
                      rq.headers,
                      rq.nheaders,
                      rq.body,
                      body_len,
                      ak,
                      sk,
                      has_token && !omit ? token : NULL,
                      region,
                      service,
                      date,
                      json_bool(ctx, "normalize") == 0,
                      0};
    ok = query_case(dir, r, header(&rq, "host"), has_token ? token : NULL, omit);
    /* sign_body: the caller asks for x-amz-content-sha256, as S3 does */
    if (json_bool(ctx, "sign_body") == 1 && rq.nheaders < MAX_HEADERS) {
      unsigned char md[32];
      unsigned int mdlen = 0;
      EVP_Digest(rq.body, body_len, md, &mdlen, EVP_sha256(), NULL);
      for (int i = 0; i < 32; i++) snprintf(body_hash + 2 * i, 3, "%02x", md[i]);
      rq.headers[rq.nheaders++] = (pl_sign_header){"x-amz-content-sha256", body_hash};
    }
    r.nheaders = rq.nheaders; /* the header form: with x-amz-content-sha256 when asked for */
    pl_sign_out out;
    char err[160], auth[512], sent_token[1024];
    if (pl_sign_aws(&r, &out, err, sizeof err) != 0) {
      fprintf(stderr, "%s: %s\n", dir, err);
      ok = 0;
    } else {
      ok &= same(dir, "header-canonical-request.txt", out.canonical.data);
      ok &= same(dir, "header-string-to-sign.txt", out.string_to_sign.data);
      ok &= same(dir, "header-signature.txt", out.signature);
      int auth_ok =
          line_after(signed_req, "Authorization:", auth, sizeof auth) == 0 && strcmp(auth, out.authorization.data) == 0;
      if (!auth_ok) fprintf(stderr, "%s: Authorization differs or is missing\n", dir);
      ok &= auth_ok;
      if (has_token) { /* the signed request carries the token, signed or not */
        int sent = line_after(signed_req, "X-Amz-Security-Token:", sent_token, sizeof sent_token) == 0 &&
            strcmp(sent_token, token) == 0;
        if (!sent) fprintf(stderr, "%s: the token sent is not the context's\n", dir);
        ok &= sent;
      }
      CHECK(strstr(out.authorization.data, sk) == NULL);
      pl_sign_out_free(&out);
    }
  }
  free(ctx);
  free(text);
  free(signed_req);
  return ok;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every case directory of the suite; returns how many passed, *total how many there are. */
static int run_suite(int *total) {
  DIR *d = opendir(SUITE);
  *total = 0;
  if (!d) {
    fprintf(stderr, "sigv4: no test suite at %s\n", SUITE);
    return 0;
  }
  char *names[128] = {NULL};
  int n = 0, passed = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL && n < 128;) {
    char probe[1024];
    if (e->d_name[0] == '.') continue;
    snprintf(probe, sizeof probe, "%s/%s/request.txt", SUITE, e->d_name);
    FILE *f = fopen(probe, "r");
    if (!f) continue; /* not a case */
    fclose(f);
    if (!(names[n] = strdup(e->d_name))) break;
    n++;
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) {
    int ok = run_case(names[i]);
    passed += ok;
    printf("%s %s\n", ok ? "ok  " : "FAIL", names[i]);
    free(names[i]);
  }
  *total = n;
  return passed;
}

static int starts(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Sign GET https://h/ with r's fields as given; the error message, or "" when it signs. */
static const char *sign_error(pl_sigv4_req r, char *err, size_t errlen) {
  pl_sign_out out;
  if (pl_sign_aws(&r, &out, err, errlen) != 0) return err;
  pl_sign_out_free(&out);
  return "";
}

int main(void) {
  int total, passed = run_suite(&total);
  printf("sigv4: %d of %d suite cases pass\n", passed, total);
  CHECK(total >= 38); /* the suite's 38 cases, all of them present */
  CHECK(passed == total);

  const char *SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const pl_sigv4_req good = {"GET", "https://h/",       NULL, 0, NULL, 0, "AKIDEXAMPLE", SK, NULL, "us-east-1",
                             "ec2", "20150830T123600Z", 0,    0};
  char err[160];
  pl_sigv4_req r = good;
  CHECK(strcmp(sign_error(r, err, sizeof err), "") == 0);
  r.access_key = NULL;
  CHECK(strncmp(sign_error(r, err, sizeof err), "access_key: ", 12) == 0);
  r.access_key = "AKID/EXAMPLE"; /* a '/' would split the credential scope */
  CHECK(strncmp(sign_error(r, err, sizeof err), "access_key: ", 12) == 0);
  r = good;
  r.secret_key = "";
  CHECK(strncmp(sign_error(r, err, sizeof err), "secret_key: ", 12) == 0);
  r = good;
  r.region = NULL;
  CHECK(strncmp(sign_error(r, err, sizeof err), "region: ", 8) == 0);
  r.region = "us-east-1/x";
  CHECK(strncmp(sign_error(r, err, sizeof err), "region: ", 8) == 0);
  r = good;
  r.service = "";
  CHECK(strncmp(sign_error(r, err, sizeof err), "service: ", 9) == 0);
  r = good;
  r.date = "2015-08-30T12:36:00Z";
  CHECK(strncmp(sign_error(r, err, sizeof err), "date: ", 6) == 0);
  r = good;
  r.url = "ftp://h/";
  CHECK(strncmp(sign_error(r, err, sizeof err), "url: ", 5) == 0);
  r.url = "/relative";
  CHECK(strncmp(sign_error(r, err, sizeof err), "url: ", 5) == 0);
  r = good;
  r.session_token = "a\r\nX-Evil: 1";
  CHECK(strncmp(sign_error(r, err, sizeof err), "session_token: ", 15) == 0);
  CHECK(strstr(err, "Evil") == NULL && strstr(err, SK) == NULL);
  r = good;
  r.expires = -1;
  CHECK(strncmp(sign_error(r, err, sizeof err), "expires: ", 9) == 0);
  r.expires = PL_SIGV4_MAX_EXPIRES + 1; /* seven days and a second */
  CHECK(strncmp(sign_error(r, err, sizeof err), "expires: ", 9) == 0);
  r.expires = PL_SIGV4_MAX_EXPIRES;
  CHECK(strcmp(sign_error(r, err, sizeof err), "") == 0);

  /* the wire path is escaped once more (AWS's rule but for S3); the query is not */
  pl_sign_out out;
  r = good;
  r.url = "https://h/a%20b/./c/../d?x=%20&y=~";
  CHECK(pl_sign_aws(&r, &out, err, sizeof err) == 0);
  CHECK(starts(out.canonical.data, "GET\n/a%2520b/d\nx=%20&y=~\nhost:h\n"));
  pl_sign_out_free(&out);
  r.url = "https://h/a/b/.."; /* RFC 3986 5.2.4: a final ".." leaves the '/' */
  CHECK(pl_sign_aws(&r, &out, err, sizeof err) == 0);
  CHECK(starts(out.canonical.data, "GET\n/a/\n\n"));
  pl_sign_out_free(&out);
  r.url = "https://h/?b&a=&c=3";
  r.raw_path = 0;
  CHECK(pl_sign_aws(&r, &out, err, sizeof err) == 0);
  CHECK(starts(out.canonical.data, "GET\n/\na=&b=&c=3\nhost:h\n"));
  pl_sign_out_free(&out);
  r.url = "https://h/a%20b/./c/../d?x=%20&y=~";
  r.raw_path = 1;
  CHECK(pl_sign_aws(&r, &out, err, sizeof err) == 0);
  CHECK(starts(out.canonical.data, "GET\n/a%2520b/./c/../d\n"));
  pl_sign_out_free(&out);

  /* presigned: the URL's own query kept first, a fragment dropped, a token
   * in the query (escaped) and not in any header */
  r = good;
  r.expires = 60;
  r.session_token = "tok/en+=";
  r.url = "https://h/p?b=2&a=1#frag";
  CHECK(pl_sign_aws(&r, &out, err, sizeof err) == 0);
  CHECK(starts(out.url.data, "https://h/p?b=2&a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"));
  CHECK(strstr(out.url.data, "&X-Amz-Expires=60&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-Signature=") != NULL);
  CHECK(strstr(out.url.data, "frag") == NULL);
  CHECK(strstr(out.canonical.data, "\nhost:h\n\nhost\n") != NULL);
  /* sorted by byte: upper-case X before a and b */
  CHECK(starts(out.canonical.data, "GET\n/p\nX-Amz-Algorithm=") &&
        strstr(out.canonical.data, "&X-Amz-SignedHeaders=host&a=1&b=2\n") != NULL);
  pl_sign_out_free(&out);
  r.url = "https://h/?";
  CHECK(pl_sign_aws(&r, &out, err, sizeof err) == 0);
  CHECK(starts(out.url.data, "https://h/?X-Amz-Algorithm="));
  pl_sign_out_free(&out);
  return check_report("sigv4");
}
