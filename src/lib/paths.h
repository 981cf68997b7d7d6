/* Where the built-in guest kernel and initramfs, and the worker, live. */
#ifndef SM_LIB_PATHS_H
#define SM_LIB_PATHS_H

#include <stddef.h>

/* Find the built-in guest file `name` ("vmlinux", "initramfs.cpio"):
 * $env_var if set, else next to the library in the build tree (guest/), else
 * in the installed data directory. Errors name every place looked at. */
int sm_find_guest_file(const char *name, const char *env_var, char *out, size_t len);

/* supermachine-worker, the per-VM process: $SUPERMACHINE_WORKER, else
 * next to this code, else where `meson install` put it (libexecdir). */
int sm_find_worker(char *out, size_t len);

#endif
