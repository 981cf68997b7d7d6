/*
 * virtio-blk driven by a hostile driver through its MMIO registers and
 * rings (no VM): requests past the disk's end, sectors whose byte offset
 * wraps, descriptors outside guest RAM, short headers, writes to a
 * read-only disk, chain loops. Each gets an error status (or goes back
 * empty) and the disk file is never read or written outside its size.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_blk.h"
#include "virtio_driver.h"

#define RAM (1u << 20)
#define SECTORS 128ull
#define DISK (SECTORS * 512)
#define HDR_GPA VD_DATA
#define DATA_GPA (VD_DATA + 0x1000)
#define STATUS_GPA (VD_DATA + 0x100)
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define UNTOUCHED 0xee
#define W SM_VRING_DESC_F_WRITE
#define N SM_VRING_DESC_F_NEXT

typedef struct rig {
    sm_gmem mem;
    sm_virtio_blk blk;
    vdrv d;
    char path[64];
    uint8_t disk[DISK];         /* what the file must still hold */
} rig;

static int open_rig(void **state, bool read_only)
{
    rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    snprintf(r->path, sizeof r->path, "/tmp/sm-blk-test-XXXXXX");
    int fd = mkstemp(r->path);
    assert_true(fd >= 0);
    for (size_t i = 0; i < DISK; i++)
        r->disk[i] = (uint8_t)(i * 7 + i / 512);
    assert_int_equal(write(fd, r->disk, DISK), (ssize_t)DISK);
    close(fd);
    assert_int_equal(sm_gmem_init(&r->mem, RAM), 0);
    sm_virtio_env env = {.mem = &r->mem};
    assert_int_equal(sm_virtio_blk_init(&r->blk, r->path, read_only, "disk-id", &env,
                                         0xd0000000, 5), 0);
    r->d = (vdrv){.dev = &r->blk.dev, .mem = &r->mem};
    assert_true(vd_bring_up(&r->d, 0, 1) & SM_VIRTIO_STATUS_DRIVER_OK);
    *state = r;
    return 0;
}

static int setup(void **state) { return open_rig(state, false); }
static int setup_ro(void **state) { return open_rig(state, true); }

/* The file holds exactly what it held, or what the test wrote, and no
 * more: no write landed past the end. */
static void disk_is(rig *r, const uint8_t *want)
{
    struct stat st;
    assert_int_equal(stat(r->path, &st), 0);
    assert_int_equal(st.st_size, (off_t)DISK);
    uint8_t *got = malloc(DISK);
    int fd = open(r->path, O_RDONLY);
    assert_int_equal(read(fd, got, DISK), (ssize_t)DISK);
    close(fd);
    assert_memory_equal(got, want, DISK);
    free(got);
}

static int teardown(void **state)
{
    rig *r = *state;
    disk_is(r, r->disk);
    sm_virtio_blk_destroy(&r->blk);
    sm_gmem_free(&r->mem);
    unlink(r->path);
    free(r);
    return 0;
}

static void put_header(rig *r, uint32_t type, uint64_t sector)
{
    uint8_t *h = vd_ptr(&r->d, HDR_GPA, 16);
    memset(h, 0, 16);
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    *(uint8_t *)vd_ptr(&r->d, STATUS_GPA, 1) = UNTOUCHED;
}

/* Offer chain `head` and serve it: the used length, or -1 if it was not
 * given back. */
static int64_t serve(rig *r, uint16_t head)
{
    uint16_t before = vd_used_idx(&r->d, 0);
    vd_offer(&r->d, 0, head);
    vd_notify(&r->d, 0);
    if (vd_used_idx(&r->d, 0) != (uint16_t)(before + 1))
        return -1;
    uint32_t id, len;
    vd_used_elem(&r->d, 0, before, &id, &len);
    assert_int_equal(id, head);
    return len;
}

static uint8_t status(rig *r)
{
    return *(uint8_t *)vd_ptr(&r->d, STATUS_GPA, 1);
}

