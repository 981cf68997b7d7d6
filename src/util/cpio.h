/* Building initramfs (cpio "newc") archives in memory, with libarchive. */
#ifndef SM_UTIL_CPIO_H
#define SM_UTIL_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sm_cpio sm_cpio;

int sm_cpio_new(sm_cpio **out);
/* Every entry is owned by root with mtime 0, so archives are reproducible. */
int sm_cpio_add_dir(sm_cpio *c, const char *path, mode_t mode);
int sm_cpio_add_file(sm_cpio *c, const char *path, mode_t mode, const void *data, size_t len);
int sm_cpio_add_symlink(sm_cpio *c, const char *path, const char *target);
int sm_cpio_add_chardev(sm_cpio *c, const char *path, mode_t mode, unsigned major,
                        unsigned minor);
/* Finish the archive; *data is malloc'd and owned by the caller. The
 * builder is freed in any case. */
int sm_cpio_finish(sm_cpio *c, uint8_t **data, size_t *len);
void sm_cpio_free(sm_cpio *c);

#endif
