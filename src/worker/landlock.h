/* Landlock: the filesystem a confined worker can still reach. */
#ifndef SM_WORKER_LANDLOCK_H
#define SM_WORKER_LANDLOCK_H

#include <stdbool.h>

typedef enum {
    SM_LL_READ,          /* read files, list directories */
    SM_LL_READ_WRITE,    /* also create, write, remove, rename beneath */
    SM_LL_DEVICE,        /* a device node opened read-write, with ioctls */
} sm_ll_access;

typedef struct sm_ll_path {
    const char *path;
    sm_ll_access access;
} sm_ll_path;

/* Restricts the calling process (its threads must be made after, or be
 * restricted too: call before the first thread that runs guest code).
 * Returns the kernel's landlock ABI version (>= 1), 0 when this kernel has
 * no landlock (the caller says so: seccomp still holds), or an error. A
 * path that does not exist gets no rule: opening it later fails as it
 * would have (ENOENT), with the opener's message. */
int sm_landlock_restrict(const sm_ll_path *paths, unsigned n);

#endif
