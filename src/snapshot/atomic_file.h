/* Durable whole-file writes for snapshot files. */
#ifndef SM_SNAPSHOT_ATOMIC_FILE_H
#define SM_SNAPSHOT_ATOMIC_FILE_H

#include <stddef.h>

/* Write `len` bytes to `fd` from its current offset, retrying short writes. */
int sm_snap_write_all(int fd, const void *data, size_t len, const char *path);

/* Replace `path` with `data`: write a temporary file next to it, fsync,
 * rename over `path`, fsync the directory. A crash leaves the old file or
 * the new one (plus, at worst, a stray ".<name>.tmp-*"). */
int sm_snap_write_file_atomic(const char *path, const void *data, size_t len);

/* fsync the directory that holds `path`, so a rename in it is durable. */
int sm_snap_fsync_parent(const char *path);

#endif
