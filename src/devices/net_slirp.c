#include "devices/net_slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "devices/net_flow.h"
#include "util/error.h"
#include "util/log.h"
#include "util/clock.h"

/* Frames waiting for the slirp thread; past this the device keeps them
 * in its ring (back-pressure) instead of losing them. */
#define MAX_QUEUED 256

typedef struct frame {
    struct frame *next;
    size_t len;
    uint8_t data[];
} frame;

typedef struct timer {
    struct timer *next;
    SlirpTimerCb cb;
    void *cb_opaque;
    int64_t expire_ms;          /* -1: not armed */
} timer;

struct sm_net_slirp {
    Slirp *slirp;
    sm_net_slirp_peer peer;
    int wake_fd;                /* eventfd: frames queued, or stop */
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;       /* guards the queue, want_resume, stop */
    frame *head, **tail;
    unsigned queued;
    bool want_resume, stop;
    /* Owned by the slirp thread once it runs. */
    struct pollfd *pfd;
    unsigned npfd, cap;
    timer *timers;
    uint8_t *tcp_fd;            /* libslirp's TCP sockets, by fd: 1 if open */
    unsigned tcp_fd_len, tcp_open, max_tcp;
    rlim_t fd_limit;            /* RLIMIT_NOFILE when made (a confined worker
                                   may not ask again) */
};

/* ---- published ports ---- */

static int parse_port(const char *s, size_t len, uint16_t *out)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

