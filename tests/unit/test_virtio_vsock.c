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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_vsock.h"
#include "util/event_loop.h"
#include "virtio_driver.h"

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
    vdrv d;
} rig;

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
    r.d = (vdrv){.dev = &r.vsock.dev, .mem = &r.mem};
    assert_true(vd_bring_up(&r.d, 0, 3) & SM_VIRTIO_STATUS_DRIVER_OK);
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    rig *r = *state;
    sm_virtio_vsock_destroy(&r->vsock);
    sm_event_loop_free(r->loop);
    sm_gmem_free(&r->mem);
    char path[128];
    snprintf(path, sizeof path, "%s/vsock_7", r->dir);
    unlink(path);
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
    vd_desc(&r->d, TX, 0, PKT, HDR, 0, 0);
    vd_offer(&r->d, TX, 0);
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
}

static void reply_queue_is_bounded(void **state)
{
    rig *r = *state;
    for (uint32_t i = 0; i < 3 * SM_VSOCK_CTRL_MAX; i++)
        send_stray(r, 1000 + i);
    assert_int_equal(vd_used_idx(&r->d, TX), (uint16_t)(3 * SM_VSOCK_CTRL_MAX));
    assert_int_equal(r->vsock.ctrl_count, SM_VSOCK_CTRL_MAX);
    assert_int_equal(r->vsock.ctrl_dropped, 2 * SM_VSOCK_CTRL_MAX);
    /* Buffers at last: the queued RSTs go out, the oldest first. */
    for (uint16_t i = 0; i < VD_QSIZE; i++) {
        vd_desc(&r->d, RX, i, RXBUF + 256ull * i, 256, SM_VRING_DESC_F_WRITE, 0);
        vd_offer(&r->d, RX, i);
    }
    vd_wr(&r->d, VD_QUEUE_NOTIFY, RX);
    assert_int_equal(vd_used_idx(&r->d, RX), VD_QSIZE);
    sm_vsock_hdr first;
    memcpy(&first, sm_gmem_ptr(&r->mem, RXBUF, HDR), HDR);
    assert_int_equal(first.op, SM_VSOCK_OP_RST);
    assert_int_equal(first.dst_port, 1000);
    assert_int_equal(r->vsock.ctrl_count, SM_VSOCK_CTRL_MAX - VD_QSIZE);
    /* Room again: a new stray packet is answered, not dropped. */
    send_stray(r, 99);
    assert_int_equal(r->vsock.ctrl_count, SM_VSOCK_CTRL_MAX - VD_QSIZE + 1);
    assert_int_equal(r->vsock.ctrl_dropped, 2 * SM_VSOCK_CTRL_MAX);
}

/* A packet of op (with len payload bytes of `fill`) from guest port
 * `port` to host port 7. */
static void send_op(rig *r, uint16_t op, uint32_t port, uint32_t len, uint8_t fill)
{
    sm_vsock_hdr h = {.src_cid = GUEST_CID, .dst_cid = SM_VSOCK_HOST_CID, .src_port = port,
                      .dst_port = 7, .type = SM_VSOCK_TYPE_STREAM, .op = op, .len = len,
                      .buf_alloc = 1u << 20};
    memcpy(sm_gmem_ptr(&r->mem, PKT, HDR), &h, HDR);
    memset(sm_gmem_ptr(&r->mem, PKT + HDR, len ? len : 1), fill, len ? len : 1);
    vd_desc(&r->d, TX, 0, PKT, (uint32_t)HDR + len, 0, 0);
    vd_offer(&r->d, TX, 0);
    vd_wr(&r->d, VD_QUEUE_NOTIFY, TX);
}

/* A host program listening on host port 7 (DIR/vsock_7) that accepts
 * nothing: streams wait in its backlog. */
static int listen_on_port_7(rig *r)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/vsock_7", r->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4096), 0);
    return fd;
}

static unsigned queued_ops(rig *r, uint16_t op)
{
    unsigned n = 0;
    for (sm_vsock_ctrl *p = r->vsock.ctrl_head; p; p = p->next)
        n += p->hdr.op == op;
    return n;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* A guest connecting again and again to a host listener gets streams up
 * to the bound and an RST past it; the host listener never sees those. */
static void streams_are_bounded(void **state)
{
    rig *r = *state;
    raise_fd_limit();
    int l = listen_on_port_7(r);
    for (uint32_t i = 0; i < SM_VSOCK_MAX_CONNS + 10; i++)
        send_op(r, SM_VSOCK_OP_REQUEST, 5000 + i, 0, 0);
    assert_int_equal(r->vsock.nconns, SM_VSOCK_MAX_CONNS);
    assert_int_equal(queued_ops(r, SM_VSOCK_OP_RESPONSE), SM_VSOCK_MAX_CONNS);
    assert_int_equal(queued_ops(r, SM_VSOCK_OP_RST), 10);
    /* The guest closes one: room for one more. */
    send_op(r, SM_VSOCK_OP_RST, 5000, 0, 0);
    assert_int_equal(r->vsock.nconns, SM_VSOCK_MAX_CONNS - 1);
    send_op(r, SM_VSOCK_OP_REQUEST, 9000, 0, 0);
    assert_int_equal(r->vsock.nconns, SM_VSOCK_MAX_CONNS);
    assert_int_equal(queued_ops(r, SM_VSOCK_OP_RESPONSE), SM_VSOCK_MAX_CONNS + 1);
    /* A host client past the bound is hung up on. */
    assert_int_equal(sm_event_loop_start(r->loop, NULL), 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/" SM_VSOCK_LISTEN_NAME, r->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    assert_int_equal(read(fd, &c, 1), 0);
    sm_event_loop_stop(r->loop);
    close(fd);
    close(l);
}

/* A host peer that never reads: what the guest sends waits in the device
 * (beyond what the socket's own buffer took), never more than the credit
 * the device gave; a guest that sends past its credit loses the stream. */
static void a_stalled_host_peer_holds_at_most_the_credit(void **state)
{
    rig *r = *state;
    int l = listen_on_port_7(r);
    send_op(r, SM_VSOCK_OP_REQUEST, 4000, 0, 0);
    assert_int_equal(r->vsock.nconns, 1);
    sm_vsock_conn *c = r->vsock.conns;
    unsigned rst = queued_ops(r, SM_VSOCK_OP_RST);
    bool overran = false;
    for (int i = 0; i < 1000 && !overran; i++) {
        overran = c->rx_cnt - c->fwd_cnt + 32768 > SM_VSOCK_BUF_ALLOC;
        send_op(r, SM_VSOCK_OP_RW, 4000, 32768, (uint8_t)i);
        if (!overran) {
            assert_int_equal(r->vsock.nconns, 1);
            assert_true(c->pending_len <= SM_VSOCK_BUF_ALLOC);
            assert_int_equal(c->rx_cnt - c->fwd_cnt, c->pending_len);
        }
    }
    assert_true(overran);
    assert_int_equal(r->vsock.nconns, 0);
    assert_int_equal(queued_ops(r, SM_VSOCK_OP_RST), rst + 1);
    close(l);
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
    assert_int_equal(sm_event_loop_start(r->loop, NULL), 0);
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
        cmocka_unit_test_setup_teardown(streams_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stalled_host_peer_holds_at_most_the_credit, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
