/*
 * A virtio-net backend on a tap device (or anything that moves one
 * Ethernet frame per read and write, such as a SOCK_SEQPACKET socket in
 * tests). The library makes the tap in the VM's network namespace and
 * hands the worker its descriptor (lib/netns_tap.c); nothing here opens a
 * path or needs a capability, so a confined worker can run it.
 *
 * Frames from the guest are written at once from the caller's thread;
 * when the tap is full the device keeps them in its ring (back-pressure)
 * until the reader thread sees room again. Frames for the guest are read
 * by a thread of its own and handed to the peer.
 */
#ifndef SM_DEVICES_NET_TAP_H
#define SM_DEVICES_NET_TAP_H

#include <stddef.h>
#include <stdint.h>

struct iovec;

/* Where frames for the guest go, and who waits for room to send. Both are
 * called on the tap's thread. */
typedef struct sm_net_tap_peer {
    int (*deliver)(void *ctx, const void *frame, size_t len);
    void (*resume)(void *ctx);
    void *ctx;
} sm_net_tap_peer;

typedef struct sm_net_tap sm_net_tap;

/* Takes fd (made non-blocking here), closed by sm_net_tap_free even when
 * this fails: the tap disappears with its last descriptor. mtu bounds the
 * frames read. The thread starts with sm_net_tap_start. */
int sm_net_tap_new(int fd, uint16_t mtu, sm_net_tap **out);
int sm_net_tap_start(sm_net_tap *t, const sm_net_tap_peer *peer);

/* An sm_net_backend send(): write one frame; -EAGAIN when the tap is full
 * (the peer's resume follows once it has room), another negative errno
 * when the frame is dropped (the tap is down, the frame refused). */
int sm_net_tap_send(void *t, const struct iovec *iov, unsigned niov, size_t len);

/* Stop the thread and close the descriptor. */
void sm_net_tap_free(sm_net_tap *t);

#endif