static bool valid_ip(const char *ip)
{
    uint8_t buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

/* Everything before the ports is the address, brackets optional. */
static int parse_ip(const char *s, size_t len, char *out, size_t cap)
{
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
        s++, len -= 2;
    if (len >= cap)
        return -EINVAL;
    memcpy(out, s, len);
    out[len] = '\0';
    return len == 0 || valid_ip(out) ? 0 : -EINVAL;
}

static int bad_spec(const char *spec)
{
    return sm_fail(EINVAL, "cannot publish '%s': write [IP:]HOST_PORT:GUEST_PORT[/udp], "
                   "with ports from 1 to 65535", spec);
}

int sm_net_port_parse(const char *spec, sm_net_port *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(spec);
    const char *slash = strrchr(spec, '/');
    if (slash) {
        if (!strcmp(slash, "/udp"))
            out->udp = true;
        else if (strcmp(slash, "/tcp"))
            return bad_spec(spec);
        len = (size_t)(slash - spec);
    }
    const char *guest = memrchr(spec, ':', len);
    if (!guest || parse_port(guest + 1, len - (size_t)(guest + 1 - spec), &out->guest_port))
        return bad_spec(spec);
    const char *host = memrchr(spec, ':', (size_t)(guest - spec));
    const char *host_start = host ? host + 1 : spec;
    if (parse_port(host_start, (size_t)(guest - host_start), &out->host_port))
        return bad_spec(spec);
    if (host && parse_ip(spec, (size_t)(host - spec), out->host_ip, sizeof out->host_ip))
        return sm_fail(EINVAL, "cannot publish '%s': '%.*s' is not an IP address", spec,
                       (int)(host - spec), spec);
    return 0;
}

int sm_net_port_format(const sm_net_port *p, char *buf, size_t len)
{
    const char *ip = p->host_ip[0] ? p->host_ip : "127.0.0.1";
    bool v6 = strchr(ip, ':') != NULL;
    int n = snprintf(buf, len, "%s%s%s:%u:%u%s", v6 ? "[" : "", ip, v6 ? "]" : "",
                     p->host_port, p->guest_port, p->udp ? "/udp" : "");
    return n < 0 || (size_t)n >= len ? -E2BIG : 0;
}

/* ---- slirp's callbacks ---- */

static void wake(sm_net_slirp *s)
{
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sm_debug("slirp: wake-up: %s", strerror(errno));
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    sm_net_slirp *s = opaque;
    /* A frame the guest had no room for is lost, as on a busy wire. */
    if (s->peer.deliver)
        s->peer.deliver(s->peer.ctx, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    (void)opaque;
    sm_debug("slirp: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return (int64_t)sm_now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    sm_net_slirp *s = opaque;
    timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    *t = (timer){.next = s->timers, .cb = cb, .cb_opaque = cb_opaque, .expire_ms = -1};
    s->timers = t;
    return t;
}

static void cb_timer_free(void *tp, void *opaque)
{
    sm_net_slirp *s = opaque;
    for (timer **p = &s->timers; *p; p = &(*p)->next) {
        if (*p == tp) {
            *p = (*p)->next;
            free(tp);
            return;
        }
    }
}

static void cb_timer_mod(void *tp, int64_t expire_ms, void *opaque)
{
    (void)opaque;
    ((timer *)tp)->expire_ms = expire_ms;
}

/* libslirp tells of the TCP sockets it opens and closes (connections out
 * and in) here; every fd is polled afresh each round, so this is only a
 * count. It also tells of UDP and ICMP sockets closing, never opening:
 * those are not in the set and change nothing. */
static void cb_register_poll_fd(int fd, void *opaque)
{
    sm_net_slirp *s = opaque;
    if (fd < 0)
        return;
    if ((unsigned)fd >= s->tcp_fd_len) {
        unsigned len = (unsigned)fd + 1 > 2 * s->tcp_fd_len ? (unsigned)fd + 1 : 2 * s->tcp_fd_len;
        uint8_t *p = realloc(s->tcp_fd, len);
        if (!p)
            return;
        memset(p + s->tcp_fd_len, 0, len - s->tcp_fd_len);
        s->tcp_fd = p;
        s->tcp_fd_len = len;
    }
    s->tcp_open += !s->tcp_fd[fd];
    s->tcp_fd[fd] = 1;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
    sm_net_slirp *s = opaque;
    if (fd >= 0 && (unsigned)fd < s->tcp_fd_len && s->tcp_fd[fd]) {
        s->tcp_fd[fd] = 0;
        s->tcp_open--;
    }
}

static void cb_notify(void *opaque)
{
    wake(opaque);
}

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet, .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns, .timer_new = cb_timer_new,
    .timer_free = cb_timer_free, .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd, .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
};

/* ---- the poll loop ---- */

static int add_poll(int fd, int events, void *opaque)
{
    sm_net_slirp *s = opaque;
    if (s->npfd == s->cap) {
        unsigned cap = s->cap ? 2 * s->cap : 32;
        struct pollfd *p = realloc(s->pfd, cap * sizeof *p);
        if (!p)
            return -1; /* this socket sits out a round */
        s->pfd = p;
        s->cap = cap;
    }
    short ev = 0;
    if (events & SLIRP_POLL_IN) ev |= POLLIN;
    if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
    s->pfd[s->npfd] = (struct pollfd){.fd = fd, .events = ev};
    return (int)s->npfd++;
}

static int get_revents(int idx, void *opaque)
{
    sm_net_slirp *s = opaque;
    if (idx < 0 || (unsigned)idx >= s->npfd)
        return 0;
    short re = s->pfd[idx].revents;
    int ev = 0;
    if (re & POLLIN) ev |= SLIRP_POLL_IN;
    if (re & POLLOUT) ev |= SLIRP_POLL_OUT;
    if (re & POLLPRI) ev |= SLIRP_POLL_PRI;
    if (re & POLLERR) ev |= SLIRP_POLL_ERR;
    if (re & POLLHUP) ev |= SLIRP_POLL_HUP;
    return ev;
}

/* Milliseconds until the next armed timer, at most `limit`. */
static uint32_t next_timer_ms(const sm_net_slirp *s, uint32_t limit)
{
    int64_t now = (int64_t)sm_now_ns() / 1000000;
    for (const timer *t = s->timers; t; t = t->next) {
        if (t->expire_ms < 0)
            continue;
        int64_t left = t->expire_ms - now;
        if (left < 0)
            left = 0;
        if ((uint64_t)left < limit)
            limit = (uint32_t)left;
    }
    return limit;
}

static void run_timers(sm_net_slirp *s)
{
    int64_t now = (int64_t)sm_now_ns() / 1000000;
    /* A callback may re-arm or free timers: restart after each one. */
    for (bool fired = true; fired;) {
        fired = false;
        for (timer *t = s->timers; t; t = t->next) {
            if (t->expire_ms >= 0 && t->expire_ms <= now) {
                t->expire_ms = -1;
                t->cb(t->cb_opaque);
                fired = true;
                break;
            }
        }
    }
}

/* Whether less than a quarter of the descriptor limit is free: the
 * lowest free descriptor has every one below it in use. */
static bool fds_short(const sm_net_slirp *s)
{
    int fd = fcntl(s->wake_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return true;
    close(fd);
    return (rlim_t)fd >= s->fd_limit - s->fd_limit / 4;
}

/* Whether a frame may reach slirp: one that would open a socket past the
 * bounds is dropped (the guest retries or times out, as behind a full NAT
 * table). `short_fds` is looked up once a batch, when first needed. */
static bool admit(sm_net_slirp *s, const frame *f, int *short_fds)
{
    sm_net_flow k = sm_net_flow_of(f->data, f->len);
    if (k == SM_NET_FLOW_NONE)
        return true;
    if (k == SM_NET_FLOW_TCP && s->tcp_open >= s->max_tcp)
        return false;
    if (*short_fds < 0)
        *short_fds = fds_short(s);
    return !*short_fds;
}

/* Hand the queued frames to slirp, then let a stalled device go on. */
static void drain(sm_net_slirp *s)
{
    uint64_t n;
    if (read(s->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
        sm_debug("slirp: wake-up read: %s", strerror(errno));
    pthread_mutex_lock(&s->lock);
    frame *f = s->head;
    bool resume = s->want_resume;
    s->head = NULL;
    s->tail = &s->head;
    s->queued = 0;
    s->want_resume = false;
    pthread_mutex_unlock(&s->lock);
    int short_fds = -1;
    while (f) {
        frame *next = f->next;
        if (admit(s, f, &short_fds))
            slirp_input(s->slirp, f->data, (int)f->len);
        free(f);
        f = next;
    }
    if (resume && s->peer.resume)
        s->peer.resume(s->peer.ctx);
}

static bool stopping(sm_net_slirp *s)
{
    pthread_mutex_lock(&s->lock);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

/* A gratuitous ARP from the guest (sender and target its own address):
 * slirp files the guest's MAC and answers nothing. Without it, the first
 * packet slirp has for the guest waits for an ARP exchange with it, which
 * after a restore is a round trip through a guest that has just woken. */
static void learn_guest(sm_net_slirp *s)
{
    uint8_t f[60] = {0};
    struct in_addr ip;
    inet_pton(AF_INET, SM_NET_GUEST_IP, &ip);
    memset(f, 0xff, 6);                              /* to everyone */
    memcpy(f + 6, s->peer.guest_mac, 6);
    f[12] = 0x08, f[13] = 0x06;                      /* ARP */
    f[14] = 0x00, f[15] = 0x01;                      /* Ethernet */
    f[16] = 0x08, f[17] = 0x00;                      /* IPv4 */
    f[18] = 6, f[19] = 4;
    f[20] = 0x00, f[21] = 0x01;                      /* request */
    memcpy(f + 22, s->peer.guest_mac, 6);
    memcpy(f + 28, &ip, 4);
    memcpy(f + 38, &ip, 4);
    slirp_input(s->slirp, f, (int)sizeof f);
}

static void *slirp_thread(void *arg)
{
    sm_net_slirp *s = arg;
    bool again = false;
    learn_guest(s);
    while (!stopping(s)) {
        s->npfd = 0;
        add_poll(s->wake_fd, SLIRP_POLL_IN, s);
        uint32_t timeout = again ? 0 : next_timer_ms(s, UINT32_MAX);
        slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
        int n = poll(s->pfd, s->npfd, timeout > INT_MAX ? -1 : (int)timeout);
        if (n < 0 && errno != EINTR)
            sm_debug("slirp: poll: %s", strerror(errno));
        slirp_pollfds_poll(s->slirp, n < 0, get_revents, s);
        run_timers(s);
        /* libslirp sends what waited for an address (an ARP answer just
         * handed to it) only at the end of a poll: one more pass at once,
         * rather than after its next timer, up to a second away. */
        again = n > 0 && (s->pfd[0].revents & POLLIN);
        if (again)
            drain(s);
    }
    return NULL;
}

/* ---- frames from the guest ---- */

int sm_net_slirp_send(void *opaque, const struct iovec *iov, unsigned niov, size_t len)
{
    sm_net_slirp *s = opaque;
    pthread_mutex_lock(&s->lock);
    if (s->queued >= MAX_QUEUED) {
        s->want_resume = true;
        pthread_mutex_unlock(&s->lock);
        return -EAGAIN;
    }
    pthread_mutex_unlock(&s->lock);
    frame *f = malloc(sizeof *f + len);
    if (!f)
        return -ENOMEM;
    f->next = NULL;
    f->len = 0;
    for (unsigned i = 0; i < niov && f->len < len; i++) {
        size_t chunk = iov[i].iov_len < len - f->len ? iov[i].iov_len : len - f->len;
        memcpy(f->data + f->len, iov[i].iov_base, chunk);
        f->len += chunk;
    }
    pthread_mutex_lock(&s->lock);
    bool was_empty = !s->head;
    *s->tail = f;
    s->tail = &f->next;
    s->queued++;
    pthread_mutex_unlock(&s->lock);
    if (was_empty)
        wake(s);
    return 0;
}

/* ---- setup ---- */

static int forward_failed(const sm_net_port *p, const char *ip, int err)
{
    const char *proto = p->udp ? "UDP" : "TCP";
    if (err == EADDRINUSE)
        return sm_fail(err, "cannot publish host port %u (%s %s): it is already in use; "
                       "choose another host port", p->host_port, proto, ip);
    if (err == EACCES)
        return sm_fail(err, "cannot publish host port %u (%s %s): ports below 1024 need "
                       "privileges; choose a higher host port", p->host_port, proto, ip);
    if (err == EADDRNOTAVAIL)
        return sm_fail(err, "cannot publish host port %u: %s is not an address of this host",
                       p->host_port, ip);
    return sm_fail(err ? err : EIO, "cannot publish host port %u (%s %s): %s", p->host_port,
                   proto, ip, strerror(err ? err : EIO));
}

static int add_forward(sm_net_slirp *s, const sm_net_port *p)
{
    const char *ip = p->host_ip[0] ? p->host_ip : "127.0.0.1";
    struct sockaddr_storage host = {0};
    socklen_t hlen;
    struct sockaddr_in *h4 = (struct sockaddr_in *)&host;
    struct sockaddr_in6 *h6 = (struct sockaddr_in6 *)&host;
    if (inet_pton(AF_INET, ip, &h4->sin_addr) == 1) {
        h4->sin_family = AF_INET;
        h4->sin_port = htons(p->host_port);
        hlen = sizeof *h4;
    } else if (inet_pton(AF_INET6, ip, &h6->sin6_addr) == 1) {
        h6->sin6_family = AF_INET6;
        h6->sin6_port = htons(p->host_port);
        hlen = sizeof *h6;
    } else {
        return sm_fail(EINVAL, "cannot publish host port %u: '%s' is not an IP address",
                       p->host_port, ip);
    }
    struct sockaddr_in guest = {.sin_family = AF_INET, .sin_port = htons(p->guest_port)};
    inet_pton(AF_INET, SM_NET_GUEST_IP, &guest.sin_addr);
    errno = 0;
    if (slirp_add_hostxfwd(s->slirp, (struct sockaddr *)&host, hlen,
                           (struct sockaddr *)&guest, sizeof guest,
                           p->udp ? SLIRP_HOSTFWD_UDP : 0) < 0)
        return forward_failed(p, ip, errno);
    return 0;
}

static int create_stack(sm_net_slirp *s, uint16_t mtu)
{
    SlirpConfig cfg = {.version = 1, .in_enabled = true, .if_mtu = mtu, .if_mru = mtu};
    inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
    inet_pton(AF_INET, SM_NET_GATEWAY_IP, &cfg.vhost);
    inet_pton(AF_INET, SM_NET_GUEST_IP, &cfg.vdhcp_start);
    inet_pton(AF_INET, SM_NET_DNS_IP, &cfg.vnameserver);
    s->slirp = slirp_new(&cfg, &callbacks, s);
    return s->slirp ? 0 : sm_fail(ENOMEM, "cannot set up user-mode networking (libslirp)");
}

int sm_net_slirp_new(const sm_net_port *ports, unsigned nports, uint16_t mtu,
                     sm_net_slirp **out)
{
    sm_net_slirp *s = calloc(1, sizeof *s);
    if (!s)
        return sm_fail(ENOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    s->tail = &s->head;
    s->max_tcp = SM_NET_MAX_TCP;
    struct rlimit rl;
    s->fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                      ? rl.rlim_cur : (rlim_t)1 << 20;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int err = s->wake_fd < 0 ? sm_fail(errno, "eventfd: %s", strerror(errno))
                             : create_stack(s, mtu);
    for (unsigned i = 0; !err && i < nports; i++)
        err = add_forward(s, &ports[i]);
    if (err) {
        sm_net_slirp_free(s);
        return err;
    }
    *out = s;
    return 0;
}

void sm_net_slirp_limit_tcp(sm_net_slirp *s, unsigned max)
{
    s->max_tcp = max;
}

int sm_net_slirp_start(sm_net_slirp *s, const sm_net_slirp_peer *peer)
{
    s->peer = *peer;
    int rc = pthread_create(&s->thread, NULL, slirp_thread, s);
    if (rc)
        return sm_fail(rc, "cannot start the network thread: %s", strerror(rc));
    pthread_setname_np(s->thread, "sm-slirp");
    s->started = true;
    return 0;
}

void sm_net_slirp_free(sm_net_slirp *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_mutex_unlock(&s->lock);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    if (s->slirp)
        slirp_cleanup(s->slirp);
    while (s->timers)
        cb_timer_free(s->timers, s);
    while (s->head) {
        frame *f = s->head;
        s->head = f->next;
        free(f);
    }
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s->pfd);
    free(s->tcp_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
