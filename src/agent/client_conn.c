/* The client's connection: HELLO, sending frames, reading frames. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent/client_int.h"
#include "util/error.h"

#define IN_START (SM_AGENT_HEADER_SIZE + SM_AGENT_CHUNK)

int sm_agent_conn_open(int fd, sm_agent_conn **out)
{
    sm_agent_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->in = malloc(IN_START))) {
        free(c);
        return sm_fail(ENOMEM, "out of memory");
    }
    c->fd = fd;
    c->in_cap = IN_START;
    c->out.grow = true;
    *out = c;
    return 0;
}

void sm_agent_conn_close(sm_agent_conn *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->in);
    sm_agent_wbuf_free(&c->out);
    free(c);
}

int sm_agent_conn_fd(const sm_agent_conn *c)
{
    return c->fd;
}

int sm_agent_conn_begin(sm_agent_conn *c)
{
    if (c->broken)
        return sm_fail(EPIPE, "the connection to the agent failed earlier; open a new one");
    if (c->used)
        return sm_fail(EINVAL, "an exec has used this agent connection; open a new one");
    c->out.len = c->out.frame_start = 0;
    if (!c->hello_sent) {
        int err = sm_agent_encode_hello(&c->out, &(sm_agent_hello){SM_AGENT_VERSION});
        if (err)
            return sm_fail(err, "out of memory");
        c->hello_sent = true;
    }
    return 0;
}

static int wait_for(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

static int broken(sm_agent_conn *c, int err, const char *fmt, const char *arg)
{
    c->broken = true;
    return sm_fail(err, fmt, arg);
}

/* MSG_NOSIGNAL: a closed connection must not kill the embedding process
 * with SIGPIPE. */
static ssize_t send_iov(int fd, struct iovec *iov, int n)
{
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t r = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (r < 0 && errno == ENOTSOCK)
        r = writev(fd, iov, n);
    return r;
}

/* The agent closed on us: it may have said why first. */
static int send_failed(sm_agent_conn *c, int err)
{
    sm_agent_frame f;
    c->broken = false;
    if (sm_agent_conn_next(c, &f, true) > 0 && f.type == SM_AGENT_ERROR) {
        err = sm_agent_conn_error(&f, "the agent refused the request");
    } else {
        err = sm_fail(err, "cannot send to the agent: %s", strerror(err));
    }
    c->broken = true;
    return err;
}

int sm_agent_conn_send(sm_agent_conn *c, const void *data, size_t len)
{
    struct iovec iov[2] = {{c->out.data, c->out.len}, {(void *)data, len}};
    int i = 0, n = 2;
    while (i < n) {
        ssize_t r = send_iov(c->fd, iov + i, n - i);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN) {
            int err = wait_for(c->fd, POLLOUT);
            if (err)
                return broken(c, -err, "cannot wait for the agent: %s", strerror(-err));
            continue;
        }
        if (r < 0 && (errno == EPIPE || errno == ECONNRESET))
            return send_failed(c, errno);
        if (r < 0)
            return broken(c, errno, "cannot send to the agent: %s", strerror(errno));
        size_t done = (size_t)r;
        while (i < n && done >= iov[i].iov_len)
            done -= iov[i++].iov_len;
        if (i < n) {
            iov[i].iov_base = (uint8_t *)iov[i].iov_base + done;
            iov[i].iov_len -= done;
        }
    }
    c->out.len = c->out.frame_start = 0;
    return 0;
}

static int make_room(sm_agent_conn *c, size_t need)
{
    if (c->in_pos) {
        memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos;
        c->in_pos = 0;
    }
    if (need <= c->in_cap)
        return 0;
    uint8_t *p = realloc(c->in, need);
    if (!p)
        return broken(c, ENOMEM, "out of memory for a frame%s", "");
    c->in = p;
    c->in_cap = need;
    return 0;
}

/* The agent's HELLO, which precedes everything else it sends. */
static int check_hello(sm_agent_conn *c, const sm_agent_frame *f)
{
    sm_agent_hello h;
    const char *why = "";
    if (sm_agent_decode_hello(f, &h, &why) < 0)
        return broken(c, EPROTO, "the agent sent a bad HELLO: %s", why);
    if (h.version != SM_AGENT_VERSION) {
        c->broken = true;
        return sm_fail(EPROTONOSUPPORT,
                       "the agent speaks protocol version %u, this host version %d: "
                       "rebuild the guest's sm-init",
                       h.version, SM_AGENT_VERSION);
    }
    c->hello_seen = true;
    return 0;
}

/* 1 frame, 0 incomplete, <0 malformed. */
static int parse(sm_agent_conn *c, sm_agent_frame *f)
{
    size_t need;
    const char *why = "";
    int n = sm_agent_frame_parse(c->in + c->in_pos, c->in_len - c->in_pos, f, &need, &why);
    if (n < 0)
        return broken(c, EPROTO, "the agent sent a bad frame: %s", why);
    if (n == 0)
        return make_room(c, need);
    c->in_pos += (size_t)n;
    return 1;
}

/* The fd stays blocking (the exec's other threads send with MSG_DONTWAIT),
 * so a non-blocking read says so per call. */
static ssize_t receive(int fd, void *buf, size_t len, bool nonblock)
{
    ssize_t r = recv(fd, buf, len, nonblock ? MSG_DONTWAIT : 0);
    if (r < 0 && errno == ENOTSOCK)
        r = read(fd, buf, len);
    return r;
}

static int fill(sm_agent_conn *c, bool nonblock)
{
    for (;;) {
        ssize_t r = receive(c->fd, c->in + c->in_len, c->in_cap - c->in_len, nonblock);
        if (r > 0) {
            c->in_len += (size_t)r;
            return 1;
        }
        if (r == 0)
            return broken(c, ECONNRESET, "the agent closed the connection%s", "");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return broken(c, errno, "cannot read from the agent: %s", strerror(errno));
        if (nonblock)
            return 0;
        int err = wait_for(c->fd, POLLIN);
        if (err)
            return broken(c, -err, "cannot wait for the agent: %s", strerror(-err));
    }
}

int sm_agent_conn_next(sm_agent_conn *c, sm_agent_frame *f, bool nonblock)
{
    if (c->broken)
        return sm_fail(EPIPE, "the connection to the agent failed earlier; open a new one");
    for (;;) {
        int r = parse(c, f);
        if (r < 0)
            return r;
        if (r == 0) {
            if ((r = fill(c, nonblock)) <= 0)
                return r;
            continue;
        }
        if (c->hello_seen || f->type == SM_AGENT_ERROR)
            return 1;
        if (f->type != SM_AGENT_HELLO)
            return broken(c, EPROTO, "the agent sent %s before HELLO",
                          sm_agent_type_name(f->type));
        if ((r = check_hello(c, f)) < 0)
            return r;
    }
}

int sm_agent_conn_error(const sm_agent_frame *f, const char *what)
{
    sm_agent_error e;
    const char *why = "";
    if (sm_agent_decode_error(f, &e, &why) < 0)
        return sm_fail(EPROTO, "%s, with a bad ERROR frame: %s", what, why);
    return sm_fail(e.err, "%s: %s", what, e.message ? e.message : strerror(e.err));
}

int sm_agent_conn_unexpected(sm_agent_conn *c, const sm_agent_frame *f, const char *what)
{
    c->broken = true;
    return sm_fail(EPROTO, "%s: the agent sent an unexpected %s frame", what,
                   sm_agent_type_name(f->type));
}

void sm_agent_conn_abort(sm_agent_conn *c)
{
    if (c && c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
}
