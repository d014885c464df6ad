/* Huawei AK/SK signing: the published example and canonicalisation rules. */
#include <string.h>

#include "check.h"
#include "pl_sign.h"

static const char *SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc";

/* Sign and return the canonical request (static buffer) or NULL. */
static const char *canonical(const char *method, const char *url, const pl_sign_header *h, size_t nh, const char *body,
                             pl_sign_out *out) {
  char err[128];
  pl_sign_req r = {method, url, h, nh, body, body ? strlen(body) : 0, "AK", SK, "20191115T033655Z"};
  if (pl_sign_huawei(&r, out, err, sizeof err) != 0) return NULL;
  return out->canonical.data;
}

int main(void) {
  pl_sign_out out;
  char err[128];

  /* The API signing guide's example: GET the VPC list of a project. Its
   * canonical request hashes to b25362e6...9bcd7a and the signature is
   * 7be66680...0f4f6ebe. */
  pl_sign_header ct = {"Content-Type", "application/json"};
  pl_sign_req ex = {"GET",
                    "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
                    "?marker=13551d6b-755d-4757-b956-536f674975c0&limit=2",
                    &ct,
                    1,
                    NULL,
                    0,
                    "QTWAOYTTINDUT2QVKYUC",
                    SK,
                    "20191115T033655Z"};
  CHECK(pl_sign_huawei(&ex, &out, err, sizeof err) == 0);
  CHECK(strcmp(out.canonical.data,
               "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
               "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
               "content-type:application/json\nhost:service.region.example.com\nx-sdk-date:20191115T033655Z\n\n"
               "content-type;host;x-sdk-date\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
  CHECK(strcmp(out.signature, "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe") == 0);
  CHECK(strcmp(out.authorization.data,
               "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
               "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe") == 0);
  CHECK(strstr(out.authorization.data, SK) == NULL);
  pl_sign_out_free(&out);

  /* a body is hashed; the path keeps its trailing slash; the port is part of host */
  const char *c = canonical("POST", "http://127.0.0.1:8080/huawei/v2.0/vpc/peerings/", NULL, 0, "{}", &out);
  CHECK(c && strstr(c, "POST\n/huawei/v2.0/vpc/peerings/\n\nhost:127.0.0.1:8080\n") == c);
  CHECK(c && strstr(c, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a") != NULL);
  pl_sign_out_free(&out);

  /* query: decoded, sorted by name then value, escaped again; a bare key */
  c = canonical("GET", "https://h/x?b=2&a=%7e1&b=1&flag&sp=a%20b", NULL, 0, NULL, &out);
  CHECK(c && strstr(c, "\na=~1&b=1&b=2&flag=&sp=a%20b\n") != NULL);
  pl_sign_out_free(&out);

  /* path segments: escaped once (no double escaping of %XX), an empty path is "/" */
  c = canonical("GET", "https://h/a%20b/c d", NULL, 0, NULL, &out);
  CHECK(c && strstr(c, "GET\n/a%20b/c%20d/\n") == c);
  pl_sign_out_free(&out);
  c = canonical("GET", "https://h", NULL, 0, NULL, &out);
  CHECK(c && strstr(c, "GET\n/\n") == c);
  pl_sign_out_free(&out);

  /* headers: lower-cased, trimmed, sorted; a given Host or X-Sdk-Date is not signed twice */
  pl_sign_header hs[] = {{"X-Project-Id", "  p1  "}, {"Host", "other"}, {"X-Sdk-Date", "x"}, {"Accept", "*/*"}};
  c = canonical("GET", "https://h/", hs, 4, NULL, &out);
  CHECK(c && strstr(c, "accept:*/*\nhost:h\nx-project-id:p1\nx-sdk-date:20191115T033655Z\n\n") != NULL);
  CHECK(strcmp(out.signed_headers.data, "accept;host;x-project-id;x-sdk-date") == 0);
  pl_sign_out_free(&out);

  /* white space around a value is trimmed (tabs, line breaks too), inside it is kept */
  pl_sign_header ws[] = {{"X-Note", "\t a  b \r\n"}};
  c = canonical("GET", "https://h/", ws, 1, NULL, &out);
  CHECK(c && strstr(c, "\nx-note:a  b\n") != NULL);
  pl_sign_out_free(&out);

  /* RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are; '+' is a plus, not a space */
  c = canonical("GET", "https://h/p?q=a/b*c+d%2B!&k%20y=%E4%B8%AD", NULL, 0, NULL, &out);
  CHECK(c && strstr(c, "\nk%20y=%E4%B8%AD&q=a%2Fb%2Ac%2Bd%2B%21\n") != NULL);
  pl_sign_out_free(&out);

  /* the empty body hashes the empty string, with or without a body pointer */
  c = canonical("DELETE", "https://h/x/", NULL, 0, "", &out);
  CHECK(c && strstr(c, "DELETE\n/x/\n") == c);
  CHECK(c && strcmp(c + strlen(c) - 64, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
  pl_sign_out_free(&out);

  /* the date is part of the string to sign: another date, another signature */
  char first[65];
  CHECK(canonical("GET", "https://h/", NULL, 0, NULL, &out) != NULL);
  memcpy(first, out.signature, sizeof first);
  pl_sign_out_free(&out);
  pl_sign_req later = {"GET", "https://h/", NULL, 0, NULL, 0, "AK", SK, "20191115T033656Z"};
  CHECK(pl_sign_huawei(&later, &out, err, sizeof err) == 0 && strcmp(first, out.signature) != 0);
  CHECK(strlen(out.signature) == 64);
  pl_sign_out_free(&out);

  /* an unsigned payload is not hashed */
  pl_sign_header up = {"X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD"};
  c = canonical("PUT", "https://h/", &up, 1, "data", &out);
  CHECK(c && strstr(c, "\nUNSIGNED-PAYLOAD") != NULL);
  pl_sign_out_free(&out);

  /* bad input names the field and never echoes the secret */
  pl_sign_req bad = {"GET", "https://h/", NULL, 0, NULL, 0, "AK", SK, "2019-11-15"};
  CHECK(pl_sign_huawei(&bad, &out, err, sizeof err) == -1 && strstr(err, "date") && !strstr(err, SK));
  bad.date = "20191115T033655Z";
  bad.url = "/relative";
  CHECK(pl_sign_huawei(&bad, &out, err, sizeof err) == -1 && strstr(err, "url"));
  bad.url = "ftp://h/";
  CHECK(pl_sign_huawei(&bad, &out, err, sizeof err) == -1 && strstr(err, "url"));
  bad.url = "https:///nohost";
  CHECK(pl_sign_huawei(&bad, &out, err, sizeof err) == -1 && strstr(err, "url"));
  bad.url = "https://h/";
  bad.ak = NULL;
  CHECK(pl_sign_huawei(&bad, &out, err, sizeof err) == -1 && strstr(err, "ak"));
  bad.ak = "AK";
  bad.sk = "";
  CHECK(pl_sign_huawei(&bad, &out, err, sizeof err) == -1 && strstr(err, "sk"));
  CHECK(pl_sign_date_ok("20191115T033655Z") && !pl_sign_date_ok("20191115 033655Z"));
  return check_report("sign");
}
