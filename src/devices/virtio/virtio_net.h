/*
 * virtio-net (virtio 1.2 section 5.1): one receive and one transmit queue,
 * a fixed MAC and MTU, and no offloads but one: received frames are
 * marked as checksummed (GUEST_CSUM). The device moves Ethernet frames
 * between the guest and a backend it knows only through sm_net_backend,
 * so the same device serves user-mode NAT, a tap, or a test's fake.
 */
#ifndef SM_DEVICES_VIRTIO_VIRTIO_NET_H
#define SM_DEVICES_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_mmio.h"

struct iovec;

/* The header in front of every frame (virtio 1.x: num_buffers included). */
#define SM_VIRTIO_NET_HDR_LEN 12
#define SM_VIRTIO_NET_ETH_HLEN 14
/* Ethernet header and one VLAN tag around a full MTU. */
#define SM_VIRTIO_NET_FRAME_MAX(mtu) ((size_t)(mtu) + SM_VIRTIO_NET_ETH_HLEN + 4)
#define SM_VIRTIO_NET_DEFAULT_MTU 1500

/* Where the guest's frames go. send() runs with the device's lock held
 * and must not call back into the device; the iovecs point into guest
 * memory the guest may still change, so it copies them before use.
 * Returns 0 when the frame was taken, -EAGAIN when the backend is full
 * (the frame stays in the ring until sm_virtio_net_tx_resume), another
 * negative errno to drop it. */
typedef struct sm_net_backend {
    int (*send)(void *ctx, const struct iovec *iov, unsigned niov, size_t len);
    void *ctx;
} sm_net_backend;

typedef struct sm_virtio_net {
    sm_virtio_device dev;
    uint8_t mac[6];
    uint16_t mtu;
    sm_net_backend backend;
    bool tx_stalled;            /* the backend said -EAGAIN: wait for resume */
    /* Why frames were lost; read under the lock (tests, debugging). */
    uint64_t rx_no_buffer, rx_too_big, tx_malformed, tx_backend_dropped;
} sm_virtio_net;

int sm_virtio_net_init(sm_virtio_net *n, const uint8_t mac[6], uint16_t mtu,
                       const sm_net_backend *backend, const sm_virtio_env *env, uint64_t base,
                       uint32_t irq);
void sm_virtio_net_destroy(sm_virtio_net *n);

/* A frame for the guest (from any thread), whose checksums the backend
 * vouches for. It is dropped, returning
 * -ENOBUFS, when the driver has no receive buffer ready for it; -EMSGSIZE
 * when it is larger than the MTU allows; -ENETDOWN before the driver is up.
 * Network protocols recover from drops as from any lossy link. */
int sm_virtio_net_receive(sm_virtio_net *n, const void *frame, size_t len);

/* The backend has room again: send what the guest queued meanwhile. */
void sm_virtio_net_tx_resume(sm_virtio_net *n);

#endif
