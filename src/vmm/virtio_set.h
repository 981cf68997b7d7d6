/* The virtio-mmio devices of one machine: where each sits (MMIO window,
 * interrupt line) and the kernel command-line words that declare them. */
#ifndef SM_VMM_VIRTIO_SET_H
#define SM_VMM_VIRTIO_SET_H

#include <stddef.h>

#include "devices/mmio_bus.h"
#include "devices/virtio/virtio_9p.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_vsock.h"
#include "vmm/machine.h"

/* Windows from 0xd0000000 up, in the 32-bit hole; lines from 5 up (0-4
 * are the PIT, keyboard, cascade and the two UARTs). */
#define SM_VIRTIO_MMIO_BASE 0xd0000000ull
#define SM_VIRTIO_FIRST_IRQ 5
#define SM_VIRTIO_MAX_DEVICES 19

typedef struct sm_virtio_set {
    unsigned ndisks;
    sm_virtio_blk disks[SM_MACHINE_MAX_DISKS];
    sm_virtio_device rng;
    int has_rng;
    sm_virtio_vsock vsock;
    int has_vsock;
    unsigned nshares;
    sm_virtio_9p shares[SM_MACHINE_MAX_SHARES];
    sm_virtio_net net;
    sm_net_slirp *slirp;
    int has_net;
    unsigned count;           /* devices placed so far */
} sm_virtio_set;

/* Create the devices cfg asks for (disks first, so the first is vda),
 * register them on `bus` and append their declarations to `cmdline`. */
int sm_virtio_set_create(sm_virtio_set *s, const sm_machine_config *cfg,
                         const sm_virtio_env *env, sm_mmio_bus *bus, char *cmdline,
                         size_t cmdline_len);
void sm_virtio_set_destroy(sm_virtio_set *s);

/* The devices in slot order (the order the guest found them); returns
 * how many (at most SM_VIRTIO_MAX_DEVICES). */
unsigned sm_virtio_set_list(sm_virtio_set *s, sm_virtio_device **out);

#endif
