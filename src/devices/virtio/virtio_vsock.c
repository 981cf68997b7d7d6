#include "devices/virtio/virtio_vsock.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"
#include "util/le.h"
#include "util/unix_sock.h"
#include "util/log.h"

#define VIRTIO_ID_VSOCK 19
#define Q_RX 0
#define Q_TX 1
#define Q_EVENT 2
#define HDR sizeof(sm_vsock_hdr)
#define MAX_PAYLOAD (64u * 1024)
/* Host-initiated streams get local ports from here up. */
#define FIRST_HOST_PORT 0x40000000u

static void conn_event(void *ctx, uint32_t events);
static void pump_rx(sm_virtio_vsock *v);

/* ---- connections ---- */

static sm_vsock_conn *find(sm_virtio_vsock *v, uint32_t guest_port, uint32_t host_port)
{
    for (sm_vsock_conn *c = v->conns; c; c = c->next)
        if (c->guest_port == guest_port && c->host_port == host_port &&
            c->state != SM_VSOCK_AWAIT_CONNECT_LINE && c->state != SM_VSOCK_CLOSING)
            return c;
    return NULL;
}

/* Whom the loop should wake us for: a line to read, data to read (unless
 * we already know there is some), room to write held bytes. */
static void watch(sm_virtio_vsock *v, sm_vsock_conn *c, bool readable_known)
{
    uint32_t ev = 0;
    if (c->state == SM_VSOCK_AWAIT_CONNECT_LINE ||
        (c->state == SM_VSOCK_ESTABLISHED && !c->host_eof && !readable_known))
        ev |= EPOLLIN;
    if (c->pending_len)
        ev |= EPOLLOUT;
    /* Out of the loop while nothing is wanted: epoll reports a hung-up
     * socket even with no events asked for, and would spin on it. */
    if (ev != c->events) {
        sm_event_loop *l = v->dev.env.loop;
        if (!ev)
            sm_event_loop_del(l, c->fd);
        else if (!c->events)
            sm_event_loop_add(l, c->fd, ev, conn_event, c);
        else
            sm_event_loop_mod(l, c->fd, ev, conn_event, c);
        c->events = ev;
    }
}

static sm_vsock_conn *conn_new(sm_virtio_vsock *v, int fd, sm_vsock_conn_state state)
{
    if (v->nconns >= SM_VSOCK_MAX_CONNS) {
        sm_debug("virtio-vsock: %u streams already; refusing another", v->nconns);
        return NULL;
    }
    sm_vsock_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->owner = v;
    c->fd = fd;
    c->state = state;
    c->events = state == SM_VSOCK_AWAIT_CONNECT_LINE ? EPOLLIN : 0;
    if (c->events && sm_event_loop_add(v->dev.env.loop, fd, c->events, conn_event, c) < 0) {
        free(c);
        return NULL;
    }
    c->next = v->conns;
    v->conns = c;
    v->nconns++;
    return c;
}

static void conn_close(sm_virtio_vsock *v, sm_vsock_conn *c)
{
    for (sm_vsock_conn **p = &v->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            v->nconns--;
            break;
        }
    }
    sm_event_loop_del(v->dev.env.loop, c->fd);
    close(c->fd);
    free(c->pending);
    free(c);
}

/* ---- packets to the guest ---- */

static sm_vsock_hdr hdr_for(sm_virtio_vsock *v, sm_vsock_conn *c, uint16_t op)
{
    c->fwd_reported = c->fwd_cnt;
    return (sm_vsock_hdr){
        .src_cid = SM_VSOCK_HOST_CID, .dst_cid = v->guest_cid, .src_port = c->host_port,
        .dst_port = c->guest_port, .type = SM_VSOCK_TYPE_STREAM, .op = op,
        .buf_alloc = SM_VSOCK_BUF_ALLOC, .fwd_cnt = c->fwd_cnt};
}

static void queue_ctrl(sm_virtio_vsock *v, const sm_vsock_hdr *h)
{
    if (v->ctrl_count >= SM_VSOCK_CTRL_MAX) {
        if (!v->ctrl_dropped++)
            sm_debug("virtio-vsock: the guest takes no replies; dropping them");
        return;
    }
    sm_vsock_ctrl *p = calloc(1, sizeof *p);
    if (!p)
        return; /* the guest times the stream out */
    p->hdr = *h;
    *v->ctrl_tail = p;
    v->ctrl_tail = &p->next;
    v->ctrl_count++;
}

