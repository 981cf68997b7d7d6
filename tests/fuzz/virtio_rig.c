#include "virtio_rig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/virtio_rng.h"

#define RING_AREA 0x1000ull
#define RING_STRIDE 0x1000ull      /* desc, avail and used of one queue */
#define DATA_START 0x10000ull
#define SEG_MAX 0x4000u

static uint64_t ring(unsigned q)
{
    return RING_AREA + 3 * RING_STRIDE * q;
}

void rig_init(rig *r)
{
    memset(r, 0, sizeof *r);
    if (sm_gmem_init(&r->mem, RIG_RAM) != 0)
        abort();
}

void rig_write(rig *r, uint32_t off, uint32_t v)
{
    sm_virtio_mmio_access(r->dev, off, (uint8_t *)&v, 4, true);
}

uint32_t rig_read(rig *r, uint32_t off)
{
    uint32_t v = 0;
    sm_virtio_mmio_access(r->dev, off, (uint8_t *)&v, 4, false);
    return v;
}

void rig_bring_up(rig *r, sm_virtio_device *d)
{
    r->dev = d;
    memset(r->q, 0, sizeof r->q);
    memset(r->mem.base, 0, RIG_RAM);
    r->data_next = DATA_START;
    uint32_t base = SM_VIRTIO_STATUS_ACKNOWLEDGE | SM_VIRTIO_STATUS_DRIVER;
    rig_write(r, RIG_STATUS, 0);
    rig_write(r, RIG_STATUS, base);
    rig_write(r, RIG_DRV_FEATURES_SEL, 1);
    rig_write(r, RIG_DRV_FEATURES, 1); /* VERSION_1 */
    rig_write(r, RIG_STATUS, base | SM_VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < d->ops->nqueues; q++) {
        rig_write(r, RIG_QUEUE_SEL, q);
        rig_write(r, RIG_QUEUE_NUM, RIG_QSIZE);
        rig_write(r, RIG_DESC_LO, (uint32_t)ring(q));
        rig_write(r, RIG_DRIVER_LO, (uint32_t)(ring(q) + RING_STRIDE));
        rig_write(r, RIG_DEVICE_LO, (uint32_t)(ring(q) + 2 * RING_STRIDE));
        rig_write(r, RIG_QUEUE_READY, 1);
    }
    rig_write(r, RIG_STATUS, base | SM_VIRTIO_STATUS_FEATURES_OK | SM_VIRTIO_STATUS_DRIVER_OK);
}

uint32_t rig_take(const uint8_t **in, size_t *len, unsigned bytes)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        uint32_t b = *len ? **in : 0;
        if (*len)
            (*in)++, (*len)--;
        v |= b << (8 * i);
    }
    return v;
}

/* Buffers are handed out in turn over the data area, wrapping: a buffer
 * still in flight may be overwritten, as a careless driver would. */
static uint64_t alloc(rig *r, uint32_t len)
{
    if (r->data_next + len > RIG_RAM)
        r->data_next = DATA_START;
    uint64_t at = r->data_next;
    r->data_next += (len + 15) & ~15u;
    return at;
}

