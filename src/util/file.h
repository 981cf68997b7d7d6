/* Whole files as read-only memory. */
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

#endif
