/*
 * virtio-vsock in user space (no vhost), as Firecracker's hybrid vsock:
 * a guest connecting to host port P reaches the Unix socket <dir>/vsock_P;
 * a host program connects to <dir>/vsock.sock, writes "CONNECT P\n",
 * reads "OK <local port>\n" and then has a stream to guest port P.
 */
#ifndef SM_DEVICES_VIRTIO_VIRTIO_VSOCK_H
#define SM_DEVICES_VIRTIO_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/vsock_conn.h"
#include "devices/virtio/vsock_proto.h"

#define SM_VSOCK_LISTEN_NAME "vsock.sock"

/* Control packets waiting for the guest's rx buffers. A guest that sends
 * and never posts buffers would grow the queue without end (each packet to
 * no stream earns an RST): past this, replies are dropped, as a NIC drops
 * what it has no room for; the guest's own streams time out. */
#define SM_VSOCK_CTRL_MAX 4096

/* Streams at once, both ways. Each holds a host socket and up to
 * SM_VSOCK_BUF_ALLOC of the guest's bytes its host peer has not read yet
 * (the credit we gave): a guest that connects again and again to a host
 * listener that stops reading would otherwise take the worker's
 * descriptors and 256 KiB a stream. Past this, a guest's REQUEST gets an
 * RST and a host client's connection is closed: 1024 streams hold at most
 * 256 MiB. */
#define SM_VSOCK_MAX_CONNS 1024

typedef struct sm_vsock_ctrl {
    struct sm_vsock_ctrl *next;
    sm_vsock_hdr hdr;
} sm_vsock_ctrl;

typedef struct sm_virtio_vsock {
    sm_virtio_device dev;
    uint64_t guest_cid;
    char dir[256];
    int listen_fd;
    sm_vsock_conn *conns;
    unsigned nconns;                         /* at most SM_VSOCK_MAX_CONNS */
    sm_vsock_ctrl *ctrl_head, **ctrl_tail;   /* packets waiting for rx buffers */
    unsigned ctrl_count;                     /* at most SM_VSOCK_CTRL_MAX */
    uint64_t ctrl_dropped;                   /* past that bound */
    uint32_t next_host_port;
    bool reset_pending;                      /* a TRANSPORT_RESET not yet handled */
    void (*on_reset_seen)(void *ctx);
    void *reset_ctx;
} sm_virtio_vsock;

int sm_virtio_vsock_init(sm_virtio_vsock *v, uint64_t guest_cid, const char *dir,
                         const sm_virtio_env *env, uint64_t base, uint32_t irq);
void sm_virtio_vsock_destroy(sm_virtio_vsock *v);

/* After a restore: drop every host connection and tell the guest that all
 * of its connections are gone (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET), so a
 * stream from before the snapshot never talks to a stranger. `seen` runs
 * (device lock held) once the guest has handled the event: then no new
 * connection can be caught in the reset. */
int sm_virtio_vsock_transport_reset(sm_virtio_vsock *v, void (*seen)(void *ctx), void *ctx);

#endif