static void send_op(sm_virtio_vsock *v, sm_vsock_conn *c, uint16_t op, uint32_t flags)
{
    sm_vsock_hdr h = hdr_for(v, c, op);
    h.flags = flags;
    queue_ctrl(v, &h);
}

/* Refuse a packet that belongs to no stream. */
static void reset_reply(sm_virtio_vsock *v, const sm_vsock_hdr *in)
{
    sm_vsock_hdr h = {.src_cid = SM_VSOCK_HOST_CID, .dst_cid = v->guest_cid,
                      .src_port = in->dst_port, .dst_port = in->src_port,
                      .type = SM_VSOCK_TYPE_STREAM, .op = SM_VSOCK_OP_RST};
    queue_ctrl(v, &h);
}

static void reset_and_close(sm_virtio_vsock *v, sm_vsock_conn *c, const char *why)
{
    sm_debug("virtio-vsock: stream %u:%u ends (%s)", c->guest_port, c->host_port, why);
    send_op(v, c, SM_VSOCK_OP_RST, 0);
    conn_close(v, c);
}

/* ---- guest -> host ---- */

static void deliver(sm_virtio_vsock *v, sm_vsock_conn *c, const sm_vq_chain *ch, uint32_t len)
{
    if (sm_vsock_guest_overran(c, len)) {
        reset_and_close(v, c, "the guest sent past its credit");
        return;
    }
    c->rx_cnt += len;
    uint64_t off = HDR;
    if (c->pending_len == 0) {
        struct iovec iov[SM_VQ_MAX_CHAIN];
        unsigned n = sm_vq_chain_iov(ch, false, HDR, len, iov, SM_VQ_MAX_CHAIN);
        ssize_t w = writev(c->fd, iov, (int)n);
        if (w > 0) {
            off += (uint64_t)w;
            c->fwd_cnt += (uint32_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            reset_and_close(v, c, "the host socket failed");
            return;
        }
    }
    uint8_t rest[MAX_PAYLOAD];
    uint64_t left = HDR + len - off;
    sm_vq_chain_read(ch, off, rest, left);
    if (left && !sm_vsock_conn_hold(c, rest, left)) {
        reset_and_close(v, c, "no room to hold the guest's bytes");
        return;
    }
    if (sm_vsock_conn_owes_credit(c))
        send_op(v, c, SM_VSOCK_OP_CREDIT_UPDATE, 0);
    watch(v, c, false);
}

static void connect_to_host(sm_virtio_vsock *v, const sm_vsock_hdr *h)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/vsock_%u", v->dir, h->dst_port);
    /* At the bound the host listener never sees the attempt. */
    int fd = v->nconns < SM_VSOCK_MAX_CONNS
                 ? socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
    sm_vsock_conn *c = NULL;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        c = conn_new(v, fd, SM_VSOCK_ESTABLISHED);
    if (!c) {
        if (fd >= 0)
            close(fd);
        reset_reply(v, h);
        return;
    }
    c->guest_port = h->src_port;
    c->host_port = h->dst_port;
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    send_op(v, c, SM_VSOCK_OP_RESPONSE, 0);
    watch(v, c, false);
}

static void established(sm_virtio_vsock *v, sm_vsock_conn *c)
{
    char ok[32];
    int n = snprintf(ok, sizeof ok, "OK %u\n", c->host_port);
    c->state = SM_VSOCK_ESTABLISHED;
    if (write(c->fd, ok, (size_t)n) != n)
        reset_and_close(v, c, "the host client went away during the handshake");
    else
        watch(v, c, false);
}

/* The guest closed its socket and waits for our RST to finish. What it
 * sent before may still sit in `pending` because the host reads slowly:
 * that goes out first, and only then do the RST (a guest that lingers on
 * close learns its bytes reached the host) and the close follow. */
static void closed_by_guest(sm_virtio_vsock *v, sm_vsock_conn *c)
{
    if (sm_vsock_conn_flush(c) < 0 || !c->pending_len) {
        reset_and_close(v, c, "the guest closed");
        return;
    }
    c->state = SM_VSOCK_CLOSING;
    watch(v, c, false);
}

