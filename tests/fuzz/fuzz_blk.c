/*
 * libFuzzer harness for virtio-blk: the input is what a guest queues, one
 * request chain after another (virtio_rig.h's records, each after a byte
 * whose bit 0 asks for a notify), against a 64 KiB disk that is writable
 * or not as the first byte's bit 0 says. The disk is zeroed before each
 * input so a read sees the same bytes every time. ASan catches a transfer
 * outside a buffer or the disk; the rig, a completion that claims more
 * than its request could take.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/virtio_blk.h"
#include "virtio_rig.h"

#define DISK (64 * 1024)

static rig r;
static sm_virtio_blk disks[2];    /* read-write, read-only */
static int disk_fd = -1;

static void setup(void)
{
    char path[64];
    rig_init(&r);
    disk_fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
    if (disk_fd < 0 || ftruncate(disk_fd, DISK) < 0)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", disk_fd);
    sm_virtio_env env = {.mem = &r.mem};
    if (sm_virtio_blk_init(&disks[0], path, false, "fuzz-disk", &env, 0xd0000000, 5) ||
        sm_virtio_blk_init(&disks[1], path, true, "01234567890123456789", &env, 0xd0001000, 6))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (disk_fd < 0)
        setup();
    if (ftruncate(disk_fd, 0) < 0 || ftruncate(disk_fd, DISK) < 0)
        abort();
    unsigned which = rig_take(&data, &size, 1) & 1;
    rig_bring_up(&r, &disks[which].dev);
    while (size) {
        bool notify = rig_take(&data, &size, 1) & 1;
        size_t used = rig_chain(&r, 0, data, size);
        data += used, size -= used;
        if (notify)
            rig_notify(&r, 0);
    }
    rig_notify(&r, 0);
    return 0;
}
