/* File locks per key: see pl_lock.h. */
#define _GNU_SOURCE
#include "pl_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void pl_lock_name(const char *key, size_t len, char out[17]) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int pl_lock_dir(char *dir, size_t cap, char *err, size_t errlen) {
  /* XDG_RUNTIME_DIR only when the directory exists (it may be set and not
   * made, or copied into a container): else the fallback, as the XDG Base
   * Directory spec asks when the runtime directory cannot be used. */
  const char *run = getenv("XDG_RUNTIME_DIR");
  struct stat rs;
  int usable = run && run[0] == '/' && stat(run, &rs) == 0 && S_ISDIR(rs.st_mode);
  int n = usable ? snprintf(dir, cap, "%s/peerlua", run) : snprintf(dir, cap, "/tmp/peerlua-%ld", (long)getuid());
  if (n < 0 || (size_t)n >= cap) return snprintf(err, errlen, "lock directory path too long"), -1;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return snprintf(err, errlen, "cannot make lock directory %s: %s", dir, strerror(errno)), -1;
  struct stat st;
  if (lstat(dir, &st) != 0) return snprintf(err, errlen, "lock directory %s: %s", dir, strerror(errno)), -1;
  const char *why = !S_ISDIR(st.st_mode) ? "is not a directory"
      : st.st_uid != getuid()            ? "is owned by another user"
      : st.st_mode & 022                 ? "can be written by group or others"
                                         : NULL;
  if (why) return snprintf(err, errlen, "lock directory %s %s; remove it or set XDG_RUNTIME_DIR", dir, why), -1;
  return 0;
}

int pl_lock_try(const char *dir, const char *key, size_t len, long *holder, char *err, size_t errlen) {
  char name[17], path[4200];
  pl_lock_name(key, len, name);
  if (snprintf(path, sizeof path, "%s/%s.lock", dir, name) >= (int)sizeof path)
    return snprintf(err, errlen, "lock path too long"), -1;
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return snprintf(err, errlen, "cannot open lock %s: %s", path, strerror(errno)), -1;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    int e = errno;
    if (e == EWOULDBLOCK) {
      char text[24] = {0};
      ssize_t got = pread(fd, text, sizeof text - 1, 0);
      *holder = got > 0 ? strtol(text, NULL, 10) : 0;
      close(fd);
      return PL_LOCK_BUSY;
    }
    close(fd);
    return snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e)), -1;
  }
  /* who holds it, for whoever waits (the lock holds without the note) */
  char text[24];
  int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
  int noted = ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)n, 0) == n;
  (void)noted;
  return fd;
}

void pl_lock_release(int fd) {
  if (fd >= 0) close(fd); /* closing the only descriptor drops the flock */
}
