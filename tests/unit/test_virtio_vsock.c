/*
 * virtio-vsock driven by a hostile driver through its MMIO registers and
 * rings in guest RAM: a guest that floods packets to streams that do not
 * exist and never posts a receive buffer gets a bounded reply queue, not a
 * host that grows until it runs out of memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_vsock.h"
#include "util/event_loop.h"

/* Register offsets of virtio-mmio version 2 (virtio 1.2 section 4.2.2). */
enum {
    DRV_FEATURES = 0x020, DRV_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM = 0x038,
    QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, STATUS = 0x070, DESC_LO = 0x080,
    DRIVER_LO = 0x090, DEVICE_LO = 0x0a0,
};
#define QSIZE 16
#define RAM (1u << 20)
#define RX 0
#define TX 1
#define EVENT 2
#define PKT 0x20000
#define RXBUF 0x40000
#define GUEST_CID 3
#define HDR sizeof(sm_vsock_hdr)

typedef struct rig {
    sm_gmem mem;
    sm_event_loop *loop;
    sm_virtio_vsock vsock;
    char dir[64];
    uint16_t avail_idx[3];
} rig;

static void wr(rig *r, uint64_t off, uint32_t v)
{
    sm_virtio_mmio_access(&r->vsock.dev, off, (uint8_t *)&v, 4, true);
}

static uint64_t ring_base(unsigned q)
{
    return 0x1000 + q * 0x3000ull;
}

static void setup_queue(rig *r, unsigned q)
{
    uint64_t base = ring_base(q);
    wr(r, QUEUE_SEL, q);
    wr(r, QUEUE_NUM, QSIZE);
    wr(r, DESC_LO, (uint32_t)base);
    wr(r, DRIVER_LO, (uint32_t)(base + 0x1000));
    wr(r, DEVICE_LO, (uint32_t)(base + 0x2000));
    wr(r, QUEUE_READY, 1);
}

static void bring_up(rig *r)
{
    wr(r, STATUS, SM_VIRTIO_STATUS_ACKNOWLEDGE | SM_VIRTIO_STATUS_DRIVER);
    wr(r, DRV_FEATURES_SEL, 1);
    wr(r, DRV_FEATURES, 1); /* VERSION_1 */
    wr(r, STATUS, SM_VIRTIO_STATUS_ACKNOWLEDGE | SM_VIRTIO_STATUS_DRIVER |
                  SM_VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < 3; q++)
        setup_queue(r, q);
    wr(r, STATUS, SM_VIRTIO_STATUS_ACKNOWLEDGE | SM_VIRTIO_STATUS_DRIVER |
                  SM_VIRTIO_STATUS_FEATURES_OK | SM_VIRTIO_STATUS_DRIVER_OK);
}

