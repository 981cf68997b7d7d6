#include "devices/virtio/virtio_rng.h"

#include <sys/random.h>

#define VIRTIO_ID_RNG 4

static void rng_notify(sm_virtio_device *d, unsigned queue)
{
    sm_vq *q = &d->queues[queue];
    sm_vq_chain c;
    sm_vq_pop_result r;
    bool used = false;
    while ((r = sm_vq_pop(q, d->env.mem, &c)) != SM_VQ_EMPTY) {
        if (r != SM_VQ_CHAIN) {
            sm_virtio_handle_bad(d, q, r, c.head);
            if (r == SM_VQ_BROKEN)
                break;
            continue;
        }
        uint32_t filled = 0;
        for (unsigned i = 0; i < c.nwrite; i++) {
            ssize_t n = getrandom(c.write[i].host, c.write[i].len, 0);
            if (n <= 0)
                break;
            filled += (uint32_t)n;
            if ((uint32_t)n < c.write[i].len)
                break;
        }
        sm_vq_push(q, d->env.mem, c.head, filled);
        used = true;
    }
    if (used && sm_vq_should_notify(q, d->env.mem))
        sm_virtio_used_interrupt(d);
}

const sm_virtio_ops sm_virtio_rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .nqueues = 1,
    .notify = rng_notify,
};
