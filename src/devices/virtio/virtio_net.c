#include "devices/virtio/virtio_net.h"

#include <string.h>
#include <sys/uio.h>

#include "util/error.h"
#include "util/log.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1)
#define VIRTIO_NET_F_MTU (1ull << 3)
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_NET_S_LINK_UP 1
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2
#define GSO_NONE 0
#define Q_RX 0
#define Q_TX 1
#define HDR SM_VIRTIO_NET_HDR_LEN

struct __attribute__((packed)) net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset;
    uint16_t num_buffers;
};

struct __attribute__((packed)) net_config {
    uint8_t mac[6];
    uint16_t status;
    uint16_t max_virtqueue_pairs;
    uint16_t mtu;
};

_Static_assert(sizeof(struct net_hdr) == HDR, "virtio_net_hdr is 12 bytes in virtio 1.x");

static sm_virtio_net *net_of(sm_virtio_device *d)
{
    return d->priv;
}

static size_t frame_max(const sm_virtio_net *n)
{
    return SM_VIRTIO_NET_FRAME_MAX(n->mtu);
}

/* ---- guest -> backend ---- */

/* Nothing was negotiated that would let the driver ask for checksum or
 * segmentation work, so a header asking for it is a driver bug. */
static bool tx_chain_ok(const sm_virtio_net *n, const sm_vq_chain *c)
{
    struct net_hdr h;
    if (c->nwrite || c->read_len < HDR + SM_VIRTIO_NET_ETH_HLEN ||
        c->read_len - HDR > frame_max(n))
        return false;
    sm_vq_chain_read(c, 0, &h, HDR);
    return h.gso_type == GSO_NONE && !(h.flags & HDR_F_NEEDS_CSUM);
}

/* 0: the chain is done with (sent or dropped); -EAGAIN: keep it. */
static int send_chain(sm_virtio_net *n, const sm_vq_chain *c)
{
    if (!tx_chain_ok(n, c)) {
        n->tx_malformed++;
        return 0;
    }
    size_t len = (size_t)(c->read_len - HDR);
    struct iovec iov[SM_VQ_MAX_CHAIN];
    unsigned niov = sm_vq_chain_iov(c, false, HDR, len, iov, SM_VQ_MAX_CHAIN);
    int err = n->backend.send(n->backend.ctx, iov, niov, len);
    if (err == -EAGAIN)
        return err;
    if (err)
        n->tx_backend_dropped++;
    return 0;
}

static void process_tx(sm_virtio_net *n)
{
    sm_virtio_device *d = &n->dev;
    sm_vq *q = &d->queues[Q_TX];
    sm_vq_chain c;
    sm_vq_pop_result r;
    bool used = false;
    while (!n->tx_stalled && (r = sm_vq_pop(q, d->env.mem, &c)) != SM_VQ_EMPTY) {
        if (r != SM_VQ_CHAIN) {
            sm_virtio_handle_bad(d, q, r, c.head);
            if (r == SM_VQ_BROKEN)
                break;
            continue;
        }
        if (send_chain(n, &c) == -EAGAIN) {
            sm_vq_unpop(q);
            n->tx_stalled = true;
            break;
        }
        sm_vq_push(q, d->env.mem, c.head, 0);
        used = true;
    }
    if (used && sm_vq_should_notify(q, d->env.mem))
        sm_virtio_used_interrupt(d);
}

void sm_virtio_net_tx_resume(sm_virtio_net *n)
{
    pthread_mutex_lock(&n->dev.lock);
    n->tx_stalled = false;
    if (n->dev.status & SM_VIRTIO_STATUS_DRIVER_OK)
        process_tx(n);
    pthread_mutex_unlock(&n->dev.lock);
}

/* ---- backend -> guest ---- */

/* Fill one receive chain; a chain that cannot hold the frame (a driver
 * that ignored the buffer size the spec asks for) is returned empty. */
