#include "devices/virtio/virtqueue.h"

#include <string.h>
#include <sys/uio.h>

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};

/* Ring layouts (offsets in bytes from the ring's base). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_IDX 2
#define USED_RING 4

static uint64_t desc_bytes(uint16_t n) { return 16ull * n; }
static uint64_t avail_bytes(uint16_t n) { return 6 + 2ull * n; }
static uint64_t used_bytes(uint16_t n) { return 6 + 8ull * n; }

void sm_vq_reset(sm_vq *q)
{
    memset(q, 0, sizeof *q);
}

static bool apart(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a + alen <= b || b + blen <= a;
}

bool sm_vq_valid(const sm_vq *q, const sm_gmem *mem)
{
    if (q->size == 0 || q->size > SM_VQ_MAX_SIZE || (q->size & (q->size - 1)))
        return false;
    /* Alignment per the spec: 16 (desc), 2 (avail), 4 (used). */
    if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
        return false;
    /* The three must not overlap: a used index written over the available
     * one would hand the device a new request with each it completes, and
     * keep it serving the queue forever. */
    return sm_gmem_ptr(mem, q->desc_gpa, desc_bytes(q->size)) &&
           sm_gmem_ptr(mem, q->avail_gpa, avail_bytes(q->size)) &&
           sm_gmem_ptr(mem, q->used_gpa, used_bytes(q->size)) &&
           apart(q->desc_gpa, desc_bytes(q->size), q->avail_gpa, avail_bytes(q->size)) &&
           apart(q->desc_gpa, desc_bytes(q->size), q->used_gpa, used_bytes(q->size)) &&
           apart(q->avail_gpa, avail_bytes(q->size), q->used_gpa, used_bytes(q->size));
}

/* The ring was checked by sm_vq_valid, but memory can be re-checked cheaply
 * and a queue's addresses must never be trusted across a reset. */
static uint16_t *avail_u16(const sm_vq *q, const sm_gmem *mem, uint64_t off)
{
    return sm_gmem_ptr(mem, q->avail_gpa + off, 2);
}

static bool read_desc(const sm_vq *q, const sm_gmem *mem, uint16_t i, struct vring_desc *d)
{
    const void *p = sm_gmem_ptr(mem, q->desc_gpa + 16ull * i, sizeof *d);
    if (!p)
        return false;
    memcpy(d, p, sizeof *d);
    return true;
}

static bool add_buf(sm_vq_chain *c, const struct vring_desc *d, const sm_gmem *mem)
{
    bool writable = d->flags & SM_VRING_DESC_F_WRITE;
    if (d->len == 0 || (d->flags & SM_VRING_DESC_F_INDIRECT))
        return false;
    /* Readable buffers come first (2.7.4.2); a readable one after a
     * writable one is a driver bug. */
    if (!writable && c->nwrite)
        return false;
    uint8_t *host = sm_gmem_ptr(mem, d->addr, d->len);
    if (!host)
        return false;
    if (writable) {
        c->write[c->nwrite++] = (sm_vq_buf){host, d->len};
        c->write_len += d->len;
    } else {
        c->read[c->nread++] = (sm_vq_buf){host, d->len};
        c->read_len += d->len;
    }
    return true;
}

static bool walk_chain(const sm_vq *q, const sm_gmem *mem, uint16_t head, sm_vq_chain *c)
{
    uint16_t i = head;
    for (unsigned n = 0; n < SM_VQ_MAX_CHAIN && n < q->size; n++) {
        struct vring_desc d;
        if (!read_desc(q, mem, i, &d) || !add_buf(c, &d, mem))
            return false;
        if (!(d.flags & SM_VRING_DESC_F_NEXT))
            return true;
        if (d.next >= q->size)
            return false;
        i = d.next;
    }
    return false; /* too long, or a loop */
}

