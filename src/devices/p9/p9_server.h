/*
 * A 9P2000.L file server for one exported host directory (or one host
 * file, shown as the only entry of a synthetic root directory). It takes
 * whole request messages and produces whole replies; the transport
 * (virtio-9p) is elsewhere, so tests drive it directly.
 *
 * The guest is hostile. Every field is checked against the message; no
 * path ever leaves the export: each fid holds an O_PATH descriptor and
 * every lookup is one checked name (no '/', no "..") resolved beneath its
 * directory with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS), so symlinks are never followed on the host; the
 * guest's kernel resolves them in its own namespace through Treadlink.
 * A read-only export answers every change with EROFS.
 *
 * Simplifications, on purpose: Tlock and Tgetlock report success and no
 * conflict without taking host locks (locks hold between the guest's own
 * processes, not against host processes); extended attributes read as
 * none (named ones ENODATA) and cannot be set (EOPNOTSUPP); set-user-ID
 * and set-group-ID bits are never set on host files, and device nodes are
 * never created (Tmknod makes FIFOs and sockets only), so that a guest
 * cannot plant a set-uid program or a device on the host.
 *
 * What the guest creates is given to the guest user who created it (the
 * uid its fid was attached for, the gid the request names) where the host
 * lets the server chown: a server run as root with CAP_CHOWN. Elsewhere
 * it stays the server's own user's, and the guest sees that owner.
 */
#ifndef SM_DEVICES_P9_P9_SERVER_H
#define SM_DEVICES_P9_P9_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sm_p9_server sm_p9_server;

/* Export host_path (a directory, or a regular file), read-only or not. */
int sm_p9_server_create(const char *host_path, bool read_only, sm_p9_server **out);
void sm_p9_server_destroy(sm_p9_server *s);

/* The most host descriptors the guest may hold open through this export
 * at once (0: SM_P9_MAX_FDS, p9_fid.h); past it, what would take another fails with
 * EMFILE. */
void sm_p9_server_limit_fds(sm_p9_server *s, unsigned max);

/* Serve one request (msg[0..len), which may extend past the message's
 * own size) and write the reply into reply[0..cap). Returns the reply's
 * length, or 0 when the request is too short to carry a tag (or cap cannot
 * hold even an error). */
size_t sm_p9_server_handle(sm_p9_server *s, const uint8_t *msg, size_t len, uint8_t *reply,
                           size_t cap);

#endif
