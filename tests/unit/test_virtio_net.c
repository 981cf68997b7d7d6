/*
 * virtio-net against a simulated driver that talks to it through its
 * MMIO registers and rings in guest RAM, and a fake backend: frames go
 * out intact, frames come in with the right header, and every malformed
 * chain a hostile driver can build is refused without harm.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_net.h"
#include "virtio_driver.h"

#define F_GUEST_CSUM (1u << 1)
#define F_MTU (1u << 3)
#define F_MAC (1u << 5)
#define RAM (1u << 20)
#define RX 0
#define TX 1
#define DATA VD_DATA
#define HDR SM_VIRTIO_NET_HDR_LEN

static const uint8_t mac[6] = {0x02, 0x53, 0x4d, 0x00, 0x00, 0x01};

typedef struct fake_backend {
    int reply;                  /* what send() returns */
    unsigned frames;
    size_t last_len;
    uint8_t last[2048];
} fake_backend;

typedef struct rig {
    sm_gmem mem;
    sm_virtio_net net;
    fake_backend be;
    vdrv d;
} rig;

static int fake_send(void *ctx, const struct iovec *iov, unsigned niov, size_t len)
{
    fake_backend *b = ctx;
    if (b->reply)
        return b->reply;
    size_t got = 0;
    for (unsigned i = 0; i < niov; i++) {
        assert_true(got + iov[i].iov_len <= sizeof b->last);
        memcpy(b->last + got, iov[i].iov_base, iov[i].iov_len);
        got += iov[i].iov_len;
    }
    assert_int_equal(got, len);
    b->last_len = len;
    b->frames++;
    return 0;
}

/* ---- the simulated driver ---- */

static void bring_up_with(rig *r, uint32_t features)
{
    assert_true(vd_bring_up(&r->d, features, 2) & SM_VIRTIO_STATUS_DRIVER_OK);
}

static void bring_up(rig *r)
{
    bring_up_with(r, F_MAC | F_MTU);
}

static uint64_t interrupts(rig *r)
{
    uint64_t n = 0;
    if (read(r->net.dev.irq_fd, &n, sizeof n) != sizeof n)
        return 0;
    return n;
}

/* A frame of len bytes at gpa behind a 12-byte header at gpa - HDR. */
static void put_tx_frame(rig *r, uint64_t gpa, size_t len, uint8_t seed)
{
    uint8_t *p = sm_gmem_ptr(&r->mem, gpa - HDR, HDR + len);
    memset(p, 0, HDR);
    for (size_t i = 0; i < len; i++)
        p[HDR + i] = (uint8_t)(seed + i);
}

static int setup(void **state)
{
    static rig r;
    memset(&r, 0, sizeof r);
    assert_int_equal(sm_gmem_init(&r.mem, RAM), 0);
    sm_virtio_env env = {.mem = &r.mem};
    sm_net_backend be = {.send = fake_send, .ctx = &r.be};
    assert_int_equal(sm_virtio_net_init(&r.net, mac, 1500, &be, &env, 0xd0000000, 5), 0);
    r.d = (vdrv){.dev = &r.net.dev, .mem = &r.mem};
    bring_up(&r);
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    rig *r = *state;
    sm_virtio_net_destroy(&r->net);
    sm_gmem_free(&r->mem);
    return 0;
}

/* ---- features and config ---- */

static void offers_mac_mtu_and_version_1(void **state)
{
    rig *r = *state;
    vd_wr(&r->d, VD_DEV_FEATURES_SEL, 0);
    assert_int_equal(vd_rd(&r->d, VD_DEV_FEATURES), F_MAC | F_MTU | F_GUEST_CSUM);
    vd_wr(&r->d, VD_DEV_FEATURES_SEL, 1);
    assert_int_equal(vd_rd(&r->d, VD_DEV_FEATURES), 1);
    uint8_t cfg[12];
    for (unsigned i = 0; i < sizeof cfg; i++)
        sm_virtio_mmio_access(&r->net.dev, VD_CONFIG + i, &cfg[i], 1, false);
    assert_memory_equal(cfg, mac, 6);
    uint16_t mtu;
    memcpy(&mtu, cfg + 10, 2);
    assert_int_equal(mtu, 1500);
}

