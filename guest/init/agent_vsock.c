/* The agent's listening socket in the guest. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

#if __has_include(<linux/vm_sockets.h>)
#include <linux/vm_sockets.h>
#else
/* musl ships no kernel headers; this is the kernel's ABI. */
struct sockaddr_vm {
    sa_family_t svm_family;
    unsigned short svm_reserved1;
    unsigned int svm_port;
    unsigned int svm_cid;
    unsigned char svm_zero[sizeof(struct sockaddr) - sizeof(sa_family_t) -
                           sizeof(unsigned short) - 2 * sizeof(unsigned int)];
};
#define VMADDR_CID_ANY (-1U)
#endif

int sm_agent_listen_vsock(unsigned port)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_port = port,
                               .svm_cid = VMADDR_CID_ANY};
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 128) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}
