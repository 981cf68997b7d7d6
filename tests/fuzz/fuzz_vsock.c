/*
 * libFuzzer harness for virtio-vsock: the input is a script of what a
 * guest and the host's programs do, one step a byte (its low 3 bits):
 *   0 1 2  the guest queues a chain (virtio_rig.h) on tx, rx or event and
 *          notifies it;
 *   3      a host program connects to vsock.sock and writes a line (a
 *          length byte, then its bytes: "CONNECT 52\n" and worse);
 *   4      a host program writes to its socket (which, length, bytes);
 *   5      a host program closes, shuts down or reads its socket;
 *   6      the device's event loop runs once (on this thread, so a run is
 *          the same every time) and a host service accepts what the
 *          guest's REQUESTs reached (a listener on vsock_1024);
 *   7      the VMM resets the transport, as after a restore.
 * Each input gets a new device; everything is closed after it. ASan
 * catches any access out of bounds or after free; the rig, a completion
 * that claims more than its chain could hold.
 */
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/virtio_vsock.h"
#include "util/event_loop.h"
#include "util/unix_sock.h"
#include "virtio_rig.h"

#define HOST_FDS 8
#define SERVICE_PORT 1024

static rig r;
static sm_event_loop *loop;
static char dir[64];
static int service = -1;
static int host[HOST_FDS];
static unsigned nhost;

static void remove_dir(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/vsock_%d", dir, SERVICE_PORT);
    unlink(p);
    rmdir(dir);
}

static void setup(void)
{
    char p[128];
    signal(SIGPIPE, SIG_IGN); /* as the worker's process: a closed peer is EPIPE */
    rig_init(&r);
    snprintf(dir, sizeof dir, "/tmp/sm-vsock-fuzz-XXXXXX");
    if (!mkdtemp(dir) || sm_event_loop_new(&loop) != 0)
        abort();
    atexit(remove_dir);
    snprintf(p, sizeof p, "%s/vsock_%d", dir, SERVICE_PORT);
    service = sm_unix_listen(p, SOCK_NONBLOCK | SOCK_CLOEXEC, 64);
    if (service < 0)
        abort();
}

static void keep(int fd)
{
    if (nhost < HOST_FDS)
        host[nhost++] = fd;
    else
        close(fd);
}

static int pick(const uint8_t **in, size_t *len)
{
    unsigned i = rig_take(in, len, 1);
    return nhost ? host[i % nhost] : -1;
}

static void client_connects(sm_virtio_vsock *v, const uint8_t **in, size_t *len)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", v->dir, SM_VSOCK_LISTEN_NAME);
    size_t n = rig_take(in, len, 1) % 48;
    n = n < *len ? n : *len;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(fd, *in, n) >= 0) {
        keep(fd);
    } else if (fd >= 0) {
        close(fd);
    }
    *in += n, *len -= n;
}

static void client_writes(const uint8_t **in, size_t *len)
{
    int fd = pick(in, len);
    size_t n = rig_take(in, len, 2) % 8192;
    n = n < *len ? n : *len;
    if (fd >= 0 && write(fd, *in, n) < 0) {
        /* a full socket or a gone peer: the host program's own problem */
    }
    *in += n, *len -= n;
}

static void client_ends(const uint8_t **in, size_t *len)
{
    int fd = pick(in, len);
    unsigned how = rig_take(in, len, 1) % 4;
    char buf[4096];
    if (fd < 0)
        return;
    if (how == 0)
        shutdown(fd, SHUT_RDWR);
    else if (how == 1)
        shutdown(fd, SHUT_WR);
    else if (how == 2)
        shutdown(fd, SHUT_RD);
    else
        while (read(fd, buf, sizeof buf) > 0)
            ;
}

static void host_runs(sm_virtio_vsock *v)
{
    int fd;
    while ((fd = accept4(service, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
        keep(fd);
    for (int i = 0; i < 4 && sm_event_loop_poll(loop, 0) > 0; i++)
        ;
    for (unsigned q = 0; q < v->dev.ops->nqueues; q++)
        rig_reap(&r, q);
}

static void finish(sm_virtio_vsock *v)
{
    sm_virtio_vsock_destroy(v);
    for (unsigned i = 0; i < nhost; i++)
        close(host[i]);
    nhost = 0;
    int fd;
    while ((fd = accept4(service, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sm_virtio_vsock v;
    if (service < 0)
        setup();
    sm_virtio_env env = {.mem = &r.mem, .loop = loop};
    if (sm_virtio_vsock_init(&v, 3, dir, &env, 0xd0000000, 5) != 0)
        abort();
    rig_bring_up(&r, &v.dev);
    while (size) {
        unsigned op = rig_take(&data, &size, 1) & 7;
        size_t used;
        switch (op) {
        case 0: case 1: case 2:
            used = rig_chain(&r, op, data, size);
            data += used, size -= used;
            rig_notify(&r, op);
            break;
        case 3: client_connects(&v, &data, &size); break;
        case 4: client_writes(&data, &size); break;
        case 5: client_ends(&data, &size); break;
        case 6: host_runs(&v); break;
        default:
            sm_virtio_vsock_transport_reset(&v, NULL, NULL);
            rig_reap(&r, 2);
            break;
        }
    }
    finish(&v);
    return 0;
}
