/*
 * virtio-9p driven by a hostile guest through its MMIO registers and
 * rings (no VM): a guest that walks fids forever gets EMFILE while the
 * process keeps most of its descriptor limit (RLIMIT_NOFILE), and no
 * reply is ever larger than the buffer the guest gave for it, or than
 * the msize it negotiated.
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
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_9p.h"
#include "p9_client.h"
#include "p9_fixture.h"
#include "virtio_driver.h"

#define RAM (1u << 20)
#define REQ VD_DATA
#define REPLY (VD_DATA + 0x40000)
#define NOFILE 256
#define ROOT 1

typedef struct rig {
    sm_gmem mem;
    sm_virtio_9p p9;
    vdrv d;
    p9_tree t;
    p9c c;
    uint32_t room;          /* the reply buffer the guest offers */
} rig;

/* One request through the ring: msg in a readable buffer, the reply in a
 * writable one of r->room bytes; the reply is what the device wrote. */
static size_t through_the_ring(p9c *c, size_t len)
{
    rig *r = c->ctx;
    memcpy(vd_ptr(&r->d, REQ, len), c->msg, len);
    memset(vd_ptr(&r->d, REPLY, r->room), 0xee, r->room);
    vd_desc(&r->d, 0, 0, REQ, (uint32_t)len, SM_VRING_DESC_F_NEXT, 1);
    vd_desc(&r->d, 0, 1, REPLY, r->room, SM_VRING_DESC_F_WRITE, 0);
    uint16_t at = vd_used_idx(&r->d, 0);
    vd_offer(&r->d, 0, 0);
    vd_notify(&r->d, 0);
    assert_int_equal(vd_used_idx(&r->d, 0), (uint16_t)(at + 1));
    uint32_t id, n;
    vd_used_elem(&r->d, 0, at, &id, &n);
    assert_true(n <= r->room);
    /* Nothing past what the device says it wrote was touched. */
    if (n < r->room)
        assert_int_equal(*(uint8_t *)vd_ptr(&r->d, REPLY + n, 1), 0xee);
    memcpy(c->reply, vd_ptr(&r->d, REPLY, n), n);
    return n;
}

static int setup(void **state)
{
    rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(p9_tree_make(&r->t), 0);
    assert_int_equal(sm_gmem_init(&r->mem, RAM), 0);
    sm_virtio_env env = {.mem = &r->mem};
    assert_int_equal(sm_virtio_9p_init(&r->p9, r->t.share, "share", false, &env, 0xd0000000, 5),
                     0);
    r->d = (vdrv){.dev = &r->p9.dev, .mem = &r->mem};
    assert_true(vd_bring_up(&r->d, 1, 1) & SM_VIRTIO_STATUS_DRIVER_OK);
    r->room = 0x10000;
    r->c.transport = through_the_ring;
    r->c.ctx = r;
    assert_int_equal(p9c_version(&r->c, SM_P9_MAX_MSIZE, "9P2000.L", NULL), 0);
    assert_int_equal(p9c_attach(&r->c, ROOT), 0);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    rig *r = *state;
    sm_virtio_9p_destroy(&r->p9);
    sm_gmem_free(&r->mem);
    p9_tree_remove(&r->t);
    free(r);
    return 0;
}

/* With RLIMIT_NOFILE at 256 (set before the device was made), the export
 * may hold 256/16: the guest's walks end in EMFILE and the process can
 * still open nearly everything else its limit allows. */
static void a_hoarding_guest_leaves_the_worker_its_fds(void **state)
{
    rig *r = *state;
    unsigned before = p9_open_fds();
    uint32_t id = 100;
    int e = 0;
    for (; id < 100 + NOFILE && (e = p9c_walk(&r->c, ROOT, id, NULL, "hello.txt")) == 0; id++)
        ;
    assert_int_equal(e, EMFILE);
    unsigned held = p9_open_fds() - before;
    assert_true(held + 1 <= NOFILE / SM_VIRTIO_9P_FD_SHARE);
    /* Everything else: what the limit leaves after the export's share. */
    int fds[NOFILE];
    unsigned n = 0;
    while (n < NOFILE && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
        n++;
    assert_true(n >= NOFILE - before - NOFILE / SM_VIRTIO_9P_FD_SHARE);
    while (n)
        close(fds[--n]);
    /* A clunk makes room again. */
    assert_int_equal(p9c_clunk(&r->c, 100), 0);
    assert_int_equal(p9c_walk(&r->c, ROOT, 100, NULL, "hello.txt"), 0);
}

/* Whatever the guest asks for, a reply fits the buffer it gave, and the
 * negotiated msize bounds both ways. */
static void replies_fit_the_guests_buffer(void **state)
{
    rig *r = *state;
    p9c *c = &r->c;
    uint32_t got, n;
    assert_int_equal(p9c_version(c, 0xffffffff, "9P2000.L", &got), 0);
    assert_int_equal(got, SM_P9_MAX_MSIZE);
    assert_int_equal(p9c_attach(c, ROOT), 0);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_lopen(c, 2, 0), 0);
    r->room = 16;                       /* an Rread header and 5 bytes */
    assert_int_equal(p9c_read(c, 2, 0, 1u << 30, NULL, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(c->rlen, 16);
    r->room = 10;                       /* not even an Rlerror fits: no reply */
    assert_int_equal(p9c_read(c, 2, 0, 100, NULL, &n), -1);
    assert_int_equal(c->rlen, 0);
    r->room = 0x10000;
    /* Past the negotiated msize, a request is refused. */
    assert_int_equal(p9c_version(c, 4096, "9P2000.L", &got), 0);
    assert_int_equal(got, 4096);
    assert_int_equal(p9c_attach(c, ROOT), 0);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_lopen(c, 2, 2), 0);
    static char big[8192];
    assert_int_equal(p9c_write(c, 2, 0, big, sizeof big), EMSGSIZE);
    assert_int_equal(p9c_read(c, 2, 0, 1u << 20, NULL, &n), 0);
    assert_true(c->rlen <= 4096);
    /* A message longer than any msize is cut to the largest and, its
     * size field now a lie, refused. */
    assert_int_equal(p9c_version(c, SM_P9_MAX_MSIZE, "9P2000.L", &got), 0);
    p9c_begin(c, SM_P9_TCLUNK);
    p9c_u32(c, ROOT);
    size_t len = SM_P9_MAX_MSIZE + 50;
    memset(c->msg + c->mlen, 0, len - c->mlen);
    for (int i = 0; i < 4; i++)
        c->msg[i] = (uint8_t)(len >> (8 * i));
    assert_int_equal(p9c_send_raw(c, len), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EBADMSG);
}

int main(void)
{
    /* Lowered for good in this process: the export's share is set from
     * it when the device is made. */
    struct rlimit rl = {NOFILE, NOFILE};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_hoarding_guest_leaves_the_worker_its_fds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(replies_fit_the_guests_buffer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
