/*
 * The virtio-mmio register file against a hostile driver (no VM): offsets
 * outside the registers and the config space, accesses of the wrong width
 * or alignment, writes in states where they do not belong. None may
 * change the device, read anything but zeros where nothing is, or make it
 * serve a queue it should not. The device under the transport is a
 * virtio-blk (it has a config space) over a scratch file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_blk.h"
#include "virtio_driver.h"

#define RAM (1u << 20)
#define SECTORS 8
#define BLK_F_RO (1u << 5)
#define ACK_DRIVER (SM_VIRTIO_STATUS_ACKNOWLEDGE | SM_VIRTIO_STATUS_DRIVER)

typedef struct rig {
    sm_gmem mem;
    sm_virtio_blk blk;
    vdrv d;
    char path[64];
} rig;

static int setup(void **state)
{
    rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    snprintf(r->path, sizeof r->path, "/tmp/sm-mmio-test-XXXXXX");
    int fd = mkstemp(r->path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, SECTORS * 512), 0);
    close(fd);
    assert_int_equal(sm_gmem_init(&r->mem, RAM), 0);
    sm_virtio_env env = {.mem = &r->mem};
    assert_int_equal(sm_virtio_blk_init(&r->blk, r->path, false, "id", &env, 0xd0000000, 5),
                     0);
    r->d = (vdrv){.dev = &r->blk.dev, .mem = &r->mem};
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    rig *r = *state;
    sm_virtio_blk_destroy(&r->blk);
    sm_gmem_free(&r->mem);
    unlink(r->path);
    free(r);
    return 0;
}

static uint64_t access_n(rig *r, uint64_t off, uint32_t len, bool write, uint64_t v)
{
    uint8_t buf[8];
    memcpy(buf, &v, 8);
    sm_virtio_mmio_access(&r->blk.dev, off, buf, len, write);
    uint64_t out = 0;
    memcpy(&out, buf, len);
    return out;
}

static void identifies_itself(void **state)
{
    rig *r = *state;
    assert_int_equal(vd_rd(&r->d, VD_MAGIC), 0x74726976);
    assert_int_equal(vd_rd(&r->d, VD_VERSION), 2);
    assert_int_equal(vd_rd(&r->d, VD_DEVICE_ID), 2);
}

/* Registers are 32-bit and aligned: other widths read zeros and change
 * nothing. */
static void wrong_widths_and_alignment_do_nothing(void **state)
{
    rig *r = *state;
    for (uint32_t len = 1; len <= 8; len *= 2) {
        if (len == 4)
            continue;
        assert_int_equal(access_n(r, VD_MAGIC, len, false, ~0ull), 0);
        access_n(r, VD_STATUS, len, true, ACK_DRIVER);
        assert_int_equal(vd_rd(&r->d, VD_STATUS), 0);
    }
    assert_int_equal(access_n(r, VD_MAGIC + 1, 4, false, ~0ull), 0);
    access_n(r, VD_STATUS + 2, 4, true, ~0ull);
    access_n(r, VD_STATUS + 1, 4, true, ~0ull);
    assert_int_equal(vd_rd(&r->d, VD_STATUS), 0);
}

/* Holes in the register file and offsets past the config space read
 * zeros; writes there change nothing. */
