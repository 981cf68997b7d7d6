/*
 * libFuzzer harness for the virtio-mmio register file: the first byte
 * picks a device (rng, blk or vsock), the second how many register
 * accesses follow, each 8 bytes (offset in the 4 KiB window: 2, width and
 * direction: 1, value: 4, 1 unused); the rest is guest RAM, where rings
 * the registers place are read. Then the device's state is saved,
 * restored into a twin built the same way and saved again: a state a
 * guest can reach must restore, and to the same bytes. ASan catches any
 * access outside the window, the config space or RAM.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_state.h"
#include "supermachine.h"
#include "virtio_rig.h"

static rig r;
static rig_devices sets[2];

static void setup(void)
{
    sm_event_loop *loop;
    rig_init(&r);
    if (sm_event_loop_new(&loop) != 0)
        abort();
    rig_devices_init(&r, &sets[0], loop);
    rig_devices_init(&r, &sets[1], loop);
}

static void access_once(sm_virtio_device *d, const uint8_t *a)
{
    static const uint32_t widths[4] = {1, 2, 4, 8};
    uint64_t off = (uint64_t)(a[0] | a[1] << 8) % SM_VIRTIO_MMIO_SIZE;
    uint8_t buf[8] = {0};
    uint32_t len = widths[a[2] & 3];
    bool write = a[2] & 4;
    memcpy(buf, a + 3, 4);
    if (off + len > SM_VIRTIO_MMIO_SIZE)
        return; /* the bus never hands a device an access past its window */
    sm_virtio_mmio_access(d, off, buf, len, write);
}

/* A state the guest can reach restores into a twin, and saves the same. */
static void round_trip(sm_virtio_device *a, sm_virtio_device *b)
{
    uint8_t *s1, *s2;
    size_t n1, n2;
    if (sm_virtio_state_save(a, &s1, &n1) != 0)
        abort();
    if (sm_virtio_state_restore(b, s1, n1) != 0) {
        fprintf(stderr, "restore failed: %s\n", sm_last_error());
        abort();
    }
    if (sm_virtio_state_save(b, &s2, &n2) != 0 || n1 != n2 || memcmp(s1, s2, n1))
        abort();
    sm_virtio_state_resume(b);
    free(s1);
    free(s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!r.mem.base)
        setup();
    if (size < 2)
        return 0;
    unsigned n = data[1];
    sm_virtio_device *d = rig_device(&sets[0], data[0]), *twin = rig_device(&sets[1], data[0]);
    data += 2, size -= 2;
    memset(r.mem.base, 0, 64 * 1024);
    rig_use(&r, twin);
    vd_wr(&r.drv, VD_STATUS, 0);
    rig_use(&r, d);
    vd_wr(&r.drv, VD_STATUS, 0);
    size_t accesses = (size_t)n * 8 < size ? (size_t)n * 8 : size - size % 8;
    memcpy(r.mem.base, data + accesses, size - accesses < 64 * 1024 ? size - accesses : 64 * 1024);
    for (size_t i = 0; i < accesses; i += 8)
        access_once(d, data + i);
    round_trip(d, twin);
    return 0;
}
