/*
 * A guest driver for the device harnesses: guest RAM, the device's MMIO
 * registers written as a driver writes them, and descriptor chains built
 * from fuzz input. The rings sit where a driver would put them (hostile
 * rings are fuzz_virtqueue's); what the requests hold is the input's.
 */
#ifndef SM_TESTS_FUZZ_VIRTIO_RIG_H
#define SM_TESTS_FUZZ_VIRTIO_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtio_vsock.h"
#include "util/event_loop.h"
#include "virtio_driver.h"

#define RIG_QSIZE VD_QSIZE
#define RIG_RAM (1u << 20)

typedef struct rig_queue {
    uint16_t used_seen, next_desc, in_flight;
    /* Per head: descriptors it took and the bytes the device may write. */
    uint16_t ndesc[RIG_QSIZE];
    uint64_t writable[RIG_QSIZE];
} rig_queue;

typedef struct rig {
    sm_gmem mem;
    vdrv drv;                     /* registers and rings (tests/unit) */
    rig_queue q[SM_VIRTIO_MAX_QUEUES];
    uint64_t data_next;           /* where the next buffer goes */
} rig;

/* Guest RAM of RIG_RAM bytes; aborts when there is none. */
void rig_init(rig *r);

/* Drive device d from now on. */
void rig_use(rig *r, sm_virtio_device *d);

/* Reset the device and bring it up as Linux does: VERSION_1, every queue
 * of RIG_QSIZE at its place (vd_bring_up), DRIVER_OK. */
void rig_bring_up(rig *r, sm_virtio_device *d);

/* Build one chain on queue q from the input and make it available. A
 * record is one byte (segments: 1 + its low 3 bits), then per segment a
 * flags byte (bit 0: device-writable) and a 16-bit length (at most 16
 * KiB), then a readable segment's bytes. Returns the bytes used; the chain
 * is dropped when the queue has no free descriptors. */
size_t rig_chain(rig *r, unsigned q, const uint8_t *in, size_t len);

/* Notify queue q, then check what the device returned: each used entry
 * names a chain that was in flight and claims no more than it could
 * write (aborts otherwise). */
void rig_notify(rig *r, unsigned q);

/* Check and take back what the device used on queue q without a notify
 * (work the device did on a host event). */
void rig_reap(rig *r, unsigned q);

/* One device of each kind a harness drives through its registers, built
 * the same way every time (window, interrupt line, an 8 KiB disk, CID 3),
 * so that a saved state fits any other set: rng, blk, vsock. */
#define RIG_KINDS 3
typedef struct rig_devices {
    sm_virtio_device rng;
    sm_virtio_blk blk;
    sm_virtio_vsock vsock;
    char dir[64];                 /* the vsock's sockets */
} rig_devices;

void rig_devices_init(rig *r, rig_devices *d, sm_event_loop *loop);
sm_virtio_device *rig_device(rig_devices *d, unsigned kind);

/* Writing records as rig_chain reads them, for seed corpora: a chain of
 * nseg segments, then each segment (data NULL: zeros, or none in the
 * record for a writable one). */
typedef struct rig_seed {
    uint8_t buf[1 << 16];
    size_t len;
} rig_seed;
void rig_seed_bytes(rig_seed *s, const void *data, size_t len);
void rig_seed_u8(rig_seed *s, uint8_t v);
void rig_seed_chain(rig_seed *s, unsigned nseg);
void rig_seed_segment(rig_seed *s, bool writable, const void *data, uint16_t len);

/* Little-endian fields of fuzz input, read past its end as zeros. */
uint32_t rig_take(const uint8_t **in, size_t *len, unsigned bytes);

#endif