/* ---- transmit ---- */

static void sends_a_frame_split_over_descriptors(void **state)
{
    rig *r = *state;
    put_tx_frame(r, DATA + HDR, 60, 7);
    vd_desc(&r->d, TX, 0, DATA, HDR + 20, SM_VRING_DESC_F_NEXT, 1);
    vd_desc(&r->d, TX, 1, DATA + HDR + 20, 40, 0, 0);
    vd_offer(&r->d, TX, 0);
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
    assert_int_equal(r->be.frames, 1);
    assert_int_equal(r->be.last_len, 60);
    for (int i = 0; i < 60; i++)
        assert_int_equal(r->be.last[i], (uint8_t)(7 + i));
    uint32_t id, len;
    assert_int_equal(vd_used_idx(&r->d, TX), 1);
    vd_used_elem(&r->d, TX, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 0);
    assert_int_equal(interrupts(r), 1);
}

/* Each hostile chain is given back and never reaches the backend; the
 * queue keeps working afterwards. */
static void refuses_malformed_transmits(void **state)
{
    rig *r = *state;
    put_tx_frame(r, DATA + HDR, 1600, 0);
    vd_desc(&r->d, TX, 0, DATA, HDR, 0, 0);                          /* header only */
    vd_desc(&r->d, TX, 1, DATA, HDR + 13, 0, 0);                     /* runt frame */
    vd_desc(&r->d, TX, 2, DATA, HDR + 1519, 0, 0);                   /* over MTU */
    vd_desc(&r->d, TX, 3, DATA, HDR + 60, SM_VRING_DESC_F_NEXT, 4);  /* writable part */
    vd_desc(&r->d, TX, 4, DATA + 0x1000, 16, SM_VRING_DESC_F_WRITE, 0);
    vd_desc(&r->d, TX, 5, DATA, HDR + 60, SM_VRING_DESC_F_NEXT, 6);  /* next outside RAM */
    vd_desc(&r->d, TX, 6, RAM - 8, 64, 0, 0);
    vd_desc(&r->d, TX, 7, 0x2000 + DATA, HDR + 60, 0, 0);            /* GSO asked for */
    uint8_t *h = sm_gmem_ptr(&r->mem, 0x2000 + DATA, HDR);
    memset(h, 0, HDR);
    h[1] = 1; /* VIRTIO_NET_HDR_GSO_TCPV4 */
    vd_desc(&r->d, TX, 8, 0x3000 + DATA, HDR + 60, 0, 0);            /* checksum asked for */
    h = sm_gmem_ptr(&r->mem, 0x3000 + DATA, HDR);
    memset(h, 0, HDR);
    h[0] = 1; /* NEEDS_CSUM */
    for (uint16_t head = 0; head <= 8; head++)
        if (head != 4 && head != 6)
            vd_offer(&r->d, TX, head);
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
    assert_int_equal(r->be.frames, 0);
    assert_int_equal(vd_used_idx(&r->d, TX), 7);
    assert_int_equal(r->net.tx_malformed, 6);
    assert_false(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_NEEDS_RESET);
    vd_desc(&r->d, TX, 9, DATA, HDR + 1514, 0, 0);                   /* a full frame still goes */
    vd_offer(&r->d, TX, 9);
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
    assert_int_equal(r->be.frames, 1);
    assert_int_equal(r->be.last_len, 1514);
}

static void waits_while_the_backend_is_full(void **state)
{
    rig *r = *state;
    put_tx_frame(r, DATA + HDR, 100, 1);
    vd_desc(&r->d, TX, 0, DATA, HDR + 100, 0, 0);
    vd_desc(&r->d, TX, 1, DATA, HDR + 100, 0, 0);
    vd_offer(&r->d, TX, 0);
    vd_offer(&r->d, TX, 1);
    r->be.reply = -EAGAIN;
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
    assert_int_equal(vd_used_idx(&r->d, TX), 0);      /* held in the ring, not lost */
    assert_true(r->net.tx_stalled);
    r->be.reply = 0;
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);                   /* a kick alone does not resend */
    assert_int_equal(r->be.frames, 0);
    sm_virtio_net_tx_resume(&r->net);
    assert_int_equal(r->be.frames, 2);
    assert_int_equal(vd_used_idx(&r->d, TX), 2);
}