/* header, data (len bytes at DATA_GPA), status: the usual three. */
static int64_t request(rig *r, uint32_t type, uint64_t sector, uint32_t len)
{
    put_header(r, type, sector);
    uint16_t data_flags = (type == T_IN || type == T_GET_ID ? W : 0) | N;
    vd_desc(&r->d, 0, 0, HDR_GPA, 16, N, 1);
    vd_desc(&r->d, 0, 1, DATA_GPA, len, data_flags, 2);
    vd_desc(&r->d, 0, 2, STATUS_GPA, 1, W, 0);
    return serve(r, 0);
}

static void reads_and_writes_inside_the_disk(void **state)
{
    rig *r = *state;
    memset(vd_ptr(&r->d, DATA_GPA, 1024), 0, 1024);
    assert_int_equal(request(r, T_IN, SECTORS - 2, 1024), 1025);
    assert_int_equal(status(r), S_OK);
    assert_memory_equal(vd_ptr(&r->d, DATA_GPA, 1024), r->disk + DISK - 1024, 1024);
    memset(vd_ptr(&r->d, DATA_GPA, 512), 0x5a, 512);
    assert_int_equal(request(r, T_OUT, SECTORS - 1, 512), 1);
    assert_int_equal(status(r), S_OK);
    memset(r->disk + DISK - 512, 0x5a, 512);
    disk_is(r, r->disk);
    assert_int_equal(request(r, T_FLUSH, 0, 16), 1);
    assert_int_equal(status(r), S_OK);
    memset(vd_ptr(&r->d, DATA_GPA, 20), 0, 20);
    assert_int_equal(request(r, T_GET_ID, 0, 20), 21);
    assert_string_equal(vd_ptr(&r->d, DATA_GPA, 8), "disk-id");
}

static void past_the_end_fails(void **state)
{
    rig *r = *state;
    memset(vd_ptr(&r->d, DATA_GPA, 4096), 0x77, 4096);
    assert_int_equal(request(r, T_IN, SECTORS, 512), 1);
    assert_int_equal(status(r), S_IOERR);
    assert_int_equal(request(r, T_IN, SECTORS - 1, 1024), 1);   /* straddles the end */
    assert_int_equal(status(r), S_IOERR);
    assert_int_equal(request(r, T_OUT, SECTORS - 1, 1024), 1);
    assert_int_equal(status(r), S_IOERR);
    assert_int_equal(request(r, T_OUT, SECTORS, 512), 1);
    assert_int_equal(status(r), S_IOERR);
    assert_int_equal(request(r, T_OUT, 0, 511), 1);              /* not whole sectors */
    assert_int_equal(status(r), S_IOERR);
    /* Nothing was read into the buffer either. */
    assert_int_equal(*(uint8_t *)vd_ptr(&r->d, DATA_GPA, 1), 0x77);
}

/* sector * 512 wraps to a small offset: it must not land there. */
static void sector_overflow_fails(void **state)
{
    rig *r = *state;
    uint64_t wraps[] = {UINT64_MAX / 512 + 1, (UINT64_MAX / 512 + 1) * 2, UINT64_MAX,
                        1ull << 63, UINT64_MAX - SECTORS};
    memset(vd_ptr(&r->d, DATA_GPA, 512), 0x33, 512);
    for (size_t i = 0; i < sizeof wraps / sizeof wraps[0]; i++) {
        assert_int_equal(request(r, T_OUT, wraps[i], 512), 1);
        assert_int_equal(status(r), S_IOERR);
        assert_int_equal(request(r, T_IN, wraps[i], 512), 1);
        assert_int_equal(status(r), S_IOERR);
    }
    assert_int_equal(*(uint8_t *)vd_ptr(&r->d, DATA_GPA, 1), 0x33);
}

/* A buffer outside RAM (past its end, wrapping the address space) makes
 * the chain malformed: it goes back empty, the status byte untouched. */
