/* The virtio-mmio devices of one machine: where each sits (MMIO window,
 * interrupt line) and the kernel command-line words that declare them.
 * Which devices a machine has is one table in virtio_set.c; each device
 * keeps its config in sm_machine_config and its state in its own file. */
#ifndef SM_VMM_VIRTIO_SET_H
#define SM_VMM_VIRTIO_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/mmio_bus.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtio_vsock.h"
#include "vmm/machine.h"

/* Windows from 0xd0000000 up, in the 32-bit hole; lines from 5 up (0-4
 * are the PIT, keyboard, cascade and the two UARTs). */
#define SM_VIRTIO_MMIO_BASE 0xd0000000ull
#define SM_VIRTIO_FIRST_IRQ 5
#define SM_VIRTIO_MAX_DEVICES 19

/* One placed device: its transport, and its own object to destroy. */
typedef struct sm_virtio_slot {
    sm_virtio_device *dev;
    void *obj;
    void (*destroy)(void *obj);
} sm_virtio_slot;

typedef struct sm_virtio_set {
    sm_virtio_slot slots[SM_VIRTIO_MAX_DEVICES];   /* in window order */
    unsigned count;
    sm_virtio_vsock *vsock;    /* NULL: none (a restore resets its transport) */
    unsigned nshares;          /* 9P devices (a snapshot refuses them) */
    bool tap;                  /* a NIC on a namespace's tap (a snapshot refuses it) */
} sm_virtio_set;

/* Create the devices cfg asks for (disks first, so the first is vda),
 * register them on `bus` and append their declarations to `cmdline`. */
int sm_virtio_set_create(sm_virtio_set *s, const sm_machine_config *cfg,
                         const sm_virtio_env *env, sm_mmio_bus *bus, char *cmdline,
                         size_t cmdline_len);
void sm_virtio_set_destroy(sm_virtio_set *s);

/* The devices in slot order (the order the guest found them, and their
 * snapshot sections' indices); returns how many. */
unsigned sm_virtio_set_list(sm_virtio_set *s, sm_virtio_device **out);

#endif
