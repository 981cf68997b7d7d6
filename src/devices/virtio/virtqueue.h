/*
 * Split virtqueues (virtio 1.2 section 2.7) as seen by a device. The ring
 * lives in guest memory and the guest is hostile: every index is checked,
 * every descriptor address goes through sm_gmem_ptr, chains are bounded.
 */
#ifndef SM_DEVICES_VIRTIO_VIRTQUEUE_H
#define SM_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "memory/guest_mem.h"

#define SM_VQ_MAX_SIZE 256
/* Longest chain accepted; also bounds loops in a malicious table. */
#define SM_VQ_MAX_CHAIN 64

#define SM_VRING_DESC_F_NEXT 1
#define SM_VRING_DESC_F_WRITE 2
#define SM_VRING_DESC_F_INDIRECT 4
#define SM_VRING_AVAIL_F_NO_INTERRUPT 1

typedef struct sm_vq {
    uint16_t size;          /* entries, a power of two, set by the driver */
    bool ready;
    bool broken;            /* the ring itself is corrupt: stop using it */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail;    /* next available-ring slot to take */
    uint16_t used_idx;      /* our copy of used->idx */
} sm_vq;

typedef struct sm_vq_buf {
    uint8_t *host;
    uint32_t len;
} sm_vq_buf;

/* One request: its device-readable buffers, then its device-writable ones. */
typedef struct sm_vq_chain {
    uint16_t head;
    unsigned nread, nwrite;
    sm_vq_buf read[SM_VQ_MAX_CHAIN];
    sm_vq_buf write[SM_VQ_MAX_CHAIN];
    uint64_t read_len, write_len;
} sm_vq_chain;

typedef enum sm_vq_pop_result {
    SM_VQ_EMPTY = 0,        /* nothing available */
    SM_VQ_CHAIN = 1,        /* *out holds a valid request */
    SM_VQ_BAD_CHAIN = 2,    /* the request is malformed: complete it with 0 bytes */
    SM_VQ_BROKEN = 3,       /* the ring is corrupt: the device needs a reset */
} sm_vq_pop_result;

/* Check the ring's placement and size when the driver sets it ready. */
bool sm_vq_valid(const sm_vq *q, const sm_gmem *mem);

sm_vq_pop_result sm_vq_pop(sm_vq *q, const sm_gmem *mem, sm_vq_chain *out);

/* Put back the chain just popped, unused (it will be popped again). */
void sm_vq_unpop(sm_vq *q);

/* Return a chain to the driver with `written` bytes filled in. */
bool sm_vq_push(sm_vq *q, const sm_gmem *mem, uint16_t head, uint32_t written);

/* Whether the driver wants an interrupt for what was pushed. */
bool sm_vq_should_notify(const sm_vq *q, const sm_gmem *mem);

void sm_vq_reset(sm_vq *q);

/* Copy helpers across a chain's buffers; return bytes copied. */
uint64_t sm_vq_chain_read(const sm_vq_chain *c, uint64_t offset, void *dst, uint64_t len);
uint64_t sm_vq_chain_write(const sm_vq_chain *c, uint64_t offset, const void *src, uint64_t len);

/* Describe part of a chain's readable (or writable) bytes as iovecs,
 * skipping `skip` bytes and taking at most `len`; returns the count. */
struct iovec;
unsigned sm_vq_chain_iov(const sm_vq_chain *c, bool writable, uint64_t skip, uint64_t len,
                         struct iovec *iov, unsigned max);

#endif