static void descriptors_outside_ram_are_refused(void **state)
{
    rig *r = *state;
    uint64_t addrs[] = {RAM - 8, RAM, 1ull << 40, UINT64_MAX - 10, UINT64_MAX};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        put_header(r, T_OUT, 0);
        vd_desc(&r->d, 0, 0, HDR_GPA, 16, N, 1);
        vd_desc(&r->d, 0, 1, addrs[i], 512, N, 2);
        vd_desc(&r->d, 0, 2, STATUS_GPA, 1, W, 0);
        assert_int_equal(serve(r, 0), 0);
        assert_int_equal(status(r), UNTOUCHED);
        put_header(r, T_IN, 0);
        vd_desc(&r->d, 0, 1, addrs[i], 512, W | N, 2);
        assert_int_equal(serve(r, 0), 0);
        assert_int_equal(status(r), UNTOUCHED);
        /* The header or the status byte outside RAM. */
        vd_desc(&r->d, 0, 0, addrs[i], 16, N, 1);
        vd_desc(&r->d, 0, 1, DATA_GPA, 512, W | N, 2);
        assert_int_equal(serve(r, 0), 0);
        vd_desc(&r->d, 0, 0, HDR_GPA, 16, N, 1);
        vd_desc(&r->d, 0, 2, addrs[i] < RAM ? RAM : addrs[i], 1, W, 0);
        assert_int_equal(serve(r, 0), 0);
    }
    /* And the queue still works. */
    assert_int_equal(request(r, T_IN, 0, 512), 513);
    assert_int_equal(status(r), S_OK);
}

static void short_or_missing_headers_fail(void **state)
{
    rig *r = *state;
    /* An 8-byte header. */
    put_header(r, T_OUT, 0);
    vd_desc(&r->d, 0, 0, HDR_GPA, 8, N, 1);
    vd_desc(&r->d, 0, 1, STATUS_GPA, 1, W, 0);
    assert_int_equal(serve(r, 0), 1);
    assert_int_equal(status(r), S_IOERR);
    /* No header at all: only the status byte. */
    put_header(r, T_IN, 0);
    vd_desc(&r->d, 0, 0, STATUS_GPA, 1, W, 0);
    assert_int_equal(serve(r, 0), 1);
    assert_int_equal(status(r), S_IOERR);
    /* A zero-length descriptor is malformed. */
    put_header(r, T_IN, 0);
    vd_desc(&r->d, 0, 0, HDR_GPA, 0, N, 1);
    vd_desc(&r->d, 0, 1, STATUS_GPA, 1, W, 0);
    assert_int_equal(serve(r, 0), 0);
    assert_int_equal(status(r), UNTOUCHED);
    /* No writable byte for a status: given back with nothing written. */
    put_header(r, T_OUT, 0);
    vd_desc(&r->d, 0, 0, HDR_GPA, 16, N, 1);
    vd_desc(&r->d, 0, 1, DATA_GPA, 512, 0, 0);
    assert_int_equal(serve(r, 0), 0);
    /* A GET_ID with less room than an id. */
    assert_int_equal(request(r, T_GET_ID, 0, 4), 1);
    assert_int_equal(status(r), S_IOERR);
    /* A type nobody knows. */
    assert_int_equal(request(r, 0x7777, 0, 512), 1);
    assert_int_equal(status(r), S_UNSUPP);
}

static void read_only_disk_refuses_writes(void **state)
{
    rig *r = *state;
    vd_wr(&r->d, VD_DEV_FEATURES_SEL, 0);
    assert_true(vd_rd(&r->d, VD_DEV_FEATURES) & (1u << 5)); /* VIRTIO_BLK_F_RO */
    memset(vd_ptr(&r->d, DATA_GPA, 512), 0x11, 512);
    assert_int_equal(request(r, T_OUT, 0, 512), 1);
    assert_int_equal(status(r), S_IOERR);
    assert_int_equal(request(r, T_IN, 1, 512), 513);
    assert_int_equal(status(r), S_OK);
    assert_memory_equal(vd_ptr(&r->d, DATA_GPA, 512), r->disk + 512, 512);
}

/* 0 -> 1 -> 0 -> ...: refused after a bounded walk, the queue goes on. */
static void a_chain_loop_is_refused(void **state)
{
    rig *r = *state;
    put_header(r, T_IN, 0);
    vd_desc(&r->d, 0, 0, HDR_GPA, 16, N, 1);
    vd_desc(&r->d, 0, 1, DATA_GPA, 512, W | N, 0);
    assert_int_equal(serve(r, 0), 0);
    assert_int_equal(status(r), UNTOUCHED);
    vd_desc(&r->d, 0, 0, HDR_GPA, 16, N, 0);     /* itself */
    assert_int_equal(serve(r, 0), 0);
    vd_desc(&r->d, 0, 0, HDR_GPA, 16, N, VD_QSIZE); /* next past the table */
    assert_int_equal(serve(r, 0), 0);
    assert_int_equal(request(r, T_IN, 0, 512), 513);
}

