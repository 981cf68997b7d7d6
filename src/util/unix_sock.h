/* The worker's unix sockets (control, vsock): only their owner may use
 * them. The file is made 0600 whatever the process's umask, without
 * changing the umask (other threads create files meanwhile), and each
 * accepted peer must run as this user or as root. */
#ifndef SM_UTIL_UNIX_SOCK_H
#define SM_UTIL_UNIX_SOCK_H

#include <stdbool.h>

/* A listening stream socket at path (a stale one there is replaced);
 * flags: SOCK_NONBLOCK and/or SOCK_CLOEXEC. The fd, or -errno with a
 * sentence. */
int sm_unix_listen(const char *path, int flags, int backlog);

/* Whether the connected peer on fd is this user (or root). */
bool sm_unix_peer_trusted(int fd);

#endif
