/* Locks that serialise one piece of work (an ensure_peering for one
 * peering) across the processes of one user on one machine: flock(2) on a
 * file per key in a private directory. The kernel drops a lock when its
 * holder exits, however it exits. Lua-free. */
#ifndef PL_LOCK_H
#define PL_LOCK_H
#include <stddef.h>

/* The name of key's lock: 16 hex digits (FNV-1a 64 of key) and a NUL. */
void pl_lock_name(const char *key, size_t len, char out[17]);

/* The lock directory: $XDG_RUNTIME_DIR/peerlua when that variable names an
 * existing directory, else /tmp/peerlua-UID,
 * made 0700 when missing and refused unless it is a directory (not a
 * symlink) owned by this user that no one else can write. 0, or -1 with
 * why in err. */
int pl_lock_dir(char *dir, size_t cap, char *err, size_t errlen);

/* Take key's lock in dir without waiting. A descriptor (>= 0) while held;
 * PL_LOCK_BUSY when someone holds it (their pid in *holder, 0 if unknown);
 * -1 with why in err. Two descriptors of one process exclude each other
 * too, so tasks of one process are serialised the same way. */
#define PL_LOCK_BUSY (-2)
int pl_lock_try(const char *dir, const char *key, size_t len, long *holder, char *err, size_t errlen);

/* Release a lock taken by pl_lock_try. */
void pl_lock_release(int fd);

#endif
