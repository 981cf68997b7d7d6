/* A virtio-mmio driver for device tests, with no VM: it talks to a real
 * device through its register window (sm_virtio_mmio_access) and lays its
 * rings out in a test's guest RAM, so a test can also be the hostile
 * guest: any descriptor, any ring index, any register in any state.
 *
 * Layout: queue q's descriptor table at vd_ring(q), its available ring
 * 0x1000 above and its used ring 0x2000 above (q < 4: below 0xd000);
 * data belongs above VD_DATA. */
#ifndef SM_TESTS_UNIT_VIRTIO_DRIVER_H
#define SM_TESTS_UNIT_VIRTIO_DRIVER_H

#include <stdint.h>

#include "devices/virtio/virtio_mmio.h"

/* Register offsets of virtio-mmio version 2 (virtio 1.2 section 4.2.2). */
enum {
    VD_MAGIC = 0x000, VD_VERSION = 0x004, VD_DEVICE_ID = 0x008,
    VD_DEV_FEATURES = 0x010, VD_DEV_FEATURES_SEL = 0x014, VD_DRV_FEATURES = 0x020,
    VD_DRV_FEATURES_SEL = 0x024, VD_QUEUE_SEL = 0x030, VD_QUEUE_NUM_MAX = 0x034,
    VD_QUEUE_NUM = 0x038, VD_QUEUE_READY = 0x044, VD_QUEUE_NOTIFY = 0x050,
    VD_INTERRUPT_STATUS = 0x060, VD_INTERRUPT_ACK = 0x064, VD_STATUS = 0x070,
    VD_DESC_LO = 0x080, VD_DESC_HI = 0x084, VD_DRIVER_LO = 0x090, VD_DRIVER_HI = 0x094,
    VD_DEVICE_LO = 0x0a0, VD_DEVICE_HI = 0x0a4, VD_CONFIG_GENERATION = 0x0fc,
    VD_CONFIG = 0x100,
};

#define VD_QSIZE 16
#define VD_DATA 0x10000ull

typedef struct vdrv {
    sm_virtio_device *dev;
    const sm_gmem *mem;
    uint16_t avail_idx[SM_VIRTIO_MAX_QUEUES];
} vdrv;

uint32_t vd_rd(vdrv *d, uint64_t off);
void vd_wr(vdrv *d, uint64_t off, uint32_t v);
uint64_t vd_ring(unsigned q);

/* Place queue q (VD_QSIZE entries) and set it ready; returns QUEUE_READY
 * as the device reads it back. */
uint32_t vd_setup_queue(vdrv *d, unsigned q);

/* Reset, negotiate VERSION_1 and features_lo, set up queues 0..nqueues-1
 * and set DRIVER_OK; returns the status the device reads back. The ring
 * area (below VD_DATA) and the driver's indexes start from zero. */
uint32_t vd_bring_up(vdrv *d, uint32_t features_lo, unsigned nqueues);

void vd_desc(vdrv *d, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
             uint16_t next);
/* Put chain `head` on the available ring (no notification). */
void vd_offer(vdrv *d, unsigned q, uint16_t head);
void vd_notify(vdrv *d, unsigned q);
/* The available index as the driver publishes it (a hostile one may lie). */
void vd_set_avail_idx(vdrv *d, unsigned q, uint16_t idx);

uint16_t vd_used_idx(vdrv *d, unsigned q);
/* The used element at position n: which chain and how many bytes. */
void vd_used_elem(vdrv *d, unsigned q, uint16_t n, uint32_t *id, uint32_t *len);

/* Guest RAM at gpa, n bytes (the test's own memory: must be inside). */
void *vd_ptr(vdrv *d, uint64_t gpa, uint64_t n);

#endif