static void a_backend_error_drops_only_that_frame(void **state)
{
    rig *r = *state;
    put_tx_frame(r, DATA + HDR, 100, 1);
    vd_desc(&r->d, TX, 0, DATA, HDR + 100, 0, 0);
    vd_offer(&r->d, TX, 0);
    r->be.reply = -ENOMEM;
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
    assert_int_equal(vd_used_idx(&r->d, TX), 1);
    assert_int_equal(r->net.tx_backend_dropped, 1);
    assert_false(r->net.tx_stalled);
}

static void reset_clears_a_stall(void **state)
{
    rig *r = *state;
    put_tx_frame(r, DATA + HDR, 100, 1);
    vd_desc(&r->d, TX, 0, DATA, HDR + 100, 0, 0);
    vd_offer(&r->d, TX, 0);
    r->be.reply = -EAGAIN;
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
    assert_true(r->net.tx_stalled);
    vd_wr(&r->d, VD_STATUS, 0);
    assert_false(r->net.tx_stalled);
    r->be.reply = 0;
    bring_up(r);
    vd_desc(&r->d, TX, 0, DATA, HDR + 100, 0, 0);
    vd_offer(&r->d, TX, 0);
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
    assert_int_equal(r->be.frames, 1);
}

/* ---- receive ---- */

static void receives_into_a_buffer_with_header(void **state)
{
    rig *r = *state;
    uint8_t frame[100];
    for (int i = 0; i < 100; i++)
        frame[i] = (uint8_t)(3 * i);
    vd_desc(&r->d, RX, 0, DATA, HDR, SM_VRING_DESC_F_WRITE | SM_VRING_DESC_F_NEXT, 1);
    vd_desc(&r->d, RX, 1, DATA + 0x100, 1514, SM_VRING_DESC_F_WRITE, 0);
    vd_offer(&r->d, RX, 0);
    memset(sm_gmem_ptr(&r->mem, DATA, HDR), 0xee, HDR);
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, sizeof frame), 0);
    uint32_t id, len;
    assert_int_equal(vd_used_idx(&r->d, RX), 1);
    vd_used_elem(&r->d, RX, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, HDR + 100);
    uint8_t want_hdr[HDR] = {0};
    want_hdr[10] = 1; /* num_buffers */
    assert_memory_equal(sm_gmem_ptr(&r->mem, DATA, HDR), want_hdr, HDR);
    assert_memory_equal(sm_gmem_ptr(&r->mem, DATA + 0x100, 100), frame, 100);
    assert_int_equal(interrupts(r), 1);
}

/* Only a driver that took GUEST_CSUM is told the checksums are good. */
static void marks_checksums_valid_when_negotiated(void **state)
{
    rig *r = *state;
    uint8_t frame[60] = {0};
    vd_wr(&r->d, VD_STATUS, 0);
    bring_up_with(r, F_MAC | F_GUEST_CSUM);
    vd_desc(&r->d, RX, 0, DATA, 2048, SM_VRING_DESC_F_WRITE, 0);
    vd_offer(&r->d, RX, 0);
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, sizeof frame), 0);
    assert_int_equal(*(uint8_t *)sm_gmem_ptr(&r->mem, DATA, 1), 2); /* DATA_VALID */
}

static void drops_without_buffers_or_driver(void **state)
{
    rig *r = *state;
    uint8_t frame[1600] = {0};
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, 60), -ENOBUFS);
    assert_int_equal(r->net.rx_no_buffer, 1);
    vd_desc(&r->d, RX, 0, DATA, 4096, SM_VRING_DESC_F_WRITE, 0);
    vd_offer(&r->d, RX, 0);
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, 1519), -EMSGSIZE);
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, 10), -EMSGSIZE);
    assert_int_equal(vd_used_idx(&r->d, RX), 0);      /* the buffer is still there */
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, 1518), 0);
    vd_wr(&r->d, VD_STATUS, 0);
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, 60), -ENETDOWN);
}

