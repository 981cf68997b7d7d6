/* The client's TCP_CONNECT: a handshake on a raw stream that then belongs
 * to the guest's TCP socket, so every read asks for exactly the rest of
 * the frame at hand and nothing beyond the agent's last answer is taken. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/client.h"
#include "util/error.h"

int sm_agent_tcp_send(int fd, uint16_t port, sm_agent_tcp_reply *r)
{
    uint8_t frames[64];
    sm_agent_wbuf b = {.data = frames, .cap = sizeof frames};
    sm_agent_encode_hello(&b, &(sm_agent_hello){SM_AGENT_VERSION});
    if (sm_agent_encode_tcp_connect(&b, &(sm_agent_tcp_connect){port}) < 0)
        return sm_fail(ENOBUFS, "cannot encode TCP_CONNECT");
    *r = (sm_agent_tcp_reply){.port = port};
    /* A fresh socket's buffer takes these few bytes at once. */
    for (size_t off = 0; off < b.len;) {
        ssize_t n = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 1000);
            continue;
        }
        if (n < 0)
            return sm_fail(errno, "cannot send to the agent: %s", strerror(errno));
        off += (size_t)n;
    }
    return 0;
}

static int refused(const sm_agent_tcp_reply *r, const sm_agent_frame *f)
{
    sm_agent_error e;
    const char *why = "";
    if (sm_agent_decode_error(f, &e, &why) < 0)
        return sm_fail(EPROTO, "the agent refused TCP_CONNECT with a bad ERROR frame: %s", why);
    if (e.err == ECONNREFUSED)
        return sm_fail(ECONNREFUSED, "nothing listens on TCP port %u in the guest: start the "
                       "server first, listening on 127.0.0.1, ::1 or all addresses", r->port);
    return sm_fail(e.err, "cannot connect to TCP port %u in the guest: %s", r->port,
                   e.message ? e.message : strerror(e.err));
}

/* 1: connected; 0: the frame was the agent's HELLO; <0: failed. */
static int on_frame(sm_agent_tcp_reply *r, const sm_agent_frame *f)
{
    const char *why = "";
    if (f->type == SM_AGENT_ERROR)
        return refused(r, f);
    if (r->hello_seen && f->type == SM_AGENT_OK)
        return 1;
    if (r->hello_seen || f->type != SM_AGENT_HELLO)
        return sm_fail(EPROTO, "the agent answered TCP_CONNECT with an unexpected %s frame",
                       sm_agent_type_name(f->type));
    sm_agent_hello h;
    if (sm_agent_decode_hello(f, &h, &why) < 0)
        return sm_fail(EPROTO, "the agent sent a bad HELLO: %s", why);
    if (h.version != SM_AGENT_VERSION)
        return sm_fail(EPROTONOSUPPORT, "the agent speaks protocol version %u, this host "
                       "version %d: rebuild the guest's sm-init", h.version, SM_AGENT_VERSION);
    r->hello_seen = true;
    return 0;
}

int sm_agent_tcp_reply_read(int fd, sm_agent_tcp_reply *r)
{
    for (;;) {
        sm_agent_frame f;
        size_t need;
        const char *why = "";
        int n = sm_agent_frame_parse(r->buf, r->have, &f, &need, &why);
        if (n < 0)
            return sm_fail(EPROTO, "the agent sent a bad frame: %s", why);
        if (n > 0) {
            int done = on_frame(r, &f);
            r->have = 0;
            if (done)
                return done;
            continue;
        }
        if (need > sizeof r->buf)
            return sm_fail(EPROTO, "the agent's answer to TCP_CONNECT is too long (%zu bytes)",
                           need);
        ssize_t got = recv(fd, r->buf + r->have, need - r->have, 0);
        if (got > 0)
            r->have += (size_t)got;
        else if (got == 0)
            return sm_fail(ECONNRESET, "the agent closed the connection before it answered "
                           "TCP_CONNECT");
        else if (errno == EAGAIN)
            return 0;
        else if (errno != EINTR)
            return sm_fail(errno, "cannot read from the agent: %s", strerror(errno));
    }
}

int sm_agent_tcp_open(int fd, uint16_t port)
{
    sm_agent_tcp_reply r;
    int err = sm_agent_tcp_send(fd, port, &r);
    while (!err) {
        if ((err = sm_agent_tcp_reply_read(fd, &r)) != 0)
            return err < 0 ? err : 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            err = sm_fail(errno, "cannot wait for the agent: %s", strerror(errno));
    }
    return err;
}