static void desc(rig *r, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags)
{
    uint8_t *p = sm_gmem_ptr(&r->mem, ring_base(q) + 16ull * i, 16);
    uint16_t next = 0;
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

static void offer(rig *r, unsigned q, uint16_t head)
{
    uint64_t avail = ring_base(q) + 0x1000;
    uint16_t *slot = sm_gmem_ptr(&r->mem, avail + 4 + 2ull * (r->avail_idx[q] % QSIZE), 2);
    *slot = head;
    r->avail_idx[q]++;
    *(uint16_t *)sm_gmem_ptr(&r->mem, avail + 2, 2) = r->avail_idx[q];
}

static uint16_t used_idx(rig *r, unsigned q)
{
    return *(uint16_t *)sm_gmem_ptr(&r->mem, ring_base(q) + 0x2000 + 2, 2);
}

static int setup(void **state)
{
    static rig r;
    memset(&r, 0, sizeof r);
    snprintf(r.dir, sizeof r.dir, "/tmp/sm-vsock-test-XXXXXX");
    assert_non_null(mkdtemp(r.dir));
    assert_int_equal(sm_gmem_init(&r.mem, RAM), 0);
    assert_int_equal(sm_event_loop_new(&r.loop), 0);
    sm_virtio_env env = {.mem = &r.mem, .loop = r.loop};
    mode_t old = umask(0);  /* the socket must be private whatever the umask */
    assert_int_equal(sm_virtio_vsock_init(&r.vsock, GUEST_CID, r.dir, &env, 0xd0000000, 5), 0);
    umask(old);
    bring_up(&r);
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    rig *r = *state;
    sm_virtio_vsock_destroy(&r->vsock);
    sm_event_loop_free(r->loop);
    sm_gmem_free(&r->mem);
    rmdir(r->dir);
    return 0;
}

/* One packet to a stream that does not exist: the device owes an RST. */
static void send_stray(rig *r, uint32_t port)
{
    sm_vsock_hdr h = {.src_cid = GUEST_CID, .dst_cid = SM_VSOCK_HOST_CID, .src_port = port,
                      .dst_port = 7, .type = SM_VSOCK_TYPE_STREAM,
                      .op = SM_VSOCK_OP_SHUTDOWN};
    memcpy(sm_gmem_ptr(&r->mem, PKT, HDR), &h, HDR);
    desc(r, TX, 0, PKT, HDR, 0);
    offer(r, TX, 0);
    wr(r, QUEUE_NOTIFY, TX);
}

static void reply_queue_is_bounded(void **state)
{
    rig *r = *state;
    for (uint32_t i = 0; i < 3 * SM_VSOCK_CTRL_MAX; i++)
        send_stray(r, 1000 + i);
    assert_int_equal(used_idx(r, TX), (uint16_t)(3 * SM_VSOCK_CTRL_MAX));
    assert_int_equal(r->vsock.ctrl_count, SM_VSOCK_CTRL_MAX);
    assert_int_equal(r->vsock.ctrl_dropped, 2 * SM_VSOCK_CTRL_MAX);
    /* Buffers at last: the queued RSTs go out, the oldest first. */
    for (uint16_t i = 0; i < QSIZE; i++) {
        desc(r, RX, i, RXBUF + 256ull * i, 256, SM_VRING_DESC_F_WRITE);
        offer(r, RX, i);
    }
    wr(r, QUEUE_NOTIFY, RX);
    assert_int_equal(used_idx(r, RX), QSIZE);
    sm_vsock_hdr first;
    memcpy(&first, sm_gmem_ptr(&r->mem, RXBUF, HDR), HDR);
    assert_int_equal(first.op, SM_VSOCK_OP_RST);
    assert_int_equal(first.dst_port, 1000);
    assert_int_equal(r->vsock.ctrl_count, SM_VSOCK_CTRL_MAX - QSIZE);
    /* Room again: a new stray packet is answered, not dropped. */
    send_stray(r, 99);
    assert_int_equal(r->vsock.ctrl_count, SM_VSOCK_CTRL_MAX - QSIZE + 1);
    assert_int_equal(r->vsock.ctrl_dropped, 2 * SM_VSOCK_CTRL_MAX);
}

/* As another user: connect, and see whether the device hangs up. */
static int stranger_is_refused(const char *path)
{
    if (setgid(61236) < 0 || setuid(61236) < 0)
        return 2;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return 3;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    return read(fd, &c, 1) == 0 ? 0 : 1;
}

/* The host side's socket is its owner's: 0600 under umask 0, and a peer of
 * another uid is hung up on even where the file's mode would let it in. */
static void socket_is_owners_only(void **state)
{
    rig *r = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/" SM_VSOCK_LISTEN_NAME, r->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    if (geteuid() != 0)
        return; /* becoming another user needs root */
    assert_int_equal(chmod(r->dir, 0755), 0);
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(sm_event_loop_start(r->loop), 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(stranger_is_refused(path));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    sm_event_loop_stop(r->loop);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reply_queue_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(socket_is_owners_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
