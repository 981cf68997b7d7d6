/*
 * libFuzzer harness for a snapshot's state file: the input's first byte,
 * when odd, has the rest's length and checksum fields set right (else the
 * checksum stops nearly everything); the rest is the file. A file that
 * reads is then restored as restore does it: each serial port section
 * into a UART, whose registers are read after (its FIFO indexes come from
 * the file), and each device section into the rig's device of that slot
 * (0 rng, 1 blk, 2 vsock), which then serves the rings it was told of.
 * What restores must save to the same bytes (a UART's interrupt level
 * aside, which restore works out again).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial_8250.h"
#include "devices/virtio/virtio_state.h"
#include "persist/state_file.h"
#include "persist/state_layout.h"
#include "util/le.h"
#include "virtio_rig.h"

static rig r;
static rig_devices set;
static bool ready;

static void setup(void)
{
    sm_event_loop *loop;
    rig_init(&r);
    if (sm_event_loop_new(&loop) != 0)
        abort();
    rig_devices_init(&r, &set, loop);
    ready = true;
}

static void serial(const sm_snap_section *s)
{
    sm_serial u;
    uint8_t again[SM_SERIAL_STATE_LEN];
    sm_serial_init(&u, &(sm_serial_ops){0}, NULL);
    if (sm_serial_restore(&u, s->data, s->len) == 0) {
        sm_serial_save(&u, again);
        /* All but the interrupt line's level, which restore works out anew. */
        if (s->len != sizeof again || memcmp(again, s->data, 7) ||
            memcmp(again + 8, s->data + 8, sizeof again - 8))
            abort();
        for (uint16_t reg = 0; reg < 8; reg++)
            sm_serial_read(&u, reg);
        for (int i = 0; i < SM_SERIAL_FIFO + 1; i++)
            sm_serial_read(&u, 0);
    }
    sm_serial_destroy(&u);
}

static void device(const sm_snap_section *s)
{
    sm_virtio_device *d = rig_device(&set, s->index);
    rig_use(&r, d);
    vd_wr(&r.drv, VD_STATUS, 0);
    pthread_mutex_lock(&d->lock);
    int err = sm_virtio_state_restore(d, s->data, s->len);
    pthread_mutex_unlock(&d->lock);
    if (err)
        return;
    uint8_t *again;
    size_t len;
    if (sm_virtio_state_save(d, &again, &len) != 0)
        abort();
    for (size_t i = 0; i < len || i < s->len; i++)
        if (i >= len || i >= s->len || again[i] != s->data[i]) {
            fprintf(stderr, "%s restored, saves otherwise from byte %zu on\n", d->ops->name, i);
            abort();
        }
    free(again);
    sm_virtio_state_resume(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 1)
        return 0;
    size_t len = size - 1;
    uint8_t *blob = malloc(len ? len : 1);
    if (!blob)
        return 0;
    memcpy(blob, data + 1, len);
    if ((data[0] & 1) && len >= SM_SNAP_HEADER_SIZE) {
        sm_le64_put(blob + SM_SNAP_OFF_TOTAL_LEN, len);
        sm_snap_state_digest(blob, len, blob + SM_SNAP_OFF_DIGEST);
    }
    memset(r.mem.base, 0, 64 * 1024);
    sm_snap_reader *rd;
    if (sm_snap_reader_open_mem(blob, len, &rd) == 0) {
        for (size_t i = 0; i < sm_snap_reader_count(rd); i++) {
            const sm_snap_section *s = sm_snap_reader_at(rd, i), *found;
            if (sm_snap_reader_need(rd, s->type, s->index, &found) != 0 || found != s)
                abort();
            if (s->type == SM_SNAP_SERIAL)
                serial(s);
            else if (s->type == SM_SNAP_DEVICE && s->index < RIG_KINDS)
                device(s);
        }
        sm_snap_reader_close(rd);
    }
    free(blob);
    return 0;
}
