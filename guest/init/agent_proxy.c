/* TCP_CONNECT: the agent connects to a TCP port on the guest's loopback
 * and, once connected, passes bytes between that socket and the host's
 * connection until both directions have ended.
 *
 * Each direction goes through one fixed buffer the connection already has
 * (host->guest: `in`; guest->host: `out`, behind the OK frame), and a side
 * is not read while its peer's buffer is full: a slow or hostile peer holds
 * the agent to those two buffers and stalls only its own connection. The
 * end of one side's stream becomes shutdown(SHUT_WR) on the other once the
 * buffer toward it has drained, so half-closed protocols keep working. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_int.h"

/* As conn_run's: the work one connection does per turn. */
#define MAX_ROUNDS 32
#define ET (EPOLLIN | EPOLLRDHUP | EPOLLET)

struct proxy {
    int fd;                         /* the TCP socket */
    watch w;
    uint16_t port;
    int next_addr;                  /* the loopback address to try next: 0 v4, 1 v6 */
    bool refused;                   /* one of them refused */
    bool connecting;
    bool readable, writable, hup;   /* the TCP socket's readiness, as conn's */
    bool host_eof, guest_eof;       /* that side's stream has ended */
    bool host_shut, guest_shut;     /* its end was passed to the other side */
};

/* ---- connecting ---- */

static socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return sizeof *a;
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    return sizeof *a;
}

/* A non-blocking connect, watched from the start: EPOLLOUT (or an error)
 * says when it is done, and later that a full socket has room again. */
static int open_socket(conn *c, proxy *p, int family)
{
    struct sockaddr_storage ss;
    socklen_t len = loopback(family, p->port, &ss);
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r = connect(fd, (struct sockaddr *)&ss, len);
    int err = r < 0 && errno != EINPROGRESS ? -errno : 0;
    if (!err)
        err = agent_watch(c->a, fd, &p->w, ET | EPOLLOUT);
    if (err) {
        close(fd);
        return err;
    }
    p->fd = fd;
    p->connecting = r < 0;
    p->readable = p->writable = !p->connecting;
    p->hup = false;
    return 0;
}

/* Errors after which the other loopback address is worth a try. */
static bool try_next(int err)
{
    return err == ECONNREFUSED || err == EAFNOSUPPORT || err == EADDRNOTAVAIL ||
           err == ENETUNREACH;
}

/* 0 with a connection made or under way, else the errno to report. */
static int next_address(conn *c, proxy *p)
{
    int err = ECONNREFUSED;
    while (p->next_addr < 2) {
        err = -open_socket(c, p, p->next_addr++ ? AF_INET6 : AF_INET);
        if (!err)
            return 0;
        p->refused |= err == ECONNREFUSED;
        if (!try_next(err))
            return err;
    }
    return p->refused ? ECONNREFUSED : err;
}

static void connect_failed(conn *c, int err)
{
    uint16_t port = c->proxy->port;
    proxy_free(c);
    c->state = S_IDLE;
    if (err == ECONNREFUSED)
        conn_reply_error(c, err, "nothing listens on TCP port %u in the guest", port);
    else
        conn_reply_error(c, err, "cannot connect to TCP port %u in the guest: %s", port,
                         strerror(err));
}

static void established(conn *c, proxy *p)
{
    p->connecting = false;
    p->readable = true;  /* the server may have spoken first */
    if (sm_agent_encode_ok(&c->out, 0) < 0)
        c->dead = true;  /* the host stopped reading long ago */
}

static void check_connect(conn *c, proxy *p)
{
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (!soerr) {
        established(c, p);
        return;
    }
    agent_close(c->a, &p->fd);
    p->refused |= soerr == ECONNREFUSED;
    int err = try_next(soerr) ? next_address(c, p) : soerr;
    if (err)
        connect_failed(c, err);
    else if (!p->connecting)
        established(c, p);
}

int proxy_begin(conn *c, const sm_agent_frame *f)
{
    sm_agent_tcp_connect m;
    const char *why = "";
    if (sm_agent_decode_tcp_connect(f, &m, &why) < 0)
        return conn_fail(c, EBADMSG, "bad TCP_CONNECT: %s", why);
    proxy *p = calloc(1, sizeof *p);
    if (!p)
        return conn_reply_error(c, ENOMEM, "no memory for a TCP connection");
    *p = (proxy){.fd = -1, .w = {W_TCP, c}, .port = m.port};
    c->proxy = p;
    c->state = S_PROXY;
    int err = next_address(c, p);
    if (err)
        connect_failed(c, err);
    else if (!p->connecting)
        established(c, p);
    return 0;
}

/* ---- passing bytes ---- */

