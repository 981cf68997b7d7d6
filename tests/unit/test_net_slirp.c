/*
 * The user-mode NAT backend without a VM: `-p` specs as users write them,
 * published ports that the host cannot give, and frames through the
 * slirp thread (an ARP question from the guest gets its answer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/net_flow.h"
#include "devices/net_slirp.h"
#include "supermachine.h"

/* ---- -p specs ---- */

static void parses_the_forms_docker_takes(void **state)
{
    (void)state;
    sm_net_port p;
    assert_int_equal(sm_net_port_parse("8080:80", &p), 0);
    assert_string_equal(p.host_ip, "");
    assert_int_equal(p.host_port, 8080);
    assert_int_equal(p.guest_port, 80);
    assert_false(p.udp);
    assert_int_equal(sm_net_port_parse("0.0.0.0:53:5353/udp", &p), 0);
    assert_string_equal(p.host_ip, "0.0.0.0");
    assert_int_equal(p.host_port, 53);
    assert_int_equal(p.guest_port, 5353);
    assert_true(p.udp);
    assert_int_equal(sm_net_port_parse("[::1]:65535:1/tcp", &p), 0);
    assert_string_equal(p.host_ip, "::1");
    assert_int_equal(p.host_port, 65535);
    assert_int_equal(sm_net_port_parse("::1:8080:80", &p), 0);
    assert_string_equal(p.host_ip, "::1");
}

static void refuses_bad_specs_with_a_reason(void **state)
{
    (void)state;
    static const char *bad[] = {
        "80", "0:80", "8080:0", "8080:65536", "8080:80/sctp", "8080:-1", "a:80",
        "8080:80/", "localhost:8080:80", "1.2.3.4.5:1:2", "", ":", "99999999999:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sm_net_port p;
        assert_int_equal(sm_net_port_parse(bad[i], &p), -EINVAL);
        assert_non_null(strstr(sm_last_error(), "cannot publish"));
    }
    sm_net_port p;
    sm_net_port_parse("nothost:1:2", &p);
    assert_non_null(strstr(sm_last_error(), "'nothost' is not an IP address"));
}

static void formats_what_it_parses(void **state)
{
    (void)state;
    sm_net_port p = {.host_port = 8080, .guest_port = 80}, q;
    char buf[80];
    assert_int_equal(sm_net_port_format(&p, buf, sizeof buf), 0);
    assert_string_equal(buf, "127.0.0.1:8080:80");
    snprintf(p.host_ip, sizeof p.host_ip, "fe80::1");
    p.udp = true;
    assert_int_equal(sm_net_port_format(&p, buf, sizeof buf), 0);
    assert_string_equal(buf, "[fe80::1]:8080:80/udp");
    assert_int_equal(sm_net_port_parse(buf, &q), 0);
    assert_memory_equal(&p, &q, sizeof p);
    assert_int_equal(sm_net_port_format(&p, buf, 8), -E2BIG);
}

/* ---- published ports ---- */

/* A TCP listener on 127.0.0.1 at a port the kernel picks. */
static int listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int connect_local(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    return rc;
}

static void a_port_in_use_fails_naming_it(void **state)
{
    (void)state;
    uint16_t port;
    int busy = listener(&port);
    sm_net_port ports[2] = {{.host_port = port, .guest_port = 80}};
    ports[1] = ports[0];
    ports[0].udp = true; /* UDP on the same number is free */
    sm_net_slirp *s = NULL;
    assert_int_equal(sm_net_slirp_new(ports, 2, 1500, &s), -EADDRINUSE);
    assert_null(s);
    char want[64];
    snprintf(want, sizeof want, "host port %u (TCP 127.0.0.1)", port);
    assert_non_null(strstr(sm_last_error(), want));
    assert_non_null(strstr(sm_last_error(), "already in use"));
    close(busy);
}

static void a_published_port_listens_until_freed(void **state)
{
    (void)state;
    uint16_t port;
    close(listener(&port)); /* a port that was free a moment ago */
    sm_net_port p = {.host_port = port, .guest_port = 80};
    sm_net_slirp *s;
    assert_int_equal(sm_net_slirp_new(&p, 1, 1500, &s), 0);
    assert_int_equal(connect_local(port), 0);
    sm_net_slirp_free(s);
    assert_int_equal(connect_local(port), -1);
    assert_int_equal(errno, ECONNREFUSED);
}

static void an_address_not_of_this_host_is_named(void **state)
{
    (void)state;
    sm_net_port p = {.host_ip = "192.0.2.1", .host_port = 40000, .guest_port = 80};
    sm_net_slirp *s = NULL;
    assert_int_equal(sm_net_slirp_new(&p, 1, 1500, &s), -EADDRNOTAVAIL);
    assert_non_null(strstr(sm_last_error(), "192.0.2.1 is not an address of this host"));
}