static void put_desc(rig *r, unsigned q, uint16_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *p = sm_gmem_ptr(&r->mem, ring(q) + 16ull * i, 16);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

size_t rig_chain(rig *r, unsigned q, const uint8_t *in, size_t len)
{
    const uint8_t *start = in;
    rig_queue *rq = &r->q[q];
    unsigned nseg = 1 + (rig_take(&in, &len, 1) & 7);
    bool fits = rq->in_flight + nseg <= RIG_QSIZE;
    uint16_t head = rq->next_desc;
    uint64_t writable = 0;
    for (unsigned s = 0; s < nseg; s++) {
        bool w = rig_take(&in, &len, 1) & 1;
        uint32_t n = rig_take(&in, &len, 2) % SEG_MAX;
        uint64_t at = alloc(r, n ? n : 1);
        if (!w) {
            size_t k = n < len ? n : len;
            memcpy(sm_gmem_ptr(&r->mem, at, n ? n : 1), in, k);
            in += k, len -= k;
        }
        if (!fits)
            continue;
        uint16_t i = (uint16_t)((head + s) % RIG_QSIZE);
        bool more = s + 1 < nseg;
        put_desc(r, q, i, at, n, (uint16_t)((w ? SM_VRING_DESC_F_WRITE : 0) |
                                            (more ? SM_VRING_DESC_F_NEXT : 0)),
                 (uint16_t)((i + 1) % RIG_QSIZE));
        writable += w ? n : 0;
    }
    if (fits) {
        rq->next_desc = (uint16_t)((head + nseg) % RIG_QSIZE);
        rq->in_flight = (uint16_t)(rq->in_flight + nseg);
        rq->ndesc[head] = (uint16_t)nseg;
        rq->writable[head] = writable;
        uint64_t avail = ring(q) + RING_STRIDE;
        uint16_t *slot = sm_gmem_ptr(&r->mem, avail + 4 + 2ull * (rq->avail_idx % RIG_QSIZE), 2);
        *slot = head;
        rq->avail_idx++;
        memcpy(sm_gmem_ptr(&r->mem, avail + 2, 2), &rq->avail_idx, 2);
    }
    return (size_t)(in - start);
}

void rig_reap(rig *r, unsigned q)
{
    rig_queue *rq = &r->q[q];
    uint64_t used = ring(q) + 2 * RING_STRIDE;
    uint16_t idx;
    memcpy(&idx, sm_gmem_ptr(&r->mem, used + 2, 2), 2);
    /* Never more used than was made available. */
    if ((uint16_t)(idx - rq->used_seen) > (uint16_t)(rq->avail_idx - rq->used_seen))
        abort();
    for (; rq->used_seen != idx; rq->used_seen++) {
        uint32_t id, n;
        const uint8_t *e = sm_gmem_ptr(&r->mem, used + 4 + 8ull * (rq->used_seen % RIG_QSIZE), 8);
        memcpy(&id, e, 4);
        memcpy(&n, e + 4, 4);
        if (id >= RIG_QSIZE || !rq->ndesc[id] || n > rq->writable[id])
            abort();
        rq->in_flight = (uint16_t)(rq->in_flight - rq->ndesc[id]);
        rq->ndesc[id] = 0;
    }
}

void rig_notify(rig *r, unsigned q)
{
    rig_write(r, RIG_QUEUE_NOTIFY, q);
    rig_reap(r, q);
}

static int disk_fd = -1;

/* Scratch state of the sets made: removed at exit. */
static rig_devices *made[4];
static int nmade;

static void remove_devices(void)
{
    for (int i = 0; i < nmade; i++) {
        sm_virtio_vsock_destroy(&made[i]->vsock);
        rmdir(made[i]->dir);
    }
}

void rig_devices_init(rig *r, rig_devices *d, sm_event_loop *loop)
{
    char path[64];
    if (disk_fd < 0) {
        disk_fd = memfd_create("rig-disk", MFD_CLOEXEC);
        if (disk_fd < 0 || ftruncate(disk_fd, 8192) < 0)
            abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", disk_fd);
    snprintf(d->dir, sizeof d->dir, "/tmp/sm-rig-XXXXXX");
    sm_virtio_env env = {.mem = &r->mem, .loop = loop};
    if (nmade == 4 || !mkdtemp(d->dir) ||
        sm_virtio_mmio_init(&d->rng, &sm_virtio_rng_ops, NULL, &env, 0xd0000000, 5) ||
        sm_virtio_blk_init(&d->blk, path, false, "disk", &env, 0xd0001000, 6) ||
        sm_virtio_vsock_init(&d->vsock, 3, d->dir, &env, 0xd0002000, 7))
        abort();
    if (nmade == 0)
        atexit(remove_devices);
    made[nmade++] = d;
}

sm_virtio_device *rig_device(rig_devices *d, unsigned kind)
{
    switch (kind % RIG_KINDS) {
    case 0: return &d->rng;
    case 1: return &d->blk.dev;
    default: return &d->vsock.dev;
    }
}

void rig_seed_bytes(rig_seed *s, const void *data, size_t len)
{
    if (s->len + len > sizeof s->buf)
        abort();
    if (data)
        memcpy(s->buf + s->len, data, len);
    else
        memset(s->buf + s->len, 0, len);
    s->len += len;
}

void rig_seed_u8(rig_seed *s, uint8_t v)
{
    rig_seed_bytes(s, &v, 1);
}

void rig_seed_chain(rig_seed *s, unsigned nseg)
{
    rig_seed_u8(s, (uint8_t)((nseg - 1) & 7));
}

void rig_seed_segment(rig_seed *s, bool writable, const void *data, uint16_t len)
{
    uint8_t h[3] = {writable, (uint8_t)len, (uint8_t)(len >> 8)};
    rig_seed_bytes(s, h, 3);
    if (!writable)
        rig_seed_bytes(s, data, len);
}
