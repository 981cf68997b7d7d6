/*
 * virtio-9p (virtio 1.2 section 5.11): one request queue carrying 9P2000.L
 * messages to a server for one exported host directory or file, and a
 * mount tag in config space by which the guest mounts it
 * (mount -t 9p -o trans=virtio TAG DIR).
 */
#ifndef SM_DEVICES_VIRTIO_VIRTIO_9P_H
#define SM_DEVICES_VIRTIO_VIRTIO_9P_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/p9/p9_server.h"
#include "devices/virtio/virtio_mmio.h"

#define SM_VIRTIO_9P_TAG_MAX 31

/* Each export may hold at most 1/16 of the worker's descriptor limit (and
 * never more than SM_P9_MAX_FDS): eight shares, the most a machine has,
 * take half at worst and leave the rest to disks, vsock streams and the
 * network, so a guest hoarding fids starves only its own 9P. */
#define SM_VIRTIO_9P_FD_SHARE 16

typedef struct sm_virtio_9p {
    sm_virtio_device dev;
    sm_p9_server *server;
    char tag[SM_VIRTIO_9P_TAG_MAX + 1];
    uint16_t tag_len;
    uint8_t *req, *reply;      /* one message each, SM_P9_MAX_MSIZE bytes */
} sm_virtio_9p;

int sm_virtio_9p_init(sm_virtio_9p *p, const char *host_path, const char *tag, bool read_only,
                      const sm_virtio_env *env, uint64_t base, uint32_t irq);
void sm_virtio_9p_destroy(sm_virtio_9p *p);

#endif
