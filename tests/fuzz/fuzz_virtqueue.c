/*
 * libFuzzer harness for the virtqueue walker: the input is the guest's
 * whole view of a queue (descriptor table, available ring, queue size and
 * placement), as a hostile driver controls it. The walker must never read
 * or write outside guest RAM, loop forever or crash; chains it accepts
 * must lie wholly inside RAM.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"

#define RAM (64 * 1024)

static void check_chain(const sm_gmem *m, const sm_vq_chain *c)
{
    const sm_vq_buf *sets[2] = {c->read, c->write};
    unsigned counts[2] = {c->nread, c->nwrite};
    for (int s = 0; s < 2; s++)
        for (unsigned i = 0; i < counts[s]; i++) {
            const sm_vq_buf *b = &sets[s][i];
            if (b->host < m->base || b->host + b->len > m->base + RAM || b->len == 0)
                __builtin_trap();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sm_gmem mem;
    if (!mem.base && sm_gmem_init(&mem, RAM) != 0)
        return 0;
    if (size < 8)
        return 0;
    /* First 8 bytes: queue size and where the three areas sit. */
    sm_vq q = {.size = (uint16_t)(data[0] | data[1] << 8), .ready = true,
               .desc_gpa = (uint64_t)data[2] << 8, .avail_gpa = (uint64_t)data[3] << 8,
               .used_gpa = (uint64_t)(data[4] | data[5] << 8) << 4};
    size_t rest = size - 8 < RAM ? size - 8 : RAM;
    memset(mem.base, 0, RAM);
    memcpy(mem.base, data + 8, rest);
    if (!sm_vq_valid(&q, &mem))
        return 0;
    sm_vq_chain c;
    for (int i = 0; i < 2 * SM_VQ_MAX_SIZE; i++) {
        sm_vq_pop_result r = sm_vq_pop(&q, &mem, &c);
        if (r == SM_VQ_EMPTY || r == SM_VQ_BROKEN)
            break;
        if (r == SM_VQ_CHAIN)
            check_chain(&mem, &c);
        sm_vq_push(&q, &mem, c.head, (uint32_t)c.write_len);
    }
    return 0;
}