static void shutdown_from_guest(sm_virtio_vsock *v, sm_vsock_conn *c, uint32_t flags)
{
    if (flags & SM_VSOCK_SHUTDOWN_SEND)
        c->guest_done_sending = true;
    if ((flags & SM_VSOCK_SHUTDOWN_SEND) && (flags & SM_VSOCK_SHUTDOWN_RCV))
        closed_by_guest(v, c);
    else if (c->guest_done_sending && !c->pending_len)
        shutdown(c->fd, SHUT_WR);
}

static void handle_packet(sm_virtio_vsock *v, const sm_vsock_hdr *h, const sm_vq_chain *ch)
{
    if (h->op == SM_VSOCK_OP_REQUEST && !find(v, h->src_port, h->dst_port)) {
        connect_to_host(v, h);
        return;
    }
    sm_vsock_conn *c = find(v, h->src_port, h->dst_port);
    if (!c) {
        if (h->op != SM_VSOCK_OP_RST)
            reset_reply(v, h);
        return;
    }
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    switch (h->op) {
    case SM_VSOCK_OP_RESPONSE:
        if (c->state == SM_VSOCK_AWAIT_RESPONSE)
            established(v, c);
        else
            reset_and_close(v, c, "a RESPONSE out of turn");
        break;
    case SM_VSOCK_OP_RW:
        if (c->state == SM_VSOCK_ESTABLISHED && !c->guest_done_sending)
            deliver(v, c, ch, h->len);
        else
            reset_and_close(v, c, "data after the guest's shutdown");
        break;
    case SM_VSOCK_OP_SHUTDOWN: shutdown_from_guest(v, c, h->flags); break;
    case SM_VSOCK_OP_RST:
        sm_debug("virtio-vsock: stream %u:%u reset by the guest", c->guest_port, c->host_port);
        conn_close(v, c);
        break;
    case SM_VSOCK_OP_CREDIT_REQUEST: send_op(v, c, SM_VSOCK_OP_CREDIT_UPDATE, 0); break;
    case SM_VSOCK_OP_CREDIT_UPDATE: break;
    default: reset_and_close(v, c, "an unknown operation"); break;
    }
}

/* A packet from the guest is checked in full before anything acts on it. */
static bool packet_ok(const sm_virtio_vsock *v, const sm_vq_chain *ch, sm_vsock_hdr *h)
{
    if (sm_vq_chain_read(ch, 0, h, HDR) != HDR)
        return false;
    return h->src_cid == v->guest_cid && h->dst_cid == SM_VSOCK_HOST_CID &&
           h->type == SM_VSOCK_TYPE_STREAM && h->len <= MAX_PAYLOAD &&
           h->len <= ch->read_len - HDR && (h->op == SM_VSOCK_OP_RW || h->len == 0);
}

static uint32_t serve_tx(sm_virtio_device *d, const sm_vq_chain *ch)
{
    sm_virtio_vsock *v = d->priv;
    sm_vsock_hdr h;
    if (packet_ok(v, ch, &h))
        handle_packet(v, &h, ch);
    else
        sm_debug("virtio-vsock: malformed packet dropped");
    return 0;
}

static void process_tx(sm_virtio_vsock *v)
{
    sm_virtio_serve_queue(&v->dev, Q_TX, serve_tx);
    pump_rx(v);
}

/* ---- host -> guest ---- */

