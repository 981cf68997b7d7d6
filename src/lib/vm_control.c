/* Requests on a VM's worker control socket (src/worker/control.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/vm_int.h"
#include "util/error.h"
#include "util/file.h"
#include "worker/control.h"

/* The request line, with fds riding on its first byte (SCM_RIGHTS). */
static int send_request(int fd, const char *request, const int *fds, unsigned nfds)
{
    size_t len = strlen(request);
    struct iovec iov = {.iov_base = (void *)request, .iov_len = len};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * SM_WORKER_CONTROL_MAX_FDS)];
    } c;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > SM_WORKER_CONTROL_MAX_FDS)
        return -EINVAL;
    if (nfds) {
        memset(&c, 0, sizeof c);
        msg.msg_control = c.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(h), fds, sizeof(int) * nfds);
    }
    ssize_t n;
    while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : sm_write_all(fd, request + n, len - (size_t)n);
}

int sm_vm_control(const sm_vm *vm, const char *request)
{
    return sm_vm_control_fds(vm, request, NULL, 0);
}

/* One request on the worker's control socket (see worker/control.h). */
int sm_vm_control_fds(const sm_vm *vm, const char *request, const int *fds, unsigned nfds)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/control.sock", vm->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int err = sm_fail(errno, "cannot reach the VM's worker: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return err;
    }
    char line[600] = {0};
    size_t n = 0;
    int err = send_request(fd, request, fds, nfds);
    while (!err && n + 1 < sizeof line && read(fd, line + n, 1) == 1 && line[n] != '\n')
        n++;
    close(fd);
    line[n] = '\0';
    if (err || n == 0)
        return sm_fail(EIO, "the VM's worker did not answer");
    return strcmp(line, "OK") == 0 ? 0 : sm_fail(EIO, "%s", line + (n > 4 ? 4 : 0));
}
