/* The jail of a worker run as root: its own mount namespace whose root is
 * an empty, read-only tmpfs holding only the paths the worker may reach,
 * each bind-mounted at the path it has on the host (so nothing in the
 * worker has to learn new names). A worker that could open any path it
 * likes then still finds nothing of the host's there; this holds on
 * kernels without landlock too, and whatever the owner and mode of the
 * host's files (root owns most of them, and a worker run as root is
 * their owner, capabilities or not). */
#ifndef SM_WORKER_JAIL_H
#define SM_WORKER_JAIL_H

#include <stddef.h>

#include "worker/landlock.h"

/* Enters the jail: call while the process has one thread, before any
 * path the jail leaves out is opened as a directory (a directory opened
 * before is a way back out). mount_at, an existing absolute directory,
 * is where the jail's tmpfs is mounted in the new namespace before it
 * becomes the root; the host never sees it. Paths that do not exist get
 * nothing, as with landlock; relative ones are taken from the working
 * directory, which the worker keeps.
 *
 * Returns 1 when jailed; 0 when this process may not make a mount
 * namespace or pivot its root (not root, no CAP_SYS_ADMIN as in an
 * unprivileged container, a root that is the initramfs), with why set
 * to a sentence for the log and the process's view of the filesystem
 * unchanged; or an error, the process then unfit to go on. */
int sm_jail_enter(const sm_ll_path *paths, unsigned n, const char *mount_at,
                  char *why, size_t why_len);

#endif
