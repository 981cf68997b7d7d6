/* virtio-blk over a raw image file: read-only or read-write, flush, id. */
#ifndef SM_DEVICES_VIRTIO_VIRTIO_BLK_H
#define SM_DEVICES_VIRTIO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_mmio.h"

typedef struct sm_virtio_blk {
    sm_virtio_device dev;
    int fd;
    bool read_only;
    uint64_t sectors;
    char id[20];            /* VIRTIO_BLK_ID_BYTES, not NUL-terminated when full */
} sm_virtio_blk;

int sm_virtio_blk_init(sm_virtio_blk *b, const char *path, bool read_only, const char *id,
                       const sm_virtio_env *env, uint64_t base, uint32_t irq);
void sm_virtio_blk_destroy(sm_virtio_blk *b);

#endif
