/* Whole files: read as read-only memory, written atomically. */
#ifndef SM_UTIL_FILE_H
#define SM_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sm_mapped_file {
    const uint8_t *data;
    size_t len;
} sm_mapped_file;

/* Map `path` read-only; `what` names it in errors ("kernel", "initramfs"). */
int sm_file_map(const char *path, const char *what, sm_mapped_file *out);
void sm_file_unmap(sm_mapped_file *f);

/* Write all of data, retrying short writes; 0 or a negative errno (no
 * sentence: the caller knows what the fd is). */
int sm_write_all(int fd, const void *data, size_t len);
/* The same at offset `off` with pwrite. */
int sm_pwrite_all(int fd, const void *data, size_t len, uint64_t off);

/* Replace `path` with `data` (file mode `mode`): a temporary file next to
 * it, fsync, rename, fsync of the directory. A crash leaves the old file
 * or the new one, plus at worst a "<path>.tmp-*" leftover. */
int sm_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* The directory holding `path` into `out`: "." for a bare name, "/" for a
 * name at the root. Unlike dirname(3), never touches `path` and never
 * returns a pointer into it. */
void sm_path_dir(const char *path, char *out, size_t len);

/* fsync the directory holding `path`, so that a rename in it lasts. */
int sm_file_fsync_dir_of(const char *path);

#endif