static bool read_host(conn *c, proxy *p)
{
    if (p->host_eof || !c->readable)
        return false;
    if (c->in_len == c->in_cap) {
        if (!c->in_pos)
            return false;  /* full: the guest side must take some first */
        memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos;
        c->in_pos = 0;
    }
    size_t want = c->in_cap - c->in_len;
    ssize_t n = read(c->fd, c->in + c->in_len, want);
    if (n > 0) {
        c->in_len += (size_t)n;
        /* Drained, unless an end is pending: that edge has been seen. */
        if ((size_t)n < want && !c->hup)
            c->readable = false;
    } else if (n == 0) {
        p->host_eof = true;
    } else if (errno == EAGAIN) {
        c->readable = false;
        return false;
    } else if (errno != EINTR) {
        c->dead = true;
    }
    return true;
}

static bool write_guest(conn *c, proxy *p)
{
    size_t left = c->in_len - c->in_pos;
    if (!left || !p->writable)
        return false;
    ssize_t n = send(p->fd, c->in + c->in_pos, left, MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN)
            p->writable = false;
        else if (errno != EINTR)
            c->dead = true;
        return errno != EAGAIN;
    }
    c->in_pos += (size_t)n;
    if ((size_t)n < left)
        p->writable = false;
    if (c->in_pos == c->in_len)
        c->in_pos = c->in_len = 0;
    return true;
}

static bool read_guest(conn *c, proxy *p)
{
    if (p->guest_eof || !p->readable)
        return false;
    sm_agent_wbuf *b = &c->out;
    if (b->len == b->cap) {
        if (!c->out_off)
            return false;  /* full: the host must take some first */
        memmove(b->data, b->data + c->out_off, b->len - c->out_off);
        b->len -= c->out_off;
        c->out_off = 0;
    }
    size_t want = b->cap - b->len;
    ssize_t n = read(p->fd, b->data + b->len, want);
    if (n > 0) {
        b->len += (size_t)n;
        b->frame_start = b->len;
        if ((size_t)n < want && !p->hup)
            p->readable = false;
    } else if (n == 0) {
        p->guest_eof = true;
    } else if (errno == EAGAIN) {
        p->readable = false;
        return false;
    } else if (errno != EINTR) {
        c->dead = true;
    }
    return true;
}

/* EPOLLOUT on the host's socket only once a write fell short, as conn's
 * own output does. */
static void host_full(conn *c)
{
    c->writable = false;
    if (!c->out_armed) {
        c->out_armed = true;
        if (agent_rewatch(c->a, c->fd, EPOLLOUT | ET) < 0)
            c->dead = true;
    }
}

static bool write_host(conn *c)
{
    sm_agent_wbuf *b = &c->out;
    size_t left = b->len - c->out_off;
    if (!left || !c->writable)
        return false;
    ssize_t n = write(c->fd, b->data + c->out_off, left);
    if (n < 0) {
        if (errno == EAGAIN)
            host_full(c);
        else if (errno != EINTR)
            c->dead = true;
        return errno != EAGAIN;
    }
    c->out_off += (size_t)n;
    if ((size_t)n < left)
        host_full(c);
    if (c->out_off == b->len)
        c->out_off = b->len = b->frame_start = 0;
    return true;
}

/* An ended stream ends the other side's input once its buffer is out;
 * with both passed on, the connection is done. */
static void pass_ends(conn *c, proxy *p)
{
    if (p->host_eof && !p->guest_shut && c->in_pos == c->in_len) {
        shutdown(p->fd, SHUT_WR);
        p->guest_shut = true;
    }
    if (p->guest_eof && !p->host_shut && c->out.len == c->out_off) {
        shutdown(c->fd, SHUT_WR);
        p->host_shut = true;
    }
    if (p->guest_shut && p->host_shut)
        c->dead = true;
}

void proxy_run(conn *c)
{
    proxy *p = c->proxy;
    if (p->connecting) {
        write_host(c);  /* the HELLO */
        if (p->writable)
            check_connect(c, p);
        if (c->state != S_PROXY || p->connecting)
            return;
    }
    for (int round = 0; !c->dead; round++) {
        if (round == MAX_ROUNDS) {
            c->again = c->a->again = true;
            return;
        }
        bool progress = read_host(c, p);
        progress |= write_guest(c, p);
        progress |= read_guest(c, p);
        progress |= write_host(c);
        pass_ends(c, p);
        if (!progress)
            return;
    }
}

void proxy_event(conn *c, bool in, bool out, bool hup)
{
    proxy *p = c->proxy;
    if (!p)
        return;
    p->readable |= in;
    p->writable |= out;
    p->hup |= hup;
}

void proxy_free(conn *c)
{
    proxy *p = c->proxy;
    if (!p)
        return;
    agent_close(c->a, &p->fd);
    free(p);
    c->proxy = NULL;
}