/* Fill one rx buffer from a stream; false if it had nothing to give. */
static bool fill_from(sm_virtio_vsock *v, sm_vsock_conn *c, const sm_vq_chain *ch,
                      uint32_t *written)
{
    uint32_t room = ch->write_len > HDR ? (uint32_t)(ch->write_len - HDR) : 0;
    uint32_t credit = sm_vsock_peer_credit(c), want = room < credit ? room : credit;
    if (want > MAX_PAYLOAD)
        want = MAX_PAYLOAD;
    struct iovec iov[SM_VQ_MAX_CHAIN];
    unsigned n = sm_vq_chain_iov(ch, true, HDR, want, iov, SM_VQ_MAX_CHAIN);
    ssize_t got = want ? readv(c->fd, iov, (int)n) : -1;
    if (got > 0) {
        sm_vsock_hdr h = hdr_for(v, c, SM_VSOCK_OP_RW);
        h.len = (uint32_t)got;
        sm_vq_chain_write(ch, 0, &h, HDR);
        c->tx_cnt += (uint32_t)got;
        *written = (uint32_t)(HDR + got);
        return true;
    }
    if (got == 0) {
        /* The host stopped sending; it may still read (a half close). A
         * host that closed entirely shows up as a failed write: RST. */
        c->host_eof = true;
        send_op(v, c, SM_VSOCK_OP_SHUTDOWN, SM_VSOCK_SHUTDOWN_SEND);
    } else if (want && errno != EAGAIN && errno != EWOULDBLOCK) {
        c->host_eof = true;
        send_op(v, c, SM_VSOCK_OP_RST, 0);
    }
    watch(v, c, false);
    return false;
}

static bool fill_one(sm_virtio_vsock *v, const sm_vq_chain *ch, uint32_t *written)
{
    sm_vsock_ctrl *p = v->ctrl_head;
    if (p) {
        if (sm_vq_chain_write(ch, 0, &p->hdr, HDR) != HDR)
            return false;
        v->ctrl_head = p->next;
        if (!v->ctrl_head)
            v->ctrl_tail = &v->ctrl_head;
        free(p);
        v->ctrl_count--;
        *written = HDR;
        return true;
    }
    for (sm_vsock_conn *c = v->conns; c; c = c->next)
        if (c->state == SM_VSOCK_ESTABLISHED && !c->host_eof && !(c->events & EPOLLIN) &&
            sm_vsock_peer_credit(c) && fill_from(v, c, ch, written))
            return true;
    /* A host socket that closed left a SHUTDOWN or RST to send: send it
     * now, not with whatever traffic comes next. */
    if (v->ctrl_head)
        return fill_one(v, ch, written);
    return false;
}

static void pump_rx(sm_virtio_vsock *v)
{
    sm_virtio_device *d = &v->dev;
    sm_vq *q = &d->queues[Q_RX];
    sm_vq_chain ch;
    sm_vq_pop_result r;
    bool used = false;
    while ((r = sm_vq_pop(q, d->env.mem, &ch)) != SM_VQ_EMPTY) {
        if (r != SM_VQ_CHAIN) {
            sm_virtio_handle_bad(d, q, r, ch.head);
            if (r == SM_VQ_BROKEN)
                break;
            continue;
        }
        uint32_t written = 0;
        if (!fill_one(v, &ch, &written)) {
            sm_vq_unpop(q);
            break;
        }
        sm_vq_push(q, d->env.mem, ch.head, written);
        used = true;
    }
    if (used && sm_vq_should_notify(q, d->env.mem))
        sm_virtio_used_interrupt(d);
}

/* ---- host sockets ---- */

static void read_connect_line(sm_virtio_vsock *v, sm_vsock_conn *c)
{
    /* One byte at a time: nothing after the newline may be consumed
     * before the guest has accepted. */
    while (c->line_len < sizeof c->line) {
        ssize_t n = read(c->fd, c->line + c->line_len, 1);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_close(v, c);
            return;
        }
        uint32_t port;
        int r = sm_vsock_parse_connect(c->line, ++c->line_len, &port);
        if (r < 0) {
            conn_close(v, c);
            return;
        }
        if (r == 1) {
            c->guest_port = port;
            c->host_port = v->next_host_port++;
            if (v->next_host_port < FIRST_HOST_PORT)
                v->next_host_port = FIRST_HOST_PORT;  /* wrapped around */
            c->state = SM_VSOCK_AWAIT_RESPONSE;
            c->peer_buf_alloc = 0;
            send_op(v, c, SM_VSOCK_OP_REQUEST, 0);
            watch(v, c, false);
            pump_rx(v);
            return;
        }
    }
    conn_close(v, c);
}

