/* Growable buffer: appends, growth, reset, NUL termination. */
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
  return check_report("buf");
}
