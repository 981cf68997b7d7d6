#include "devices/net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

/* Ethernet header and a VLAN tag around the MTU. A read has one byte
 * more room, so that a longer frame shows as such (and is dropped)
 * instead of reaching the guest cut short. */
#define FRAME_EXTRA (14 + 4)
/* Frames read in one go before the thread looks at its wake-up again, so
 * a flood toward the guest does not starve a waiting sender. */
#define READ_BATCH 64

struct sm_net_tap {
    int fd;
    int wake_fd;                /* eventfd: want_resume set, or stop */
    size_t buf_len;             /* the longest frame taken */
    uint8_t *buf;               /* the tap thread's, one byte longer */
    sm_net_tap_peer peer;
    pthread_t thread;
    bool started;
    atomic_bool want_resume;    /* a send found the tap full */
    atomic_bool stop;
};

static void wake(sm_net_tap *t)
{
    uint64_t one = 1;
    if (write(t->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sm_debug("tap: wake-up: %s", strerror(errno));
}

/* ---- frames from the guest ---- */

int sm_net_tap_send(void *opaque, const struct iovec *iov, unsigned niov, size_t len)
{
    sm_net_tap *t = opaque;
    size_t total = 0;
    for (unsigned i = 0; i < niov; i++)
        total += iov[i].iov_len;
    if (total != len || niov > IOV_MAX)
        return -EINVAL;
    /* The kernel copies the frame before it looks at it: a guest changing
     * it meanwhile only garbles its own frame. */
    ssize_t n = writev(t->fd, iov, (int)niov);
    if (n == (ssize_t)len)
        return 0;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        atomic_store(&t->want_resume, true);
        wake(t);
        return -EAGAIN;
    }
    /* EIO: the tap is down (the namespace's owner took it down); the frame
     * is lost as on an unplugged wire. */
    return n < 0 ? -errno : -EIO;
}

/* ---- frames for the guest ---- */

static void drain_wake(sm_net_tap *t)
{
    uint64_t n;
    if (read(t->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
        sm_debug("tap: wake-up read: %s", strerror(errno));
}

/* Up to a batch of frames; false when the tap is gone for good. */
static bool read_frames(sm_net_tap *t)
{
    for (int i = 0; i < READ_BATCH; i++) {
        ssize_t n = read(t->fd, t->buf, t->buf_len + 1);
        if (n > (ssize_t)t->buf_len)
            continue;
        if (n > 0) {
            /* Dropped when the guest has no buffer ready: TCP recovers. */
            if (t->peer.deliver)
                t->peer.deliver(t->peer.ctx, t->buf, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return true;
        /* 0: a socket stand-in's peer closed. EBADFD: the tap was
         * detached. Neither comes back. */
        sm_debug("tap: read: %s", n < 0 ? strerror(errno) : "end of file");
        return false;
    }
    return true;
}

static void *tap_thread(void *arg)
{
    sm_net_tap *t = arg;
    bool readable = true;
    while (!atomic_load(&t->stop)) {
        short ev = (short)((readable ? POLLIN : 0) |
                           (atomic_load(&t->want_resume) ? POLLOUT : 0));
        struct pollfd p[2] = {{.fd = t->wake_fd, .events = POLLIN},
                              {.fd = ev ? t->fd : -1, .events = ev}};
        if (poll(p, 2, -1) < 0) {
            if (errno != EINTR)
                sm_debug("tap: poll: %s", strerror(errno));
            continue;
        }
        if (p[0].revents & POLLIN)
            drain_wake(t);
        if ((p[1].revents & (POLLOUT | POLLERR | POLLHUP)) &&
            atomic_exchange(&t->want_resume, false) && t->peer.resume)
            t->peer.resume(t->peer.ctx);
        if (readable && (p[1].revents & (POLLIN | POLLERR | POLLHUP)))
            readable = read_frames(t);
    }
    return NULL;
}

/* ---- setup ---- */

int sm_net_tap_new(int fd, uint16_t mtu, sm_net_tap **out)
{
    sm_net_tap *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        return sm_fail(ENOMEM, "out of memory");
    }
    t->fd = fd;
    t->buf_len = (size_t)mtu + FRAME_EXTRA;
    t->buf = malloc(t->buf_len + 1);
    t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int flags = fcntl(fd, F_GETFL);
    int err = !t->buf ? sm_fail(ENOMEM, "out of memory")
              : t->wake_fd < 0 ? sm_fail(errno, "eventfd: %s", strerror(errno))
              : flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0
                  ? sm_fail(errno, "the network's tap (fd %d): %s", fd, strerror(errno))
                  : 0;
    if (err) {
        sm_net_tap_free(t);
        return err;
    }
    *out = t;
    return 0;
}

int sm_net_tap_start(sm_net_tap *t, const sm_net_tap_peer *peer)
{
    t->peer = *peer;
    int rc = pthread_create(&t->thread, NULL, tap_thread, t);
    if (rc)
        return sm_fail(rc, "cannot start the network thread: %s", strerror(rc));
    pthread_setname_np(t->thread, "sm-tap");
    t->started = true;
    return 0;
}

void sm_net_tap_free(sm_net_tap *t)
{
    if (!t)
        return;
    if (t->started) {
        atomic_store(&t->stop, true);
        wake(t);
        pthread_join(t->thread, NULL);
    }
    if (t->wake_fd >= 0)
        close(t->wake_fd);
    if (t->fd >= 0)
        close(t->fd);
    free(t->buf);
    free(t);
}
