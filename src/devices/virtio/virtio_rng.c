#include "devices/virtio/virtio_rng.h"

#include <sys/random.h>

#define VIRTIO_ID_RNG 4

static uint32_t fill(sm_virtio_device *d, const sm_vq_chain *c)
{
    (void)d;
    uint32_t filled = 0;
    for (unsigned i = 0; i < c->nwrite; i++) {
        ssize_t n = getrandom(c->write[i].host, c->write[i].len, 0);
        if (n <= 0)
            break;
        filled += (uint32_t)n;
        if ((uint32_t)n < c->write[i].len)
            break;
    }
    return filled;
}

static void rng_notify(sm_virtio_device *d, unsigned queue)
{
    sm_virtio_serve_queue(d, queue, fill);
}

const sm_virtio_ops sm_virtio_rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .nqueues = 1,
    .notify = rng_notify,
};