/* Too small or readable buffers are handed back empty and the frame
 * lands in the next good one. */
static void skips_hostile_receive_buffers(void **state)
{
    rig *r = *state;
    uint8_t frame[200];
    memset(frame, 0x5a, sizeof frame);
    vd_desc(&r->d, RX, 0, DATA, HDR + 100, SM_VRING_DESC_F_WRITE, 0);      /* too small */
    vd_desc(&r->d, RX, 1, DATA + 0x1000, 2048, 0, 0);                      /* device-readable */
    vd_desc(&r->d, RX, 2, RAM - 100, 2048, SM_VRING_DESC_F_WRITE, 0);      /* past RAM */
    vd_desc(&r->d, RX, 3, DATA + 0x2000, 2048, SM_VRING_DESC_F_WRITE, 0);  /* good */
    for (uint16_t i = 0; i < 4; i++)
        vd_offer(&r->d, RX, i);
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, sizeof frame), 0);
    assert_int_equal(vd_used_idx(&r->d, RX), 4);
    for (uint16_t n = 0; n < 4; n++) {
        uint32_t id, len;
        vd_used_elem(&r->d, RX, n, &id, &len);
        assert_int_equal(id, n);
        assert_int_equal(len, n == 3 ? HDR + sizeof frame : 0);
    }
    assert_memory_equal(sm_gmem_ptr(&r->mem, DATA + 0x2000 + HDR, sizeof frame), frame,
                        sizeof frame);
    assert_int_equal(*(uint8_t *)sm_gmem_ptr(&r->mem, DATA + 100, 1), 0);
}

/* An available index that runs ahead of the ring is corruption: the
 * device stops using the queue and asks for a reset, without crashing. */
static void a_corrupt_ring_stops_the_queue(void **state)
{
    rig *r = *state;
    uint8_t frame[60] = {0};
    vd_set_avail_idx(&r->d, RX, VD_QSIZE + 5);
    assert_int_equal(sm_virtio_net_receive(&r->net, frame, sizeof frame), -ENOBUFS);
    assert_true(vd_rd(&r->d, VD_STATUS) & SM_VIRTIO_STATUS_NEEDS_RESET);
    vd_set_avail_idx(&r->d, TX, 0x8000);
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
    assert_int_equal(r->be.frames, 0);
}

static void refuses_bad_setup(void **state)
{
    (void)state;
    sm_gmem mem;
    sm_virtio_net n;
    assert_int_equal(sm_gmem_init(&mem, RAM), 0);
    sm_virtio_env env = {.mem = &mem};
    sm_net_backend none = {0};
    assert_int_equal(sm_virtio_net_init(&n, mac, 1500, &none, &env, 0xd0000000, 5), -EINVAL);
    sm_net_backend be = {.send = fake_send};
    assert_int_equal(sm_virtio_net_init(&n, mac, 20, &be, &env, 0xd0000000, 5), -EINVAL);
    sm_gmem_free(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(offers_mac_mtu_and_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(sends_a_frame_split_over_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_malformed_transmits, setup, teardown),
        cmocka_unit_test_setup_teardown(waits_while_the_backend_is_full, setup, teardown),
        cmocka_unit_test_setup_teardown(a_backend_error_drops_only_that_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_clears_a_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(receives_into_a_buffer_with_header, setup, teardown),
        cmocka_unit_test_setup_teardown(marks_checksums_valid_when_negotiated, setup, teardown),
        cmocka_unit_test_setup_teardown(drops_without_buffers_or_driver, setup, teardown),
        cmocka_unit_test_setup_teardown(skips_hostile_receive_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_ring_stops_the_queue, setup, teardown),
        cmocka_unit_test(refuses_bad_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
