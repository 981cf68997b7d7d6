/* TCP into the guest without a network: sm_vm_connect asks the agent to
 * connect to a port on the guest's loopback and hands back the stream;
 * sm_vm_expose_tcp listens on the host and does the same for every
 * connection it accepts, passing bytes from one thread per exposure.
 *
 * That thread runs one poll loop over all its connections. Each direction
 * of a connection has one fixed buffer and a side is not read while the
 * buffer toward its peer is full, so a slow peer stalls only its own
 * connection and memory stays bounded (MAX_LINKS connections, two buffers
 * each). The end of one side's stream is passed on as shutdown(SHUT_WR)
 * once the buffer toward the other side has drained. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/client.h"
#include "agent/protocol.h"
#include "lib/vm_int.h"
#include "lib/vsock_dial.h"
#include "supermachine.h"
#include "util/error.h"
#include "util/log.h"

#define LINK_BUF (64u << 10)
#define MAX_LINKS 256
#define BACKLOG 128

int sm_vm_connect(sm_vm *vm, uint16_t guest_port, int *out)
{
    if (!vm || !out || !guest_port)
        return sm_fail(EINVAL, "sm_vm_connect needs a VM, a guest port from 1 to 65535 "
                       "and a place for the socket");
    int fd;
    int err = sm_vsock_dial(vm->dir, SM_AGENT_PORT, &fd);
    if (err)
        return sm_fail_context(err, "the VM's agent is not answering");
    err = sm_agent_tcp_open(fd, guest_port);
    if (err) {
        close(fd);
        return err;
    }
    *out = fd;
    return 0;
}

/* ---- one forwarded connection ---- */

typedef struct flow {
    uint8_t buf[LINK_BUF];
    size_t off, len;          /* bytes buf[off..len) wait to be written */
    bool eof;                 /* the source has ended */
    bool shut;                /* the end was passed to the sink */
} flow;

typedef struct fwd {
    struct fwd *next;
    int host_fd, guest_fd;
    bool ready;               /* the agent has answered OK */
    sm_agent_tcp_reply reply;
    flow up, down;            /* host -> guest, guest -> host */
} fwd;

struct sm_tcp_exposure {
    struct sm_tcp_exposure *next;
    sm_vm *vm;
    int listen_fd, stop_fd;
    uint16_t host_port, guest_port;
    pthread_t thread;
    fwd *links;
    unsigned nlinks;
    struct pollfd pfd[2 + 2 * MAX_LINKS];
};

/* A reset tells the host's client that nothing was there. */
static void close_reset(int fd)
{
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){1, 0}, sizeof(struct linger));
    close(fd);
}

static void fwd_close(fwd *l, bool reset)
{
    if (reset)
        close_reset(l->host_fd);
    else
        close(l->host_fd);
    close(l->guest_fd);
    free(l);
}

/* A new forwarded connection with its request to the agent sent; the
 * answer comes later, in the loop. The vsock dial itself waits only for
 * the guest's kernel, not for the agent. */