static void writable(sm_virtio_vsock *v, sm_vsock_conn *c)
{
    if (c->state == SM_VSOCK_CLOSING) {
        if (sm_vsock_conn_flush(c) < 0 || !c->pending_len)
            reset_and_close(v, c, "the guest closed");
        return;
    }
    if (sm_vsock_conn_flush(c) < 0) {
        reset_and_close(v, c, "the host socket failed");
        return;
    }
    if (c->guest_done_sending && !c->pending_len)
        shutdown(c->fd, SHUT_WR);
    if (sm_vsock_conn_owes_credit(c))
        send_op(v, c, SM_VSOCK_OP_CREDIT_UPDATE, 0);
    watch(v, c, !(c->events & EPOLLIN));
}

static void conn_event(void *ctx, uint32_t events)
{
    sm_vsock_conn *c = ctx;
    sm_virtio_vsock *v = c->owner;
    pthread_mutex_lock(&v->dev.lock);
    if (c->state == SM_VSOCK_AWAIT_CONNECT_LINE) {
        read_connect_line(v, c);
    } else if (c->state == SM_VSOCK_CLOSING) {
        writable(v, c); /* or hung up: the flush fails and the stream ends */
        pump_rx(v);
    } else {
        if (events & EPOLLOUT)
            writable(v, c);
        else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            watch(v, c, true); /* readable: served as rx buffers and credit allow */
        pump_rx(v);
    }
    pthread_mutex_unlock(&v->dev.lock);
}

static void accept_ready(void *ctx, uint32_t events)
{
    (void)events;
    sm_virtio_vsock *v = ctx;
    int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (!sm_unix_peer_trusted(fd)) {
        sm_debug("virtio-vsock: a connection from another user refused");
        close(fd);
        return;
    }
    pthread_mutex_lock(&v->dev.lock);
    if (!conn_new(v, fd, SM_VSOCK_AWAIT_CONNECT_LINE))
        close(fd);
    pthread_mutex_unlock(&v->dev.lock);
}

/* ---- the device ---- */

static sm_virtio_vsock *vsock_of(sm_virtio_device *d)
{
    return d->priv;
}

static void event_returned(sm_virtio_vsock *v);

static void vsock_notify(sm_virtio_device *d, unsigned queue)
{
    sm_virtio_vsock *v = vsock_of(d);
    if (queue == Q_TX)
        process_tx(v);
    else if (queue == Q_RX)
        pump_rx(v);
    else if (queue == Q_EVENT)
        event_returned(v);
}

static void drop_all(sm_virtio_vsock *v)
{
    while (v->conns)
        conn_close(v, v->conns);
    while (v->ctrl_head) {
        sm_vsock_ctrl *p = v->ctrl_head;
        v->ctrl_head = p->next;
        free(p);
    }
    v->ctrl_tail = &v->ctrl_head;
    v->ctrl_count = 0;
}

static void vsock_reset(sm_virtio_device *d)
{
    drop_all(vsock_of(d));
}

static void vsock_config_read(sm_virtio_device *d, uint32_t off, uint8_t *data, uint32_t len)
{
    uint64_t cid = vsock_of(d)->guest_cid;
    memcpy(data, (uint8_t *)&cid + off, len);
}

/* Linux handles TRANSPORT_RESET by reading the CID again, resetting every
 * connected socket and only then giving the event buffer back with a
 * notification: after that, a new connection is safe from the reset. */
static void event_returned(sm_virtio_vsock *v)
{
    if (!v->reset_pending)
        return;
    v->reset_pending = false;
    if (v->on_reset_seen)
        v->on_reset_seen(v->reset_ctx);
}

#define EVENT_TRANSPORT_RESET 0

int sm_virtio_vsock_transport_reset(sm_virtio_vsock *v, void (*seen)(void *ctx), void *ctx)
{
    sm_virtio_device *d = &v->dev;
    sm_vq_chain ch;
    int err = 0;
    pthread_mutex_lock(&d->lock);
    drop_all(v);
    sm_vq *q = &d->queues[Q_EVENT];
    sm_vq_pop_result r = q->ready && (d->status & SM_VIRTIO_STATUS_DRIVER_OK)
                             ? sm_vq_pop(q, d->env.mem, &ch) : SM_VQ_EMPTY;
    uint32_t id = EVENT_TRANSPORT_RESET;
    if (r == SM_VQ_CHAIN && sm_vq_chain_write(&ch, 0, &id, sizeof id) == sizeof id) {
        v->reset_pending = true;
        v->on_reset_seen = seen;
        v->reset_ctx = ctx;
        sm_vq_push(q, d->env.mem, ch.head, sizeof id);
        sm_virtio_used_interrupt(d);
    } else {
        if (r != SM_VQ_EMPTY)
            sm_virtio_handle_bad(d, q, r, ch.head);
        err = sm_fail(ENOBUFS, "virtio-vsock: the guest has no event buffer for the "
                      "transport reset");
    }
    pthread_mutex_unlock(&d->lock);
    return err;
}