static void offsets_outside_registers_and_config(void **state)
{
    rig *r = *state;
    uint64_t holes[] = {0x018, 0x028, 0x03c, 0x040, 0x048, 0x054, 0x068, 0x074,
                        0x0a8, 0x0b0, 0x0c0, 0x0f8};
    for (size_t i = 0; i < sizeof holes / sizeof holes[0]; i++) {
        vd_wr(&r->d, holes[i], 0xffffffff);
        assert_int_equal(vd_rd(&r->d, holes[i]), 0);
    }
    assert_int_equal(vd_rd(&r->d, VD_STATUS), 0);
    /* blk's config is 16 bytes: capacity, size_max, seg_max. */
    assert_int_equal(access_n(r, VD_CONFIG, 8, false, ~0ull), SECTORS);
    assert_int_equal(access_n(r, VD_CONFIG + 12, 4, false, ~0ull), 62);
    assert_int_equal(access_n(r, VD_CONFIG + 12, 8, false, ~0ull), 0);  /* straddles */
    assert_int_equal(access_n(r, VD_CONFIG + 15, 2, false, ~0ull), 0);
    assert_int_equal(access_n(r, VD_CONFIG + 16, 1, false, ~0ull), 0);
    assert_int_equal(access_n(r, 0xff8, 8, false, ~0ull), 0);
    assert_int_equal(access_n(r, 0x1000, 4, false, ~0ull), 0);
    assert_int_equal(access_n(r, UINT64_MAX - 3, 4, false, ~0ull), 0);
    assert_int_equal(access_n(r, UINT64_MAX, 8, false, ~0ull), 0);
    /* A read-only config ignores writes. */
    access_n(r, VD_CONFIG, 8, true, 12345);
    assert_int_equal(access_n(r, VD_CONFIG, 8, false, 0), SECTORS);
}

/* Features: only a subset of what is offered, with VERSION_1, and not
 * after FEATURES_OK. */