static void fwd_open(struct sm_tcp_exposure *x, int host_fd)
{
    fwd *l = malloc(sizeof *l);
    int fd = -1, err = l ? sm_vsock_dial(x->vm->dir, SM_AGENT_PORT, &fd)
                         : sm_fail(ENOMEM, "out of memory");
    if (!err && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
        err = sm_fail(errno, "cannot make the agent's socket non-blocking");
    if (!err)
        err = sm_agent_tcp_send(fd, x->guest_port, &l->reply);
    if (err) {
        sm_debug("forwarding to guest port %u: %s", x->guest_port, sm_last_error());
        close_reset(host_fd);
        if (fd >= 0)
            close(fd);
        free(l);
        return;
    }
    l->host_fd = host_fd;
    l->guest_fd = fd;
    l->ready = false;
    l->up.off = l->up.len = l->down.off = l->down.len = 0;
    l->up.eof = l->up.shut = l->down.eof = l->down.shut = false;
    l->next = x->links;
    x->links = l;
    x->nlinks++;
}

static void accept_one(struct sm_tcp_exposure *x)
{
    int fd = accept4(x->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        fwd_open(x, fd);
}

/* Read from fd into the flow: false when the connection must close. */
static bool fill(flow *f, int fd)
{
    if (f->eof || f->len == sizeof f->buf)
        return true;
    ssize_t n = read(fd, f->buf + f->len, sizeof f->buf - f->len);
    if (n > 0)
        f->len += (size_t)n;
    else if (n == 0)
        f->eof = true;
    else if (errno != EAGAIN && errno != EINTR)
        return false;
    return true;
}

/* Write the flow's bytes to fd, and its end once they are out. */
static bool drain(flow *f, int fd)
{
    if (f->off < f->len) {
        ssize_t n = send(fd, f->buf + f->off, f->len - f->off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        f->off += (size_t)n;
        if (f->off == f->len)
            f->off = f->len = 0;
    }
    if (f->eof && !f->shut && f->off == f->len) {
        shutdown(fd, SHUT_WR);
        f->shut = true;
    }
    return true;
}

static short interest(const flow *in, const flow *out)
{
    short ev = 0;
    if (!in->eof && in->len < sizeof in->buf)
        ev |= POLLIN;
    if (out->off < out->len)
        ev |= POLLOUT;
    return ev;
}

/* The poll entries of a connection; an fd with nothing to wait for is
 * left out, or its hang-up would wake the loop for nothing. */
static void fwd_poll(const fwd *l, struct pollfd *p)
{
    short h = interest(&l->up, &l->down);
    short g = l->ready ? interest(&l->down, &l->up) : POLLIN;
    p[0] = (struct pollfd){.fd = h ? l->host_fd : -1, .events = h};
    p[1] = (struct pollfd){.fd = g ? l->guest_fd : -1, .events = g};
}

#define ANY (POLLIN | POLLOUT | POLLHUP | POLLERR)

/* Serve one connection's events: false when it is done or broken. */
static bool fwd_step(struct sm_tcp_exposure *x, fwd *l, const struct pollfd *p)
{
    if (!l->ready && p[1].revents) {
        int r = sm_agent_tcp_reply_read(l->guest_fd, &l->reply);
        if (r < 0) {
            sm_debug("forwarding to guest port %u: %s", x->guest_port, sm_last_error());
            return false;
        }
        l->ready = r == 1;
    }
    bool ok = true;
    if (p[0].revents & ANY)
        ok = fill(&l->up, l->host_fd) && drain(&l->down, l->host_fd);
    if (ok && l->ready && (p[1].revents & ANY))
        ok = fill(&l->down, l->guest_fd);
    /* Bytes the host sent while the agent was connecting go now. */
    if (ok && l->ready)
        ok = drain(&l->up, l->guest_fd) && drain(&l->down, l->host_fd);
    return ok && !(l->up.shut && l->down.shut);
}

static void *serve(void *arg)
{
    struct sm_tcp_exposure *x = arg;
    fwd *by_slot[MAX_LINKS];
    for (;;) {
        x->pfd[0] = (struct pollfd){.fd = x->stop_fd, .events = POLLIN};
        x->pfd[1] = (struct pollfd){.fd = x->nlinks < MAX_LINKS ? x->listen_fd : -1,
                                    .events = POLLIN};
        unsigned n = 0;
        for (fwd *l = x->links; l; l = l->next) {
            by_slot[n] = l;
            fwd_poll(l, &x->pfd[2 + 2 * n]);
            n++;
        }
        if (poll(x->pfd, 2 + 2 * n, -1) < 0) {
            if (errno == EINTR)
                continue;
            sm_debug("forwarding to guest port %u stopped: poll: %s", x->guest_port,
                     strerror(errno));
            break;
        }
        if (x->pfd[0].revents)
            break;
        /* The list is in poll order: new links join it only after this. */
        fwd **pl = &x->links;
        for (unsigned slot = 0; slot < n; slot++) {
            fwd *l = by_slot[slot];
            if (fwd_step(x, l, &x->pfd[2 + 2 * slot])) {
                pl = &l->next;
            } else {
                *pl = l->next;
                x->nlinks--;
                fwd_close(l, !l->ready);
            }
        }
        if (x->pfd[1].revents & POLLIN)
            accept_one(x);
    }
    return NULL;
}

/* ---- exposures ---- */

/* "127.0.0.1", "::1" or "[::1]" and a port as a socket address. */
static int parse_address(const char *ip, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(ip);
    if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']' && n - 2 < sizeof host)
        snprintf(host, sizeof host, "%.*s", (int)(n - 2), ip + 1);
    else
        snprintf(host, sizeof host, "%s", ip);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return 0;
    }
    return sm_fail(EINVAL, "cannot listen on %s: not an IPv4 or IPv6 address", ip);
}

static int listen_on(const char *ip, uint16_t *port, int *out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int err = parse_address(ip, *port, &ss, &len);
    if (err)
        return err;
    const char *l = ss.ss_family == AF_INET6 && ip[0] != '[' ? "[" : "";
    const char *r = *l ? "]" : "";
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* Reuse: a port left in TIME_WAIT by an earlier run binds again; one
     * that something listens on still fails. */
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (e == EADDRINUSE)
            return sm_fail(e, "cannot listen on %s%s%s:%u: the port is in use; choose another "
                           "host port (0 picks a free one)", l, ip, r, *port);
        return sm_fail(e, "cannot listen on %s%s%s:%u: %s", l, ip, r, *port, strerror(e));
    }
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    *out = fd;
    return 0;
}

