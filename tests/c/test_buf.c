/* Growable buffer: appends, growth, reset, NUL termination; base64. */
#include <string.h>

#include "check.h"
#include "pl_buf.h"

int main(void) {
  pl_buf b;
  pl_buf_init(&b);
  CHECK(b.len == 0 && b.data == NULL);
  CHECK(pl_buf_addstr(&b, "hello") == 0);
  CHECK(b.len == 5 && strcmp(b.data, "hello") == 0);
  for (int i = 0; i < 1000; i++) CHECK(pl_buf_add(&b, "0123456789", 10) == 0);
  CHECK(b.len == 10005 && b.data[b.len] == '\0');
  CHECK(memcmp(b.data + 9995, "0123456789", 10) == 0);
  pl_buf_reset(&b);
  CHECK(b.len == 0 && b.data[0] == '\0');
  CHECK(pl_buf_add(&b, "", 0) == 0 && b.len == 0);
  pl_buf_free(&b);
  CHECK(b.data == NULL);

  /* RFC 4648 section 10's vectors, and RFC 7617's Basic example */
  static const char *const vec[][2] = {{"", ""},
                                       {"f", "Zg=="},
                                       {"fo", "Zm8="},
                                       {"foo", "Zm9v"},
                                       {"foob", "Zm9vYg=="},
                                       {"fooba", "Zm9vYmE="},
                                       {"foobar", "Zm9vYmFy"},
                                       {"Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}};
  char out[64];
  for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++)
    CHECK(pl_base64(vec[i][0], strlen(vec[i][0]), out) == strlen(vec[i][1]) && strcmp(out, vec[i][1]) == 0);
  CHECK(pl_base64("\xff\xfe", 2, out) == 4 && strcmp(out, "//4=") == 0);
  return check_report("buf");
}