static void feature_negotiation_holds(void **state)
{
    rig *r = *state;
    vd_wr(&r->d, VD_DEV_FEATURES_SEL, 7);
    assert_int_equal(vd_rd(&r->d, VD_DEV_FEATURES), 0);
    vd_wr(&r->d, VD_STATUS, ACK_DRIVER);
    vd_wr(&r->d, VD_DRV_FEATURES_SEL, 0);
    vd_wr(&r->d, VD_DRV_FEATURES, BLK_F_RO);   /* not offered for a writable disk */
    vd_wr(&r->d, VD_DRV_FEATURES_SEL, 1);
    vd_wr(&r->d, VD_DRV_FEATURES, 1);
    vd_wr(&r->d, VD_STATUS, ACK_DRIVER | SM_VIRTIO_STATUS_FEATURES_OK);
    assert_false(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_FEATURES_OK);
    vd_wr(&r->d, VD_DRV_FEATURES_SEL, 0);
    vd_wr(&r->d, VD_DRV_FEATURES, 0);
    vd_wr(&r->d, VD_DRV_FEATURES_SEL, 1);
    vd_wr(&r->d, VD_DRV_FEATURES, 0);          /* legacy: no VERSION_1 */
    vd_wr(&r->d, VD_STATUS, ACK_DRIVER | SM_VIRTIO_STATUS_FEATURES_OK);
    assert_false(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_FEATURES_OK);
    vd_wr(&r->d, VD_DRV_FEATURES, 1);
    vd_wr(&r->d, VD_DRV_FEATURES_SEL, 5);      /* no such half */
    vd_wr(&r->d, VD_DRV_FEATURES, 0xffffffff);
    vd_wr(&r->d, VD_STATUS, ACK_DRIVER | SM_VIRTIO_STATUS_FEATURES_OK);
    assert_true(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(r->blk.dev.driver_features, 1ull << 32);
    /* Too late to change them now. */
    vd_wr(&r->d, VD_DRV_FEATURES_SEL, 0);
    vd_wr(&r->d, VD_DRV_FEATURES, 0xffffffff);
    assert_int_equal(r->blk.dev.driver_features, 1ull << 32);
}

/* A flush request at chain 0, offered: whether the device served it. */
static bool served(rig *r)
{
    uint64_t hdr = VD_DATA, st = VD_DATA + 0x100;
    uint32_t type = 4; /* FLUSH */
    memset(vd_ptr(&r->d, hdr, 16), 0, 16);
    memcpy(vd_ptr(&r->d, hdr, 4), &type, 4);
    vd_desc(&r->d, 0, 0, hdr, 16, SM_VRING_DESC_F_NEXT, 1);
    vd_desc(&r->d, 0, 1, st, 1, SM_VRING_DESC_F_WRITE, 0);
    uint16_t before = vd_used_idx(&r->d, 0);
    vd_offer(&r->d, 0, 0);
    vd_notify(&r->d, 0);
    return vd_used_idx(&r->d, 0) != before;
}

/* No DRIVER_OK without FEATURES_OK, and nothing is served before
 * DRIVER_OK; bits a driver clears without a reset stay set. */
static void status_follows_the_protocol(void **state)
{
    rig *r = *state;
    vd_wr(&r->d, VD_STATUS, ACK_DRIVER);
    assert_int_equal(vd_setup_queue(&r->d, 0), 1);
    assert_false(served(r));                   /* not DRIVER_OK yet */
    vd_wr(&r->d, VD_STATUS, ACK_DRIVER | SM_VIRTIO_STATUS_DRIVER_OK);
    assert_false(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_DRIVER_OK);
    assert_false(served(r));
    assert_true(vd_bring_up(&r->d, 0, 1) & SM_VIRTIO_STATUS_DRIVER_OK);
    assert_true(served(r));
    vd_wr(&r->d, VD_STATUS, SM_VIRTIO_STATUS_ACKNOWLEDGE);
    assert_true(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_DRIVER_OK);
    vd_wr(&r->d, VD_STATUS, 0);                /* a reset clears them all */
    assert_int_equal(vd_rd(&r->d, VD_STATUS), 0);
    assert_int_equal(vd_rd(&r->d, VD_QUEUE_READY), 0);
}

/* A live queue's layout cannot change; queues that do not exist read as
 * absent and take no writes; notifications for them do nothing. */
static void queue_registers_in_wrong_states(void **state)
{
    rig *r = *state;
    assert_true(vd_bring_up(&r->d, 0, 1) & SM_VIRTIO_STATUS_DRIVER_OK);
    vd_wr(&r->d, VD_QUEUE_SEL, 0);
    vd_wr(&r->d, VD_QUEUE_NUM, 2);
    vd_wr(&r->d, VD_DESC_LO, RAM - 16);
    vd_wr(&r->d, VD_DEVICE_HI, 1);
    assert_int_equal(r->blk.dev.queues[0].size, VD_QSIZE);
    assert_int_equal(r->blk.dev.queues[0].desc_gpa, vd_ring(0));
    assert_int_equal(r->blk.dev.queues[0].used_gpa, vd_ring(0) + 0x2000);
    assert_true(served(r));
    for (uint32_t sel = 1; sel < 8; sel++) {
        vd_wr(&r->d, VD_QUEUE_SEL, sel);
        assert_int_equal(vd_rd(&r->d, VD_QUEUE_NUM_MAX), 0);
        vd_wr(&r->d, VD_QUEUE_NUM, 16);
        vd_wr(&r->d, VD_QUEUE_READY, 1);
        assert_int_equal(vd_rd(&r->d, VD_QUEUE_READY), 0);
        vd_notify(&r->d, sel);
    }
    vd_wr(&r->d, VD_QUEUE_SEL, 0xffffffff);
    assert_int_equal(vd_rd(&r->d, VD_QUEUE_READY), 0);
    vd_notify(&r->d, 0xffffffff);
    assert_false(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_NEEDS_RESET);
    /* Turned off, the queue takes a new layout, checked again. */
    vd_wr(&r->d, VD_QUEUE_SEL, 0);
    vd_wr(&r->d, VD_QUEUE_READY, 0);
    vd_wr(&r->d, VD_QUEUE_NUM, 512);
    vd_wr(&r->d, VD_QUEUE_READY, 1);
    assert_int_equal(vd_rd(&r->d, VD_QUEUE_READY), 0);
    assert_false(served(r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identifies_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_widths_and_alignment_do_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(offsets_outside_registers_and_config, setup, teardown),
        cmocka_unit_test_setup_teardown(feature_negotiation_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(status_follows_the_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(queue_registers_in_wrong_states, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
