#include "oci-runtime/console.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int send_fd(const char *path, int fd, char *err, size_t errlen)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        snprintf(err, errlen, "console socket path %s is too long", path);
        return -ENAMETOOLONG;
    }
    memcpy(a.sun_path, path, strlen(path));
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot connect to the console socket %s: %s", path, strerror(e));
        if (s >= 0)
            close(s);
        return -e;
    }
    /* runc names the terminal in the message; callers read the fd only. */
    char name[] = "/dev/ptmx";
    struct iovec iov = {name, sizeof name - 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    int rc = sendmsg(s, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
    if (rc)
        snprintf(err, errlen, "cannot send the terminal over %s: %s", path, strerror(-rc));
    close(s);
    return rc;
}

int sm_oci_console_open(const char *socket_path, uint16_t rows, uint16_t cols, char *err,
                        size_t errlen)
{
    int master, slave;
    struct winsize ws = {.ws_row = rows ? rows : 24, .ws_col = cols ? cols : 80};
    if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open a pty: %s", strerror(e));
        return -e;
    }
    struct termios t;
    if (tcgetattr(slave, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(slave, TCSANOW, &t);
    }
    ioctl(slave, TIOCSCTTY, 0);
    int rc = send_fd(socket_path, master, err, errlen);
    close(master);
    if (rc < 0) {
        close(slave);
        return rc;
    }
    fcntl(slave, F_SETFD, FD_CLOEXEC);
    return slave;
}

int sm_oci_console_size(int fd, uint16_t *rows, uint16_t *cols)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
        return 0;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 1;
}
