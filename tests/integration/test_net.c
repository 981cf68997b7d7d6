/*
 * User-mode networking through the public API, on real VMs: the guest
 * reaches a TCP server on the host (10.0.2.2 is the host's loopback), a
 * published guest port answers on the host's 127.0.0.1, data crosses both
 * ways intact (and the rate is printed), a VM without a network has
 * nothing but loopback, and a published port the host cannot give fails
 * sm_vm_start with a sentence naming it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})
#define BULK (1u << 20)
#define GUEST_HTTP 80
#define GUEST_SINK 81

typedef struct fixture {
    sm_vm *vm;
    uint16_t http_port, sink_port, idle_port;  /* published to 80, 81 and 82 */
} fixture;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* A TCP listener on 127.0.0.1; port 0 lets the kernel pick. */
static int listen_local(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static uint16_t free_port(void)
{
    uint16_t port = 0;
    int fd = listen_local(&port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int connect_local(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static int start_vm(sm_network net, const sm_port *ports, unsigned nports, sm_vm **vm)
{
    sm_vm_config c = {.size = sizeof c, .network = net, .ports = ports, .nports = nports,
                      .start_timeout_ms = 600000};
    return sm_vm_start(NULL, &c, vm);
}

static int setup_user(void **state)
{
    static fixture f;
    f.http_port = free_port();
    f.sink_port = free_port();
    f.idle_port = free_port();
    sm_port ports[] = {{.host_port = f.http_port, .guest_port = GUEST_HTTP},
                       {.host_port = f.sink_port, .guest_port = GUEST_SINK},
                       {.host_port = f.idle_port, .guest_port = 82}};
    if (start_vm(SM_NETWORK_USER, ports, 3, &f.vm) != 0) {
        fprintf(stderr, "sm_vm_start: %s\n", sm_last_error());
        return -1;
    }
    *state = &f;
    return 0;
}

static int setup_none(void **state)
{
    static fixture f;
    if (start_vm(SM_NETWORK_NONE, NULL, 0, &f.vm) != 0) {
        fprintf(stderr, "sm_vm_start: %s\n", sm_last_error());
        return -1;
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sm_vm_stop(f->vm);
    return 0;
}

static sm_exec_result sh(fixture *f, const char *script)
{
    sm_exec_result r = {.size = sizeof r};
    if (sm_vm_exec(f->vm,
                   &(sm_exec){.size = sizeof(sm_exec),
                              .argv = ARGV("sh", "-c", script),
                              .timeout_ms = 300000},
                   &r) != 0)
        fail_msg("exec failed: %s", sm_last_error());
    return r;
}

/* ---- a VM on user-mode NAT ---- */

static void guest_has_address_and_default_route(void **state)
{
    sm_exec_result r = sh(*state, "ip -4 addr show eth0; ip route; cat /sys/class/net/lo/operstate");
    assert_int_equal(r.exit_status, 0);
    assert_non_null(strstr(r.stdout_data, "inet 10.0.2.15/24"));
    assert_non_null(strstr(r.stdout_data, "default via 10.0.2.2 dev eth0"));
    assert_non_null(strstr(r.stdout_data, "10.0.2.0/24 dev eth0"));
    sm_exec_result_free(&r);
}

typedef struct host_server {
    int fd;
    char got[256];
    size_t got_len;
    uint64_t bulk;              /* bytes counted instead of kept */
    double t_first, t_end;
} host_server;

/* Accept one guest, greet it, then keep (or count) what it sends. */
static void *serve_one(void *arg)
{
    host_server *s = arg;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, 120000) != 1)
        return NULL;
    int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return NULL;
    if (write(c, "hello-from-host\n", 16) != 16)
        return NULL;
    char buf[65536];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
        if (!s->t_first)
            s->t_first = now_s();
        size_t keep = sizeof s->got - 1 - s->got_len;
        keep = (size_t)n < keep ? (size_t)n : keep;
        memcpy(s->got + s->got_len, buf, keep);
        s->got_len += keep;
        s->bulk += (uint64_t)n;
    }
    s->t_end = now_s();
    close(c);
    return NULL;
}

static void guest_reaches_a_host_server(void **state)
{
    uint16_t port = 0;
    host_server s = {.fd = listen_local(&port)};
    assert_true(s.fd >= 0);
    pthread_t t;
    pthread_create(&t, NULL, serve_one, &s);
    char script[128];
    snprintf(script, sizeof script, "echo hello-from-guest | nc 10.0.2.2 %u", port);
    sm_exec_result r = sh(*state, script);
    pthread_join(t, NULL);
    close(s.fd);
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "hello-from-host\n");
    assert_string_equal(s.got, "hello-from-guest\n");
    sm_exec_result_free(&r);
}

static void guest_to_host_bulk(void **state)
{
    uint16_t port = 0;
    host_server s = {.fd = listen_local(&port)};
    assert_true(s.fd >= 0);
    pthread_t t;
    pthread_create(&t, NULL, serve_one, &s);
    char script[160];
    snprintf(script, sizeof script,
             "dd if=/dev/zero bs=65536 count=%u 2>/dev/null | nc 10.0.2.2 %u >/dev/null",
             BULK / 65536, port);
    sm_exec_result r = sh(*state, script);
    pthread_join(t, NULL);
    close(s.fd);
    assert_int_equal(r.exit_status, 0);
    assert_int_equal(s.bulk, BULK);
    printf("guest -> host (nc to 10.0.2.2): %u MiB in %.2f s, %.3f MiB/s\n", BULK >> 20,
           s.t_end - s.t_first, (BULK >> 20) / (s.t_end - s.t_first));
    sm_exec_result_free(&r);
}

/* Wait until something in the guest listens on TCP port p. */
static void wait_listening(fixture *f, unsigned p)
{
    char script[160];
    snprintf(script, sizeof script,
             "for i in $(seq 200); do netstat -ltn | grep -q ':%u ' && exit 0; "
             "sleep 0.1; done; exit 1", p);
    sm_exec_result r = sh(f, script);
    assert_int_equal(r.exit_status, 0);
    sm_exec_result_free(&r);
}

static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = '\0';
    return n;
}