static bool fill_rx(sm_virtio_net *n, const sm_vq_chain *c, const void *frame, size_t len)
{
    sm_virtio_device *d = &n->dev;
    sm_vq *q = &d->queues[Q_RX];
    if (c->nread || c->write_len < HDR + len) {
        sm_virtio_handle_bad(d, q, SM_VQ_BAD_CHAIN, c->head);
        return false;
    }
    struct net_hdr h = {.gso_type = GSO_NONE, .num_buffers = 1};
    /* The backend builds its frames with correct checksums: a guest that
     * takes our word for it skips a pass over every byte received. */
    if (d->driver_features & VIRTIO_NET_F_GUEST_CSUM)
        h.flags = HDR_F_DATA_VALID;
    sm_vq_chain_write(c, 0, &h, HDR);
    sm_vq_chain_write(c, HDR, frame, len);
    sm_vq_push(q, d->env.mem, c->head, (uint32_t)(HDR + len));
    if (sm_vq_should_notify(q, d->env.mem))
        sm_virtio_used_interrupt(d);
    return true;
}

static int deliver(sm_virtio_net *n, const void *frame, size_t len)
{
    sm_virtio_device *d = &n->dev;
    sm_vq *q = &d->queues[Q_RX];
    if (!(d->status & SM_VIRTIO_STATUS_DRIVER_OK))
        return -ENETDOWN;
    if (len > frame_max(n) || len < SM_VIRTIO_NET_ETH_HLEN) {
        n->rx_too_big++;
        return -EMSGSIZE;
    }
    sm_vq_chain c;
    sm_vq_pop_result r;
    /* Each pass takes one ring entry, so a ring of bad chains ends. */
    while ((r = sm_vq_pop(q, d->env.mem, &c)) != SM_VQ_EMPTY) {
        if (r != SM_VQ_CHAIN) {
            sm_virtio_handle_bad(d, q, r, c.head);
            if (r == SM_VQ_BROKEN)
                break;
            continue;
        }
        if (fill_rx(n, &c, frame, len))
            return 0;
    }
    /* Powers of two: a trace of a starved guest without a flood. */
    uint64_t dropped = ++n->rx_no_buffer;
    if (!(dropped & (dropped - 1)))
        sm_debug("virtio-net: %llu frames dropped so far: no receive buffer",
                 (unsigned long long)dropped);
    return -ENOBUFS;
}

int sm_virtio_net_receive(sm_virtio_net *n, const void *frame, size_t len)
{
    pthread_mutex_lock(&n->dev.lock);
    int err = deliver(n, frame, len);
    pthread_mutex_unlock(&n->dev.lock);
    return err;
}

/* ---- the device ---- */

static void net_notify(sm_virtio_device *d, unsigned queue)
{
    /* New receive buffers need no action: frames arrive when they arrive. */
    if (queue == Q_TX)
        process_tx(net_of(d));
}

static void net_reset(sm_virtio_device *d)
{
    net_of(d)->tx_stalled = false;
}

static void net_config_read(sm_virtio_device *d, uint32_t off, uint8_t *data, uint32_t len)
{
    sm_virtio_net *n = net_of(d);
    struct net_config cfg = {.status = VIRTIO_NET_S_LINK_UP, .max_virtqueue_pairs = 1,
                             .mtu = n->mtu};
    memcpy(cfg.mac, n->mac, sizeof cfg.mac);
    memcpy(data, (uint8_t *)&cfg + off, len);
}

static const sm_virtio_ops net_ops = {
    .name = "virtio-net", .device_id = VIRTIO_ID_NET,
    .features = VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU | VIRTIO_NET_F_GUEST_CSUM, .nqueues = 2,
    .config_len = sizeof(struct net_config), .config_read = net_config_read,
    .notify = net_notify, .reset = net_reset,
};

int sm_virtio_net_init(sm_virtio_net *n, const uint8_t mac[6], uint16_t mtu,
                       const sm_net_backend *backend, const sm_virtio_env *env, uint64_t base,
                       uint32_t irq)
{
    memset(n, 0, sizeof *n);
    if (!backend || !backend->send)
        return sm_fail(EINVAL, "virtio-net needs a backend");
    if (mtu < 68)
        return sm_fail(EINVAL, "virtio-net: an MTU of %u is below IPv4's minimum of 68", mtu);
    memcpy(n->mac, mac, sizeof n->mac);
    n->mtu = mtu;
    n->backend = *backend;
    return sm_virtio_mmio_init(&n->dev, &net_ops, n, env, base, irq);
}

void sm_virtio_net_destroy(sm_virtio_net *n)
{
    sm_virtio_mmio_destroy(&n->dev);
}
