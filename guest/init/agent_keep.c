/* Commands that outlive their connection (EXEC with F_KEEP), and ATTACH,
 * which gives one of them a connection again.
 *
 * When the connection of a kept command goes, the conn itself stays in the
 * agent's list, without its socket and buffers, in state S_KEPT: reaping,
 * timeouts and the routing of pipe events find the command there as they
 * find any other, and conn_run hands it to keep_run, which reads its
 * output and drops it, so that a server that logs never blocks on a full
 * pipe. ATTACH moves the command to the attaching connection and the
 * husk is freed. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent_int.h"

/* Reads of dropped output per turn: a chatty command must not starve the
 * loop. A pipe holds 64 KiB, so bigger reads would gain nothing. */
#define DRAIN_READS 16
#define DRAIN_BUF (32u << 10)

static bool is_kept(const conn *g)
{
    return g->state == S_KEPT && !g->dead && g->x;
}

/* Past SM_AGENT_KEPT_MAX, forget ended commands, the longest detached
 * first. Running ones stay: forgetting them would lose their status and
 * killing them is not ours to decide. */
static void prune(agent *a)
{
    size_t n = 0;
    for (conn *g = a->conns; g; g = g->next)
        n += is_kept(g);
    for (; n > SM_AGENT_KEPT_MAX; n--) {
        conn *oldest = NULL;
        for (conn *g = a->conns; g; g = g->next)
            if (is_kept(g) && g->x->reaped &&
                (!oldest || g->x->detached_ns < oldest->x->detached_ns))
                oldest = g;
        if (!oldest)
            return;
        oldest->dead = true;
    }
}

static void drop_buffers(conn *c)
{
    if (c->in_cap == AGENT_BUF_SIZE)
        agent_buf_put(c->a, c->in);
    else
        free(c->in);
    agent_buf_put(c->a, c->out.data);
    c->in = NULL;
    c->in_cap = c->in_len = c->in_pos = c->in_done = 0;
    c->out = (sm_agent_wbuf){0};
    c->out_off = 0;
}

void keep_detach(conn *c)
{
    exec_state *x = c->x;
    if (!x || !x->keep || c->state == S_KEPT)
        return;
    agent_close(c->a, &c->fd);
    drop_buffers(c);
    exec_stdin_end(c);
    c->state = S_KEPT;
    c->dead = c->readable = c->writable = c->hup = c->out_armed = false;
    x->detached_ns = agent_now_ns();
    /* What the command wrote meanwhile raised no new edge: read it now. */
    x->out_ready = x->err_ready = true;
    prune(c->a);
    if (!c->dead)
        keep_run(c);
}

/* Read one stream to EAGAIN and drop what comes; false when the turn's
 * reads are used up. */
static bool drain(conn *c, int *fd, bool *ready, uint8_t *buf, int *reads)
{
    exec_state *x = c->x;
    while (*fd >= 0 && *ready) {
        if (++*reads > DRAIN_READS)
            return false;
        ssize_t n = read(*fd, buf, DRAIN_BUF);
        if (n > 0) {
            if ((size_t)n < DRAIN_BUF && !x->reaped)
                *ready = false;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && !x->reaped) {
            *ready = false;
            return true;
        }
        /* EOF, EIO from a pty, or drained after the end, as in exec_pump. */
        if (x->pty)
            x->in_fd = -1;
        agent_close(c->a, fd);
    }
    return true;
}

void keep_run(conn *c)
{
    exec_state *x = c->x;
    uint8_t buf[DRAIN_BUF];
    int reads = 0;
    if (!x || c->dead)
        return;
    if (!drain(c, &x->out_fd, &x->out_ready, buf, &reads) ||
        !drain(c, &x->err_fd, &x->err_ready, buf, &reads))
        c->again = c->a->again = true;
    if (x->reaped)  /* now it counts as ended */
        prune(c->a);
}

void keep_started(conn *c)
{
    /* Its pid named an ended kept command before: that record is stale. */
    for (conn *g = c->a->conns; g; g = g->next)
        if (is_kept(g) && g->x->reaped && g->x->pid == c->x->pid)
            g->dead = true;
}

/* The kept command with this pid, running ones first. */
static conn *find(conn *self, pid_t pid)
{
    conn *ended = NULL;
    for (conn *g = self->a->conns; g; g = g->next) {
        if (g == self || g->dead || !g->x || !g->x->keep || g->x->pid != pid)
            continue;
        if (!g->x->reaped)
            return g;
        ended = g;
    }
    return ended;
}

/* Its host went away, but the loop has not seen that yet: after a restore
 * from a snapshot the old connections die as the new ATTACH arrives. */
static bool host_gone(const conn *g)
{
    struct pollfd p = {.fd = g->fd, .events = POLLIN | POLLRDHUP};
    return g->fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP));
}

static void rewatch(agent *a, int fd, watch *w)
{
    if (fd >= 0 && (size_t)fd < a->nwatches && a->watches[fd])
        a->watches[fd] = w;
}

/* Move the command of husk g to c. */
static void adopt(conn *c, conn *g)
{
    exec_state *x = g->x;
    g->x = NULL;
    g->dead = true;
    c->x = x;
    c->w_in = (watch){W_STDIN, c};
    c->w_out = (watch){x->pty ? W_PTY : W_STDOUT, c};
    c->w_err = (watch){W_STDERR, c};
    if (!x->pty)
        rewatch(c->a, x->in_fd, &c->w_in);
    rewatch(c->a, x->out_fd, &c->w_out);
    rewatch(c->a, x->err_fd, &c->w_err);
    x->out_ready = x->err_ready = true;
    x->detached_ns = 0;
}

int keep_attach(conn *c, const sm_agent_frame *f)
{
    uint32_t pid;
    const char *why = "";
    if (sm_agent_decode_attach(f, &pid, &why) < 0)
        return conn_fail(c, EBADMSG, "bad ATTACH: %s", why);
    /* STARTED and a full ERROR must fit. */
    if (!conn_room(c, 600))
        return 1;
    conn *g = find(c, (pid_t)pid);
    if (!g)
        return conn_reply_error(c, ESRCH, "no kept process with pid %u", pid);
    if (g->state != S_KEPT && host_gone(g))
        keep_detach(g);
    if (g->state != S_KEPT)
        return conn_reply_error(c, EBUSY,
                                "the process with pid %u is attached to another connection; "
                                "close that one first",
                                pid);
    adopt(c, g);
    sm_agent_encode_started(&c->out, pid);
    c->state = S_EXEC;
    return 0;
}
