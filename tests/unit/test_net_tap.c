/*
 * The tap backend without a VM or a tap: a SOCK_SEQPACKET socket pair
 * stands for the tap (one frame per read and write, as a tap moves
 * them). Frames from the guest come out whole; frames written into the
 * "tap" reach the peer; a full tap says -EAGAIN and the peer hears when
 * it has room again; a frame longer than the MTU allows is dropped; the
 * descriptor is closed when the backend is freed (a tap then vanishes).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/net_tap.h"

typedef struct peer {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned frames, resumes;
    size_t last_len;
    uint8_t last[2048];
} peer;

static int deliver(void *ctx, const void *frame, size_t len)
{
    peer *p = ctx;
    pthread_mutex_lock(&p->lock);
    p->frames++;
    p->last_len = len;
    memcpy(p->last, frame, len < sizeof p->last ? len : sizeof p->last);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static void resume(void *ctx)
{
    peer *p = ctx;
    pthread_mutex_lock(&p->lock);
    p->resumes++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* Wait up to 5 s for *counter to reach want. */
static bool wait_for(peer *p, const unsigned *counter, unsigned want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&p->lock);
    int rc = 0;
    while (*counter < want && rc == 0)
        rc = pthread_cond_timedwait(&p->cond, &p->lock, &until);
    bool ok = *counter >= want;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

typedef struct fixture {
    int other;          /* the far side of the "tap" */
    sm_net_tap *tap;
    peer p;
} fixture;

static void setup_with(fixture *f, uint16_t mtu)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    f->other = sv[1];
    pthread_mutex_init(&f->p.lock, NULL);
    pthread_cond_init(&f->p.cond, NULL);
    assert_int_equal(sm_net_tap_new(sv[0], mtu, &f->tap), 0);
    sm_net_tap_peer pp = {.deliver = deliver, .resume = resume, .ctx = &f->p};
    assert_int_equal(sm_net_tap_start(f->tap, &pp), 0);
}

static void teardown(fixture *f)
{
    sm_net_tap_free(f->tap);
    close(f->other);
}

static void fill(uint8_t *b, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(seed + i * 7);
}

static void frames_from_the_guest_leave_whole(void **state)
{
    (void)state;
    fixture f = {0};
    setup_with(&f, 1500);
    uint8_t a[20], b[1000], got[2048];
    fill(a, sizeof a, 1), fill(b, sizeof b, 2);
    /* A frame in two pieces, as a descriptor chain gives it. */
    struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    assert_int_equal(sm_net_tap_send(f.tap, iov, 2, sizeof a + sizeof b), 0);
    assert_int_equal(read(f.other, got, sizeof got), (ssize_t)(sizeof a + sizeof b));
    assert_memory_equal(got, a, sizeof a);
    assert_memory_equal(got + sizeof a, b, sizeof b);
    /* A length that is not the pieces' is the device's bug: refused. */
    assert_int_equal(sm_net_tap_send(f.tap, iov, 2, 10), -EINVAL);
    teardown(&f);
}

static void frames_for_the_guest_reach_the_peer(void **state)
{
    (void)state;
    fixture f = {0};
    setup_with(&f, 1500);
    uint8_t frame[60];
    fill(frame, sizeof frame, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(write(f.other, frame, sizeof frame), (ssize_t)sizeof frame);
    assert_true(wait_for(&f.p, &f.p.frames, 3));
    assert_int_equal(f.p.last_len, sizeof frame);
    assert_memory_equal(f.p.last, frame, sizeof frame);
    teardown(&f);
}

/* Longer than MTU + header + tag: dropped, never delivered cut short;
 * a frame of exactly the bound passes. */
static void an_oversized_frame_is_dropped(void **state)
{
    (void)state;
    fixture f = {0};
    setup_with(&f, 100);
    uint8_t frame[500];
    fill(frame, sizeof frame, 4);
    assert_int_equal(write(f.other, frame, 100 + 14 + 4 + 1), 100 + 14 + 4 + 1);
    assert_int_equal(write(f.other, frame, sizeof frame), (ssize_t)sizeof frame);
    assert_int_equal(write(f.other, frame, 100 + 14 + 4), 100 + 14 + 4);
    assert_true(wait_for(&f.p, &f.p.frames, 1));
    usleep(50 * 1000);
    assert_int_equal(f.p.frames, 1);
    assert_int_equal(f.p.last_len, 100 + 14 + 4);
    teardown(&f);
}

static void a_full_tap_pushes_back_then_resumes(void **state)
{
    (void)state;
    fixture f = {0};
    setup_with(&f, 1500);
    int small = 4096;
    setsockopt(f.other, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    uint8_t frame[1400];
    fill(frame, sizeof frame, 5);
    struct iovec iov = {frame, sizeof frame};
    int err = 0, sent = 0;
    while (sent < 100000 && (err = sm_net_tap_send(f.tap, &iov, 1, sizeof frame)) == 0)
        sent++;
    assert_int_equal(err, -EAGAIN);
    assert_true(sent > 0);
    assert_int_equal(f.p.resumes, 0);
    /* The far side reads: room again, and the peer is told once. */
    uint8_t got[2048];
    for (int i = 0; i < sent; i++)
        assert_int_equal(read(f.other, got, sizeof got), (ssize_t)sizeof frame);
    assert_true(wait_for(&f.p, &f.p.resumes, 1));
    assert_int_equal(sm_net_tap_send(f.tap, &iov, 1, sizeof frame), 0);
    teardown(&f);
}

/* The tap disappears with its last descriptor: free must close it. */
static void free_closes_the_descriptor(void **state)
{
    (void)state;
    fixture f = {0};
    setup_with(&f, 1500);
    sm_net_tap_free(f.tap);
    uint8_t b[16];
    struct pollfd p = {.fd = f.other, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 1000), 1);
    assert_int_equal(read(f.other, b, sizeof b), 0);   /* end of file: closed */
    close(f.other);
}

static void the_far_side_closing_ends_nothing_else(void **state)
{
    (void)state;
    fixture f = {0};
    setup_with(&f, 1500);
    close(f.other);
    uint8_t frame[60] = {0};
    struct iovec iov = {frame, sizeof frame};
    /* Sending fails (dropped), the thread stops reading, free still joins. */
    assert_true(sm_net_tap_send(f.tap, &iov, 1, sizeof frame) < 0);
    usleep(50 * 1000);
    sm_net_tap_free(f.tap);
}

int main(void)
{
    /* A socket's closed far side raises SIGPIPE; a tap never does. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_from_the_guest_leave_whole),
        cmocka_unit_test(frames_for_the_guest_reach_the_peer),
        cmocka_unit_test(an_oversized_frame_is_dropped),
        cmocka_unit_test(a_full_tap_pushes_back_then_resumes),
        cmocka_unit_test(free_closes_the_descriptor),
        cmocka_unit_test(the_far_side_closing_ends_nothing_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
