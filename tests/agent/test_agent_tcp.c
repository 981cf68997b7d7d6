/* TCP_CONNECT against the agent serving on a Unix socket (no VM): the
 * agent connects to TCP servers on this host's loopback, as it would on
 * the guest's. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent_harness.h"
#include "supermachine.h"


typedef struct server {
    int listen_fd;
    uint16_t port;
    pthread_t thread;
    void (*serve)(int fd);
} server;

static int tcp_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void *server_main(void *arg)
{
    server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd >= 0) {
        s->serve(fd);
        close(fd);
    }
    return NULL;
}

static void server_start(server *s, void (*serve)(int fd))
{
    s->serve = serve;
    s->listen_fd = tcp_listen(&s->port);
    pthread_create(&s->thread, NULL, server_main, s);
}

static void server_stop(server *s)
{
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0)
            return n;
        n += (size_t)r;
    }
}

/* Speaks first, then echoes to the end of its input, then says done. */
static void banner_echo(int fd)
{
    char buf[256];
    if (write(fd, "banner\n", 7) != 7)
        return;
    size_t n = read_all(fd, buf, sizeof buf);
    if (write(fd, buf, n) != (ssize_t)n || write(fd, "done\n", 5) != 5)
        return;
}

static void banner_and_half_close(void **state)
{
    harness *h = *state;
    server s;
    server_start(&s, banner_echo);
    int fd = harness_socket(h);
    assert_int_equal(sm_agent_tcp_open(fd, s.port), 0);
    /* The banner was left in the socket for us, not eaten by the handshake. */
    char buf[256];
    assert_int_equal(read(fd, buf, 7), 7);
    assert_memory_equal(buf, "banner\n", 7);
    assert_int_equal(write(fd, "ping\n", 5), 5);
    shutdown(fd, SHUT_WR);
    size_t n = read_all(fd, buf, sizeof buf);
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "ping\ndone\n", 10);
    close(fd);
    server_stop(&s);
}

static void refused_port(void **state)
{
    harness *h = *state;
    uint16_t port;
    close(tcp_listen(&port));  /* a port nothing listens on now */
    int fd = harness_socket(h);
    assert_int_equal(sm_agent_tcp_open(fd, port), -ECONNREFUSED);
    char want[32];
    snprintf(want, sizeof want, "port %u", port);
    assert_non_null(strstr(sm_last_error(), want));
    close(fd);
}

static void bad_port_is_a_protocol_error(void **state)
{
    harness *h = *state;
    int fd = harness_socket(h);
    assert_int_equal(sm_agent_tcp_open(fd, 0), -EBADMSG);
    close(fd);
}

#define BULK (24u << 20)

static uint8_t pattern(size_t i)
{
    return (uint8_t)((i * 2654435761u) >> 11);
}

static void echo(int fd)
{
    static char buf[1 << 16];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w <= 0)
                return;
            off += w;
        }
    }
    shutdown(fd, SHUT_WR);
}

static void *bulk_writer(void *arg)
{
    int fd = *(int *)arg;
    static uint8_t chunk[1 << 16];
    for (size_t off = 0; off < BULK;) {
        size_t n = BULK - off < sizeof chunk ? BULK - off : sizeof chunk;
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern(off + i);
        ssize_t w = write(fd, chunk, n);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    return NULL;
}

/* Both directions at once, far more than any buffer, in order. */
static void bulk_echo(void **state)
{
    harness *h = *state;
    server s;
    server_start(&s, echo);
    int fd = harness_socket(h);
    assert_int_equal(sm_agent_tcp_open(fd, s.port), 0);
    pthread_t t;
    pthread_create(&t, NULL, bulk_writer, &fd);
    static uint8_t buf[1 << 16];
    size_t got = 0, bad = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            bad += buf[i] != pattern(got + (size_t)i);
        got += (size_t)n;
    }
    pthread_join(t, NULL);
    close(fd);
    server_stop(&s);
    assert_int_equal(got, BULK);
    assert_int_equal(bad, 0);
}

static void never_reads(int fd)
{
    char c;
    ssize_t n = read(fd, &c, 0);
    (void)n;
    sleep(2);
}

/* A server that does not read: the host's writes must stall, with the
 * agent holding no more than its fixed buffers. */
static void backpressure_bounds_the_agent(void **state)
{
    harness *h = *state;
    server s;
    server_start(&s, never_reads);
    int fd = harness_socket(h);
    assert_int_equal(sm_agent_tcp_open(fd, s.port), 0);
    long before = harness_peak_rss_kib(h);
    static uint8_t chunk[1 << 16];
    size_t sent = 0;
    for (int idle = 0; idle < 20 && sent < (256u << 20);) {
        ssize_t n = send(fd, chunk, sizeof chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            idle = 0;
        } else {
            idle++;
            usleep(10000);
        }
    }
    long after = harness_peak_rss_kib(h);
    close(fd);
    server_stop(&s);
    /* Kernel socket buffers hold a few MiB; the agent adds at most two of
     * its buffers. */
    assert_true(sent < (64u << 20));
    assert_true(after - before < 1024);
}

static int setup(void **state)
{
    static harness h;
    harness_start(&h);
    *state = &h;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(banner_and_half_close),
        cmocka_unit_test(refused_port),
        cmocka_unit_test(bad_port_is_a_protocol_error),
        cmocka_unit_test(bulk_echo),
        cmocka_unit_test(backpressure_bounds_the_agent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