/* A head index past the table, an available index that runs ahead of the
 * ring: the ring is corrupt, the device asks for a reset and stops. */
static void a_corrupt_ring_stops_the_queue(void **state)
{
    rig *r = *state;
    put_header(r, T_IN, 0);
    assert_int_equal(serve(r, VD_QSIZE + 3), -1);
    assert_true(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(status(r), UNTOUCHED);
    assert_true(vd_bring_up(&r->d, 0, 1) & SM_VIRTIO_STATUS_DRIVER_OK);
    vd_set_avail_idx(&r->d, 0, VD_QSIZE + 1);
    vd_notify(&r->d, 0);
    assert_int_equal(vd_used_idx(&r->d, 0), 0);
    assert_true(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_NEEDS_RESET);
    assert_true(vd_bring_up(&r->d, 0, 1) & SM_VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(request(r, T_IN, 0, 512), 513);
}

/* Queue sizes and ring addresses a driver may not give: the queue does
 * not become ready, and the device says it needs a reset. */
static void absurd_queue_layouts_are_refused(void **state)
{
    rig *r = *state;
    struct { uint32_t num; uint64_t desc, avail, used; } bad[] = {
        {1024, 0x1000, 0x2000, 0x3000},                 /* over QUEUE_NUM_MAX */
        {0xffffffff, 0x1000, 0x2000, 0x3000},
        {3, 0x1000, 0x2000, 0x3000},                    /* not a power of two */
        {0, 0x1000, 0x2000, 0x3000},
        {16, RAM - 64, 0x2000, 0x3000},                 /* table past RAM */
        {16, 0x1000, RAM - 2, 0x3000},
        {16, 0x1000, 0x2000, RAM - 8},
        {16, 0x1000ull | (1ull << 32), 0x2000, 0x3000}, /* high half set */
        {16, UINT64_MAX - 15, 0x2000, 0x3000},          /* wraps */
        {16, 0x1008, 0x2000, 0x3000},                   /* misaligned */
        {16, 0x1000, 0x2001, 0x3000},
        {16, 0x1000, 0x2000, 0x3002},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vd_wr(&r->d, VD_STATUS, 0);
        vd_wr(&r->d, VD_STATUS, SM_VIRTIO_STATUS_ACKNOWLEDGE | SM_VIRTIO_STATUS_DRIVER);
        vd_wr(&r->d, VD_QUEUE_SEL, 0);
        vd_wr(&r->d, VD_QUEUE_NUM, bad[i].num);
        vd_wr(&r->d, VD_DESC_LO, (uint32_t)bad[i].desc);
        vd_wr(&r->d, VD_DESC_HI, (uint32_t)(bad[i].desc >> 32));
        vd_wr(&r->d, VD_DRIVER_LO, (uint32_t)bad[i].avail);
        vd_wr(&r->d, VD_DRIVER_HI, (uint32_t)(bad[i].avail >> 32));
        vd_wr(&r->d, VD_DEVICE_LO, (uint32_t)bad[i].used);
        vd_wr(&r->d, VD_DEVICE_HI, (uint32_t)(bad[i].used >> 32));
        vd_wr(&r->d, VD_QUEUE_READY, 1);
        assert_int_equal(vd_rd(&r->d, VD_QUEUE_READY), 0);
        assert_true(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_NEEDS_RESET);
        vd_notify(&r->d, 0);
    }
    assert_true(vd_bring_up(&r->d, 0, 1) & SM_VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(request(r, T_IN, 0, 512), 513);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_and_writes_inside_the_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(past_the_end_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(sector_overflow_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(descriptors_outside_ram_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(short_or_missing_headers_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(read_only_disk_refuses_writes, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(a_chain_loop_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_ring_stops_the_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(absurd_queue_layouts_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