static void exposure_free(struct sm_tcp_exposure *x)
{
    if (x->listen_fd >= 0)
        close(x->listen_fd);
    if (x->stop_fd >= 0)
        close(x->stop_fd);
    while (x->links) {
        fwd *l = x->links;
        x->links = l->next;
        fwd_close(l, false);
    }
    free(x);
}

int sm_vm_expose_tcp(sm_vm *vm, const char *host_ip, uint16_t *host_port, uint16_t guest_port)
{
    if (!vm || !host_port || !guest_port)
        return sm_fail(EINVAL, "sm_vm_expose_tcp needs a VM, a host port (0: any) and a "
                       "guest port from 1 to 65535");
    struct sm_tcp_exposure *x = calloc(1, sizeof *x);
    if (!x)
        return sm_fail(ENOMEM, "out of memory");
    *x = (struct sm_tcp_exposure){.vm = vm, .guest_port = guest_port, .listen_fd = -1,
                                  .stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    uint16_t port = *host_port;
    int err = x->stop_fd < 0 ? sm_fail(errno, "cannot make an eventfd: %s", strerror(errno))
                             : listen_on(host_ip ? host_ip : "127.0.0.1", &port, &x->listen_fd);
    if (!err && (err = pthread_create(&x->thread, NULL, serve, x)) != 0)
        err = sm_fail(err, "cannot start the forwarding thread: %s", strerror(err));
    if (err) {
        exposure_free(x);
        return err;
    }
    x->host_port = port;
    pthread_mutex_lock(&vm->tcp_lock);
    x->next = vm->tcp_exposures;
    vm->tcp_exposures = x;
    pthread_mutex_unlock(&vm->tcp_lock);
    *host_port = port;
    return 0;
}

/* Stop the exposures of list (taken out of the handle) and free them. */
static void stop_all(struct sm_tcp_exposure *x)
{
    while (x) {
        struct sm_tcp_exposure *next = x->next;
        ssize_t n = write(x->stop_fd, &(uint64_t){1}, sizeof(uint64_t));
        (void)n;
        pthread_join(x->thread, NULL);
        exposure_free(x);
        x = next;
    }
}

int sm_vm_unexpose_tcp(sm_vm *vm, uint16_t host_port)
{
    if (!vm || !host_port)
        return sm_fail(EINVAL, "sm_vm_unexpose_tcp needs a VM and the host port it exposed");
    struct sm_tcp_exposure *gone = NULL;
    pthread_mutex_lock(&vm->tcp_lock);
    for (struct sm_tcp_exposure **at = &vm->tcp_exposures; *at;) {
        struct sm_tcp_exposure *x = *at;
        if (x->host_port != host_port) {
            at = &x->next;
            continue;
        }
        *at = x->next;
        x->next = gone;
        gone = x;
    }
    pthread_mutex_unlock(&vm->tcp_lock);
    if (!gone)
        return sm_fail(ENOENT, "VM %.12s exposes nothing on host port %u", vm->id, host_port);
    stop_all(gone);
    return 0;
}

void sm_vm_tcp_unexpose_all(sm_vm *vm)
{
    pthread_mutex_lock(&vm->tcp_lock);
    struct sm_tcp_exposure *x = vm->tcp_exposures;
    vm->tcp_exposures = NULL;
    pthread_mutex_unlock(&vm->tcp_lock);
    stop_all(x);
}
