#include "util/unix_sock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"

int sm_unix_listen(const char *path, int flags, int backlog)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return sm_fail(ENAMETOOLONG, "socket path '%s' is too long", path);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | flags, 0);
    if (fd < 0)
        return sm_fail(errno, "cannot make a socket for %s: %s", path, strerror(errno));
    /* Linux gives the bound file the socket inode's mode (less the
     * umask): set it before bind, so no moment exists where others may
     * connect. */
    if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(fd, backlog) < 0) {
        int err = errno;
        close(fd);
        return sm_fail(err, "cannot listen on %s: %s", path, strerror(err));
    }
    return fd;
}

bool sm_unix_peer_trusted(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return false;
    return cred.uid == geteuid() || cred.uid == 0;
}