/* The next host-side port goes into a snapshot: a resumed guest may still
 * hold sockets of connections from before it (reset, but not yet closed by
 * their owner), and a new stream reusing their port would hit one of them
 * and be refused. */
static size_t vsock_state_save(sm_virtio_device *d, uint8_t *out, size_t max)
{
    if (max < 4)
        return 0;
    sm_le32_put(out, vsock_of(d)->next_host_port);
    return 4;
}

static int vsock_state_restore(sm_virtio_device *d, const uint8_t *in, size_t len)
{
    if (len != 4 || sm_le32_get(in) < FIRST_HOST_PORT)
        return sm_fail(EINVAL, "snapshot: the vsock device's state is malformed");
    vsock_of(d)->next_host_port = sm_le32_get(in);
    return 0;
}

static const sm_virtio_ops vsock_ops = {
    .name = "virtio-vsock", .device_id = VIRTIO_ID_VSOCK, .nqueues = 3,
    .config_len = sizeof(uint64_t), .config_read = vsock_config_read,
    .notify = vsock_notify, .reset = vsock_reset,
    .state_save = vsock_state_save, .state_restore = vsock_state_restore,
};

static int listen_on(sm_virtio_vsock *v)
{
    struct sockaddr_un a;
    char path[sizeof v->dir + 16];
    int n = snprintf(path, sizeof path, "%s/%s", v->dir, SM_VSOCK_LISTEN_NAME);
    if (n < 0 || (size_t)n >= sizeof a.sun_path)
        return sm_fail(ENAMETOOLONG, "vsock directory '%s' is too long for a socket path",
                       v->dir);
    v->listen_fd = sm_unix_listen(path, SOCK_NONBLOCK | SOCK_CLOEXEC, 128);
    if (v->listen_fd < 0) {
        int err = v->listen_fd;
        v->listen_fd = -1;
        return err;
    }
    return sm_event_loop_add(v->dev.env.loop, v->listen_fd, EPOLLIN, accept_ready, v);
}

int sm_virtio_vsock_init(sm_virtio_vsock *v, uint64_t guest_cid, const char *dir,
                         const sm_virtio_env *env, uint64_t base, uint32_t irq)
{
    memset(v, 0, sizeof *v);
    v->listen_fd = -1;
    v->guest_cid = guest_cid;
    v->ctrl_tail = &v->ctrl_head;
    v->next_host_port = FIRST_HOST_PORT;
    if (guest_cid < 3 || guest_cid > UINT32_MAX)
        return sm_fail(EINVAL, "vsock guest CID %llu is reserved or too large",
                       (unsigned long long)guest_cid);
    if (snprintf(v->dir, sizeof v->dir, "%s", dir) >= (int)sizeof v->dir)
        return sm_fail(ENAMETOOLONG, "vsock directory '%s' is too long", dir);
    int err = sm_virtio_mmio_init(&v->dev, &vsock_ops, v, env, base, irq);
    if (!err)
        err = listen_on(v);
    return err;
}

void sm_virtio_vsock_destroy(sm_virtio_vsock *v)
{
    if (v->listen_fd >= 0) {
        sm_event_loop_del(v->dev.env.loop, v->listen_fd);
        close(v->listen_fd);
        char path[sizeof v->dir + 16];
        snprintf(path, sizeof path, "%s/%s", v->dir, SM_VSOCK_LISTEN_NAME);
        unlink(path);
    }
    /* Bytes of a guest that is gone reach a host that still reads. */
    for (sm_vsock_conn *c = v->conns; c; c = c->next)
        sm_vsock_conn_flush(c);
    drop_all(v);
    sm_virtio_mmio_destroy(&v->dev);
}