/* ---- frames through the thread ---- */

typedef struct peer_log {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned frames, resumes;
    uint8_t last[1600];
    size_t last_len;
} peer_log;

static int peer_deliver(void *ctx, const void *frame, size_t len)
{
    peer_log *l = ctx;
    pthread_mutex_lock(&l->lock);
    l->frames++;
    l->last_len = len < sizeof l->last ? len : sizeof l->last;
    memcpy(l->last, frame, l->last_len);
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    return 0;
}

static void peer_resume(void *ctx)
{
    peer_log *l = ctx;
    pthread_mutex_lock(&l->lock);
    l->resumes++;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

static bool wait_for(peer_log *l, const unsigned *field, unsigned want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&l->lock);
    int rc = 0;
    while (*field < want && rc == 0)
        rc = pthread_cond_timedwait(&l->cond, &l->lock, &until);
    bool ok = *field >= want;
    pthread_mutex_unlock(&l->lock);
    return ok;
}

/* "Who has 10.0.2.2? Tell 10.0.2.15", from the guest's MAC. */
static size_t arp_request(uint8_t *f)
{
    static const uint8_t guest_mac[6] = {0x02, 0x53, 0x4d, 0x00, 0x00, 0x01};
    static const uint8_t head[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    memcpy(f + 12, head, sizeof head);
    memcpy(f + 22, guest_mac, 6);
    inet_pton(AF_INET, SM_NET_GUEST_IP, f + 28);
    inet_pton(AF_INET, SM_NET_GATEWAY_IP, f + 38);
    return 60;
}

static void answers_arp_for_the_gateway(void **state)
{
    (void)state;
    static peer_log log = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    sm_net_slirp *s;
    assert_int_equal(sm_net_slirp_new(NULL, 0, 1500, &s), 0);
    sm_net_slirp_peer peer = {peer_deliver, peer_resume, &log};
    assert_int_equal(sm_net_slirp_start(s, &peer), 0);
    uint8_t f[60];
    struct iovec iov = {f, arp_request(f)};
    assert_int_equal(sm_net_slirp_send(s, &iov, 1, iov.iov_len), 0);
    assert_true(wait_for(&log, &log.frames, 1));
    pthread_mutex_lock(&log.lock);
    assert_true(log.last_len >= 42);
    assert_memory_equal(log.last, f + 6, 6);           /* to the guest */
    assert_int_equal(log.last[12], 0x08);
    assert_int_equal(log.last[13], 0x06);              /* ARP */
    assert_int_equal(log.last[21], 2);                 /* a reply */
    uint8_t gw[4];
    inet_pton(AF_INET, SM_NET_GATEWAY_IP, gw);
    assert_memory_equal(log.last + 28, gw, 4);         /* from 10.0.2.2 */
    pthread_mutex_unlock(&log.lock);
    sm_net_slirp_free(s);
}

/* A connection to a published port reaches the guest as a SYN at once:
 * slirp knows the guest's MAC from the start and asks no ARP question
 * first (after a restore that question would wait for the waking guest). */
static void a_published_port_reaches_the_guest_without_arp(void **state)
{
    (void)state;
    static peer_log log = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    uint16_t port;
    close(listener(&port));
    sm_net_port p = {.host_port = port, .guest_port = 80};
    sm_net_slirp *s;
    assert_int_equal(sm_net_slirp_new(&p, 1, 1500, &s), 0);
    sm_net_slirp_peer peer = {peer_deliver, peer_resume, &log,
                              {0x02, 0x53, 0x4d, 0x00, 0x00, 0x01}};
    assert_int_equal(sm_net_slirp_start(s, &peer), 0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_true(wait_for(&log, &log.frames, 1));
    pthread_mutex_lock(&log.lock);
    assert_memory_equal(log.last, peer.guest_mac, 6);  /* to the guest */
    assert_int_equal(log.last[12], 0x08);
    assert_int_equal(log.last[13], 0x00);              /* IPv4, not ARP */
    assert_int_equal(log.last[14 + 9], 6);             /* TCP */
    assert_int_equal(log.last[14 + 20 + 13] & 0x12, 0x02); /* SYN */
    pthread_mutex_unlock(&log.lock);
    close(fd);
    sm_net_slirp_free(s);
}

/* Past the queue's bound the sender is told to wait, and is told when
 * to go on: frames are held back, not lost. */
static void a_full_queue_pushes_back_then_resumes(void **state)
{
    (void)state;
    static peer_log log = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    sm_net_slirp *s;
    assert_int_equal(sm_net_slirp_new(NULL, 0, 1500, &s), 0);
    uint8_t f[60];
    struct iovec iov = {f, arp_request(f)};
    unsigned accepted = 0;
    int rc;
    while ((rc = sm_net_slirp_send(s, &iov, 1, iov.iov_len)) == 0 && accepted < 10000)
        accepted++;
    assert_int_equal(rc, -EAGAIN);
    assert_true(accepted >= 16 && accepted < 10000);
    sm_net_slirp_peer peer = {peer_deliver, peer_resume, &log};
    assert_int_equal(sm_net_slirp_start(s, &peer), 0);
    assert_true(wait_for(&log, &log.resumes, 1));
    assert_int_equal(sm_net_slirp_send(s, &iov, 1, iov.iov_len), 0);
    sm_net_slirp_free(s);
}

/* ---- frames that open host sockets ---- */

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An IPv4 frame from the guest to 10.0.2.2: proto, its payload of len. */
static size_t ip_frame(uint8_t *f, uint8_t proto, const uint8_t *l4, size_t len)
{
    static const uint8_t guest_mac[6] = {0x02, 0x53, 0x4d, 0x00, 0x00, 0x01};
    memset(f, 0, 14 + 20);
    memset(f, 0x52, 6);
    memcpy(f + 6, guest_mac, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + len) >> 8), ip[3] = (uint8_t)(20 + len);
    ip[8] = 64;
    ip[9] = proto;
    inet_pton(AF_INET, SM_NET_GUEST_IP, ip + 12);
    inet_pton(AF_INET, SM_NET_GATEWAY_IP, ip + 16);
    uint16_t c = csum(0, ip, 20);
    ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
    memcpy(ip + 20, l4, len);
    return 14 + 20 + len;
}

/* A TCP segment of `flags` from guest port sport to dport, checksummed. */
static size_t tcp_frame(uint8_t *f, uint16_t sport, uint16_t dport, uint8_t flags)
{
    uint8_t t[20] = {(uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8),
                     (uint8_t)dport, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, flags, 0xfa, 0xf0};
    uint8_t pseudo[12] = {0};
    inet_pton(AF_INET, SM_NET_GUEST_IP, pseudo);
    inet_pton(AF_INET, SM_NET_GATEWAY_IP, pseudo + 4);
    pseudo[9] = 6, pseudo[11] = 20;
    uint32_t sum = 0;
    for (int i = 0; i < 12; i += 2)
        sum += (uint32_t)(pseudo[i] << 8 | pseudo[i + 1]);
    uint16_t c = csum(sum, t, 20);
    t[16] = (uint8_t)(c >> 8), t[17] = (uint8_t)c;
    return ip_frame(f, 6, t, 20);
}

static void tells_what_opens_a_socket(void **state)
{
    (void)state;
    uint8_t f[128];
    assert_int_equal(sm_net_flow_of(f, tcp_frame(f, 1000, 80, 0x02)), SM_NET_FLOW_TCP);
    assert_int_equal(sm_net_flow_of(f, tcp_frame(f, 1000, 80, 0x12)), SM_NET_FLOW_NONE);
    assert_int_equal(sm_net_flow_of(f, tcp_frame(f, 1000, 80, 0x10)), SM_NET_FLOW_NONE);
    uint8_t udp[8] = {0, 53, 0, 53, 0, 8};
    assert_int_equal(sm_net_flow_of(f, ip_frame(f, 17, udp, 8)), SM_NET_FLOW_OTHER);
    uint8_t echo[8] = {8}, reply[8] = {0};
    assert_int_equal(sm_net_flow_of(f, ip_frame(f, 1, echo, 8)), SM_NET_FLOW_OTHER);
    assert_int_equal(sm_net_flow_of(f, ip_frame(f, 1, reply, 8)), SM_NET_FLOW_NONE);
    size_t n = ip_frame(f, 17, udp, 8);
    f[14 + 7] = 8;                                   /* a later fragment */
    assert_int_equal(sm_net_flow_of(f, n), SM_NET_FLOW_NONE);
    assert_int_equal(sm_net_flow_of(f, arp_request(f)), SM_NET_FLOW_NONE);
    n = tcp_frame(f, 1000, 80, 0x02);
    assert_int_equal(sm_net_flow_of(f, 14 + 20 + 10), SM_NET_FLOW_NONE);  /* cut short */
    assert_int_equal(sm_net_flow_of(f, 20), SM_NET_FLOW_NONE);
    (void)n;
}

/* Connections a guest opens through slirp past the bound never reach the
 * host: its SYNs are dropped. */
static void tcp_connections_are_bounded(void **state)
{
    (void)state;
    static peer_log log = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    uint16_t port;
    int l = listener(&port);
    assert_int_equal(listen(l, 16), 0);   /* room for all eight, were they let through */
    assert_int_equal(fcntl(l, F_SETFL, O_NONBLOCK), 0);
    sm_net_slirp *s;
    assert_int_equal(sm_net_slirp_new(NULL, 0, 1500, &s), 0);
    sm_net_slirp_limit_tcp(s, 3);
    sm_net_slirp_peer peer = {peer_deliver, peer_resume, &log};
    assert_int_equal(sm_net_slirp_start(s, &peer), 0);
    uint8_t f[128];
    for (uint16_t i = 0; i < 8; i++) {
        struct iovec iov = {f, tcp_frame(f, (uint16_t)(40000 + i), port, 0x02)};
        assert_int_equal(sm_net_slirp_send(s, &iov, 1, iov.iov_len), 0);
    }
    /* Two seconds of accepting, each connection kept open so that it
     * stays counted. */
    unsigned accepted = 0;
    for (int tick = 0; tick < 100; tick++) {
        while (accept4(l, NULL, NULL, SOCK_NONBLOCK) >= 0)
            accepted++;
        usleep(20 * 1000);
    }
    assert_int_equal(accepted, 3);
    sm_net_slirp_free(s);
    close(l);
}

/* A UDP datagram (no checksum) from guest port sport to 10.0.2.2:dport. */
static size_t udp_frame(uint8_t *f, uint16_t sport, uint16_t dport)
{
    uint8_t u[12] = {(uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8),
                     (uint8_t)dport, 0, 12, 0, 0, 'p', 'i', 'n', 'g'};
    return ip_frame(f, 17, u, sizeof u);
}

static unsigned datagrams_in(int fd, int ms)
{
    unsigned n = 0;
    char buf[64];
    for (int t = 0; t < ms / 20; t++) {
        while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
            n++;
        usleep(20 * 1000);
    }
    return n;
}

/* With under a quarter of the descriptor limit free, a guest's new UDP
 * flows (a socket each) are dropped; with room again they go through. */
static void new_flows_wait_for_free_descriptors(void **state)
{
    (void)state;
    static peer_log log = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    struct rlimit was, low;
    getrlimit(RLIMIT_NOFILE, &was);
    low = (struct rlimit){64, was.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(u, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(u, (struct sockaddr *)&a, &alen), 0);
    sm_net_slirp *s;
    assert_int_equal(sm_net_slirp_new(NULL, 0, 1500, &s), 0);
    sm_net_slirp_peer peer = {peer_deliver, peer_resume, &log};
    assert_int_equal(sm_net_slirp_start(s, &peer), 0);
    int hog[64], nhog = 0;
    while (nhog < 64 && (hog[nhog] = dup(u)) >= 0 && hog[nhog] < 52)
        nhog++;
    uint8_t f[128];
    for (uint16_t i = 0; i < 4; i++) {
        struct iovec iov = {f, udp_frame(f, (uint16_t)(30000 + i), ntohs(a.sin_port))};
        assert_int_equal(sm_net_slirp_send(s, &iov, 1, iov.iov_len), 0);
    }
    assert_int_equal(datagrams_in(u, 500), 0);
    while (nhog >= 0)
        close(hog[nhog--]);
    struct iovec iov = {f, udp_frame(f, 31000, ntohs(a.sin_port))};
    assert_int_equal(sm_net_slirp_send(s, &iov, 1, iov.iov_len), 0);
    assert_int_equal(datagrams_in(u, 500), 1);
    sm_net_slirp_free(s);
    close(u);
    setrlimit(RLIMIT_NOFILE, &was);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_forms_docker_takes),
        cmocka_unit_test(refuses_bad_specs_with_a_reason),
        cmocka_unit_test(formats_what_it_parses),
        cmocka_unit_test(a_port_in_use_fails_naming_it),
        cmocka_unit_test(a_published_port_listens_until_freed),
        cmocka_unit_test(an_address_not_of_this_host_is_named),
        cmocka_unit_test(answers_arp_for_the_gateway),
        cmocka_unit_test(a_published_port_reaches_the_guest_without_arp),
        cmocka_unit_test(a_full_queue_pushes_back_then_resumes),
        cmocka_unit_test(tells_what_opens_a_socket),
        cmocka_unit_test(tcp_connections_are_bounded),
        cmocka_unit_test(new_flows_wait_for_free_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