static void published_port_serves_the_host(void **state)
{
    fixture *f = *state;
    sm_exec_result r = sh(f, "mkdir -p /tmp/www && echo page-from-guest > /tmp/www/index.html"
                             " && httpd -p 80 -h /tmp/www");
    assert_int_equal(r.exit_status, 0);
    sm_exec_result_free(&r);
    wait_listening(f, GUEST_HTTP);
    int fd = connect_local(f->http_port);
    assert_true(fd >= 0);
    const char req[] = "GET /index.html HTTP/1.0\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char resp[4096];
    read_all(fd, resp, sizeof resp);
    close(fd);
    assert_non_null(strstr(resp, "200 OK"));
    assert_non_null(strstr(resp, "page-from-guest"));
}

typedef struct waiter {
    sm_exec_handle *h;
    sm_exec_result r;
    int err;
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    w->r.size = sizeof w->r;
    w->err = sm_exec_wait(w->h, &w->r);
    return NULL;
}

static void host_to_guest_bulk(void **state)
{
    fixture *f = *state;
    waiter w = {0};
    sm_exec ex = {.size = sizeof(sm_exec),
                  .argv = ARGV("sh", "-c", "nc -l -p 81 | wc -c"),
                  .timeout_ms = 300000};
    assert_int_equal(sm_vm_exec_start(f->vm, &ex, &w.h), 0);
    pthread_t t;
    pthread_create(&t, NULL, wait_thread, &w);
    wait_listening(f, GUEST_SINK);
    int fd = connect_local(f->sink_port);
    assert_true(fd >= 0);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    double t0 = now_s();
    for (unsigned sent = 0; sent < BULK; sent += sizeof chunk)
        assert_int_equal(write(fd, chunk, sizeof chunk), (ssize_t)sizeof chunk);
    close(fd);
    pthread_join(t, NULL);
    double secs = now_s() - t0;
    assert_int_equal(w.err, 0);
    assert_int_equal(w.r.exit_status, 0);
    assert_int_equal(strtoul(w.r.stdout_data, NULL, 10), BULK);
    printf("host -> guest (published port): %u MiB in %.2f s, %.3f MiB/s\n", BULK >> 20, secs,
           (BULK >> 20) / secs);
    sm_exec_free(w.h);
    sm_exec_result_free(&w.r);
}

