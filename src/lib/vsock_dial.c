/* Reaching a guest vsock port through the VM's hybrid vsock socket. */
#include "lib/vsock_dial.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"

static int read_reply(int fd, char *line, size_t len)
{
    size_t n = 0;
    while (n + 1 < len) {
        ssize_t r = read(fd, line + n, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (line[n++] == '\n')
            break;
    }
    line[n] = '\0';
    return n && line[n - 1] == '\n' ? 0 : -1;
}

int sm_vsock_dial(const char *dir, uint32_t port, int *out)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/vsock.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int err = sm_fail(errno, "cannot reach the VM's vsock (is it running?): %s",
                          strerror(errno));
        if (fd >= 0)
            close(fd);
        return err;
    }
    char line[64];
    int n = snprintf(line, sizeof line, "CONNECT %u\n", port);
    if (write(fd, line, (size_t)n) != n || read_reply(fd, line, sizeof line) < 0 ||
        strncmp(line, "OK ", 3) != 0) {
        close(fd);
        return sm_fail(ECONNREFUSED, "nothing listens on guest vsock port %u", port);
    }
    *out = fd;
    return 0;
}
