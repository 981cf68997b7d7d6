#include "virtio_rig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/virtio_rng.h"

#define SEG_MAX 0x4000u

void rig_init(rig *r)
{
    memset(r, 0, sizeof *r);
    if (sm_gmem_init(&r->mem, RIG_RAM) != 0)
        abort();
    r->drv.mem = &r->mem;
}

void rig_use(rig *r, sm_virtio_device *d)
{
    r->drv.dev = d;
}

void rig_bring_up(rig *r, sm_virtio_device *d)
{
    rig_use(r, d);
    memset(r->q, 0, sizeof r->q);
    r->data_next = VD_DATA;
    vd_bring_up(&r->drv, 0, d->ops->nqueues);
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
        r->data_next = VD_DATA;
    uint64_t at = r->data_next;
    r->data_next += (len + 15) & ~15u;
    return at;
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
            /* What the input lacks is zeros, not what was there before. */
            size_t k = n < len ? n : len;
            uint8_t *p = vd_ptr(&r->drv, at, n ? n : 1);
            memcpy(p, in, k);
            memset(p + k, 0, n - k);
            in += k, len -= k;
        }
        if (!fits)
            continue;
        uint16_t i = (uint16_t)((head + s) % RIG_QSIZE);
        bool more = s + 1 < nseg;
        vd_desc(&r->drv, q, i, at, n, (uint16_t)((w ? SM_VRING_DESC_F_WRITE : 0) |
                                            (more ? SM_VRING_DESC_F_NEXT : 0)),
                 (uint16_t)((i + 1) % RIG_QSIZE));
        writable += w ? n : 0;
    }
    if (fits) {
        rq->next_desc = (uint16_t)((head + nseg) % RIG_QSIZE);
        rq->in_flight = (uint16_t)(rq->in_flight + nseg);
        rq->ndesc[head] = (uint16_t)nseg;
        rq->writable[head] = writable;
        vd_offer(&r->drv, q, head);
    }
    return (size_t)(in - start);
}

void rig_reap(rig *r, unsigned q)
{
    rig_queue *rq = &r->q[q];
    uint16_t idx = vd_used_idx(&r->drv, q), avail = r->drv.avail_idx[q];
    /* Never more used than was made available. */
    if ((uint16_t)(idx - rq->used_seen) > (uint16_t)(avail - rq->used_seen))
        abort();
    for (; rq->used_seen != idx; rq->used_seen++) {
        uint32_t id, n;
        vd_used_elem(&r->drv, q, rq->used_seen, &id, &n);
        if (id >= RIG_QSIZE || !rq->ndesc[id] || n > rq->writable[id])
            abort();
        rq->in_flight = (uint16_t)(rq->in_flight - rq->ndesc[id]);
        rq->ndesc[id] = 0;
    }
}

void rig_notify(rig *r, unsigned q)
{
    vd_notify(&r->drv, q);
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