/* Published, but nothing in the guest listens on 82: the host's
 * connection is closed promptly, not left hanging. */
static void published_port_without_listener_closes(void **state)
{
    fixture *f = *state;
    int fd = connect_local(f->idle_port);
    if (fd < 0)
        return; /* refused outright: as good */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 30000), 1);
    char c;
    assert_true(read(fd, &c, 1) <= 0);
    close(fd);
}

/* ---- a VM without a network ---- */

static void none_has_only_loopback(void **state)
{
    sm_exec_result r = sh(*state, "ls /sys/class/net; echo routes:; ip route; "
                                   "ip -4 addr show lo | grep -o 'inet [0-9./]*'; "
                                   "nc 10.0.2.2 80 </dev/null 2>&1; echo rc=$?");
    assert_int_equal(r.exit_status, 0);
    assert_non_null(strstr(r.stdout_data, "lo\nroutes:\ninet 127.0.0.1/8\n"));
    assert_null(strstr(r.stdout_data, "eth0"));
    assert_non_null(strstr(r.stdout_data, "Network is unreachable"));
    assert_non_null(strstr(r.stdout_data, "rc=1"));
    sm_exec_result_free(&r);
}

/* ---- refusals before any guest runs ---- */

static void busy_host_port_fails_start(void **state)
{
    (void)state;
    uint16_t port = 0;
    int busy = listen_local(&port);
    assert_true(busy >= 0);
    sm_port p = {.host_port = port, .guest_port = 80};
    sm_vm *vm = NULL;
    double t0 = now_s();
    assert_int_not_equal(start_vm(SM_NETWORK_USER, &p, 1, &vm), 0);
    assert_null(vm);
    char want[32];
    snprintf(want, sizeof want, "host port %u", port);
    assert_non_null(strstr(sm_last_error(), want));
    assert_non_null(strstr(sm_last_error(), "already in use"));
    assert_true(now_s() - t0 < 10); /* refused before the guest boots */
    close(busy);
}

static void ports_need_a_network(void **state)
{
    (void)state;
    sm_port p = {.host_port = 8080, .guest_port = 80};
    sm_vm *vm = NULL;
    assert_int_equal(start_vm(SM_NETWORK_NONE, &p, 1, &vm), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "network"));
    sm_port zero = {.host_port = 0, .guest_port = 80};
    assert_int_equal(start_vm(SM_NETWORK_USER, &zero, 1, &vm), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "cannot publish"));
    sm_port bad_ip = {.host_ip = "localhost", .host_port = 8080, .guest_port = 80};
    assert_int_equal(start_vm(SM_NETWORK_USER, &bad_ip, 1, &vm), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "'localhost' is not an IP address"));
}

int main(void)
{
    const struct CMUnitTest refusals[] = {
        cmocka_unit_test(ports_need_a_network),
        cmocka_unit_test(busy_host_port_fails_start),
    };
    const struct CMUnitTest user[] = {
        cmocka_unit_test(guest_has_address_and_default_route),
        cmocka_unit_test(guest_reaches_a_host_server),
        cmocka_unit_test(published_port_serves_the_host),
        cmocka_unit_test(published_port_without_listener_closes),
        cmocka_unit_test(host_to_guest_bulk),
        cmocka_unit_test(guest_to_host_bulk),
    };
    const struct CMUnitTest none[] = {
        cmocka_unit_test(none_has_only_loopback),
    };
    int failed = cmocka_run_group_tests_name("refusals", refusals, NULL, NULL);
    failed += cmocka_run_group_tests_name("user", user, setup_user, teardown);
    failed += cmocka_run_group_tests_name("none", none, setup_none, teardown);
    return failed ? 1 : 0;
}