sm_vq_pop_result sm_vq_pop(sm_vq *q, const sm_gmem *mem, sm_vq_chain *out)
{
    if (!q->ready || q->broken)
        return SM_VQ_EMPTY;
    uint16_t *idx = avail_u16(q, mem, AVAIL_IDX);
    if (!idx) {
        q->broken = true;
        return SM_VQ_BROKEN;
    }
    uint16_t avail = __atomic_load_n(idx, __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(avail - q->last_avail);
    if (pending == 0)
        return SM_VQ_EMPTY;
    if (pending > q->size) {
        q->broken = true;
        return SM_VQ_BROKEN;
    }
    uint16_t *slot = avail_u16(q, mem, AVAIL_RING + 2ull * (q->last_avail % q->size));
    uint16_t head = slot ? *slot : 0;
    if (!slot || head >= q->size) {
        q->broken = true;
        return SM_VQ_BROKEN;
    }
    q->last_avail++;
    memset(out, 0, sizeof *out);
    out->head = head;
    return walk_chain(q, mem, head, out) ? SM_VQ_CHAIN : SM_VQ_BAD_CHAIN;
}

void sm_vq_unpop(sm_vq *q)
{
    q->last_avail--;
}

bool sm_vq_push(sm_vq *q, const sm_gmem *mem, uint16_t head, uint32_t written)
{
    struct vring_used_elem e = {.id = head, .len = written};
    uint64_t slot = q->used_gpa + USED_RING + 8ull * (q->used_idx % q->size);
    uint16_t *idx = sm_gmem_ptr(mem, q->used_gpa + USED_IDX, 2);
    if (!idx || !sm_gmem_write(mem, slot, &e, sizeof e)) {
        q->broken = true;
        return false;
    }
    q->used_idx++;
    /* The element must be visible before the index that publishes it. */
    __atomic_store_n(idx, q->used_idx, __ATOMIC_RELEASE);
    return true;
}

bool sm_vq_should_notify(const sm_vq *q, const sm_gmem *mem)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t *flags = avail_u16(q, mem, AVAIL_FLAGS);
    return !flags || !(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & SM_VRING_AVAIL_F_NO_INTERRUPT);
}

static uint64_t copy_bufs(const sm_vq_buf *bufs, unsigned n, uint64_t offset, uint8_t *mem,
                          uint64_t len, bool to_bufs)
{
    uint64_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (offset >= bufs[i].len) {
            offset -= bufs[i].len;
            continue;
        }
        uint64_t chunk = bufs[i].len - offset;
        if (chunk > len - done)
            chunk = len - done;
        if (to_bufs)
            memcpy(bufs[i].host + offset, mem + done, chunk);
        else
            memcpy(mem + done, bufs[i].host + offset, chunk);
        done += chunk;
        offset = 0;
    }
    return done;
}

uint64_t sm_vq_chain_read(const sm_vq_chain *c, uint64_t offset, void *dst, uint64_t len)
{
    return copy_bufs(c->read, c->nread, offset, dst, len, false);
}

uint64_t sm_vq_chain_write(const sm_vq_chain *c, uint64_t offset, const void *src, uint64_t len)
{
    return copy_bufs(c->write, c->nwrite, offset, (uint8_t *)src, len, true);
}

unsigned sm_vq_chain_iov(const sm_vq_chain *c, bool writable, uint64_t skip, uint64_t len,
                         struct iovec *iov, unsigned max)
{
    const sm_vq_buf *b = writable ? c->write : c->read;
    unsigned nb = writable ? c->nwrite : c->nread, n = 0;
    for (unsigned i = 0; i < nb && len && n < max; i++) {
        if (skip >= b[i].len) {
            skip -= b[i].len;
            continue;
        }
        uint64_t chunk = b[i].len - skip;
        if (chunk > len)
            chunk = len;
        iov[n++] = (struct iovec){b[i].host + skip, chunk};
        len -= chunk;
        skip = 0;
    }
    return n;
}
