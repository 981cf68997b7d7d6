#include "virtio_driver.h"

#include <stdlib.h>
#include <string.h>

#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000

void *vd_ptr(vdrv *d, uint64_t gpa, uint64_t n)
{
    void *p = sm_gmem_ptr(d->mem, gpa, n);
    if (!p)
        abort(); /* a test's own layout out of its RAM: the test is wrong */
    return p;
}

uint32_t vd_rd(vdrv *d, uint64_t off)
{
    uint32_t v;
    sm_virtio_mmio_access(d->dev, off, (uint8_t *)&v, 4, false);
    return v;
}

void vd_wr(vdrv *d, uint64_t off, uint32_t v)
{
    sm_virtio_mmio_access(d->dev, off, (uint8_t *)&v, 4, true);
}

uint64_t vd_ring(unsigned q)
{
    return 0x1000 + q * 0x3000ull;
}

uint32_t vd_setup_queue(vdrv *d, unsigned q)
{
    uint64_t base = vd_ring(q);
    vd_wr(d, VD_QUEUE_SEL, q);
    vd_wr(d, VD_QUEUE_NUM, VD_QSIZE);
    vd_wr(d, VD_DESC_LO, (uint32_t)base);
    vd_wr(d, VD_DRIVER_LO, (uint32_t)(base + AVAIL_OFF));
    vd_wr(d, VD_DEVICE_LO, (uint32_t)(base + USED_OFF));
    vd_wr(d, VD_QUEUE_READY, 1);
    return vd_rd(d, VD_QUEUE_READY);
}

uint32_t vd_bring_up(vdrv *d, uint32_t features_lo, unsigned nqueues)
{
    vd_wr(d, VD_STATUS, 0);
    memset(d->avail_idx, 0, sizeof d->avail_idx);
    memset(vd_ptr(d, 0, VD_DATA), 0, VD_DATA);
    uint32_t st = SM_VIRTIO_STATUS_ACKNOWLEDGE | SM_VIRTIO_STATUS_DRIVER;
    vd_wr(d, VD_STATUS, st);
    vd_wr(d, VD_DRV_FEATURES_SEL, 0);
    vd_wr(d, VD_DRV_FEATURES, features_lo);
    vd_wr(d, VD_DRV_FEATURES_SEL, 1);
    vd_wr(d, VD_DRV_FEATURES, 1); /* VERSION_1 */
    vd_wr(d, VD_STATUS, st | SM_VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < nqueues; q++)
        vd_setup_queue(d, q);
    vd_wr(d, VD_STATUS, vd_rd(d, VD_STATUS) | SM_VIRTIO_STATUS_DRIVER_OK);
    return vd_rd(d, VD_STATUS);
}

void vd_desc(vdrv *d, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
             uint16_t next)
{
    uint8_t *p = vd_ptr(d, vd_ring(q) + 16ull * i, 16);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

void vd_set_avail_idx(vdrv *d, unsigned q, uint16_t idx)
{
    memcpy(vd_ptr(d, vd_ring(q) + AVAIL_OFF + 2, 2), &idx, 2);
}

void vd_offer(vdrv *d, unsigned q, uint16_t head)
{
    uint64_t slot = vd_ring(q) + AVAIL_OFF + 4 + 2ull * (d->avail_idx[q] % VD_QSIZE);
    memcpy(vd_ptr(d, slot, 2), &head, 2);
    vd_set_avail_idx(d, q, ++d->avail_idx[q]);
}

void vd_notify(vdrv *d, unsigned q)
{
    vd_wr(d, VD_QUEUE_NOTIFY, q);
}

uint16_t vd_used_idx(vdrv *d, unsigned q)
{
    uint16_t v;
    memcpy(&v, vd_ptr(d, vd_ring(q) + USED_OFF + 2, 2), 2);
    return v;
}

void vd_used_elem(vdrv *d, unsigned q, uint16_t n, uint32_t *id, uint32_t *len)
{
    const uint8_t *e = vd_ptr(d, vd_ring(q) + USED_OFF + 4 + 8ull * (n % VD_QSIZE), 8);
    memcpy(id, e, 4);
    memcpy(len, e + 4, 4);
}
