/* Where the built-in guest kernel and initramfs live. */
#ifndef SM_LIB_PATHS_H
#define SM_LIB_PATHS_H

#include <stddef.h>

/* Find the built-in guest file `name` ("vmlinux", "initramfs.cpio"):
 * $env_var if set, else next to the library in the build tree (guest/), else
 * in the installed data directory. Errors name every place looked at. */
int sm_find_guest_file(const char *name, const char *env_var, char *out, size_t len);

/* The supermachine binary that hosts VM workers: $SUPERMACHINE_WORKER,
 * else next to this code, else where `meson install` put it. */
int sm_find_worker(char *out, size_t len);

#endif
