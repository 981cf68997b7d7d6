/* virtio-rng: the guest's entropy from the host's getrandom(). */
#ifndef SM_DEVICES_VIRTIO_VIRTIO_RNG_H
#define SM_DEVICES_VIRTIO_VIRTIO_RNG_H

#include "devices/virtio/virtio_mmio.h"

extern const sm_virtio_ops sm_virtio_rng_ops;

#endif
