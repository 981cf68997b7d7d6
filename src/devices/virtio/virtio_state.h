/* A virtio-mmio device's state as a snapshot section payload: transport
 * registers, negotiated features, every queue's placement and indexes and
 * the config space (docs/snapshot.md, "Device sections"). */
#ifndef SM_DEVICES_VIRTIO_VIRTIO_STATE_H
#define SM_DEVICES_VIRTIO_VIRTIO_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/virtio_mmio.h"

/* Both run with the device's lock held and the guest paused. The payload
 * from save is the caller's to free(). */
int sm_virtio_state_save(sm_virtio_device *d, uint8_t **out, size_t *len);

/* Into a device created exactly as the saved one was (same kind, window,
 * interrupt line and config space: a different disk or MAC is refused).
 * Everything in the payload is as untrusted as the guest. */
int sm_virtio_state_restore(sm_virtio_device *d, const uint8_t *p, size_t len);

/* After the whole machine is restored: raise a pending interrupt again and
 * serve requests the guest queued before the snapshot (lock not held). */
void sm_virtio_state_resume(sm_virtio_device *d);

#endif
