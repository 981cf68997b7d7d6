/* One connection: frames in, dispatch by state, frames out. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agent_int.h"

/* Bounds the work one connection does per turn so others are served. */
#define MAX_ROUNDS 32

conn *conn_new(agent *a, int fd)
{
    conn *c = calloc(1, sizeof *c);
    uint8_t *in = agent_buf_get(a), *out = agent_buf_get(a);
    if (!c || !in || !out)
        goto fail;
    *c = (conn){.a = a, .fd = fd, .state = S_HELLO, .in = in, .in_cap = AGENT_BUF_SIZE,
                .out = {.data = out, .cap = AGENT_BUF_SIZE}, .file.fd = -1,
                /* A host usually writes its request right after connecting:
                 * try reading it now rather than wait for the event. */
                .readable = true, .writable = true};
    c->w_sock = (watch){W_SOCK, c};
    /* EPOLLOUT only once a write falls short: every ACK would otherwise
     * wake the loop for nothing. */
    if (agent_watch(a, fd, &c->w_sock, EPOLLIN | EPOLLRDHUP | EPOLLET) < 0)
        goto fail;
    c->next = a->conns;
    a->conns = c;
    return c;
fail:
    agent_log("sm-init agent: dropping a connection: out of memory");
    agent_buf_put(a, in);
    agent_buf_put(a, out);
    free(c);
    close(fd);
    return NULL;
}

void conn_free(conn *c)
{
    exec_free(c);
    files_free(c);
    proxy_free(c);
    agent_close(c->a, &c->fd);
    if (c->in_cap == AGENT_BUF_SIZE)
        agent_buf_put(c->a, c->in);
    else
        free(c->in);
    agent_buf_put(c->a, c->out.data);
    free(c);
}

bool conn_room(conn *c, size_t n)
{
    return c->out.cap - c->out.len >= SM_AGENT_HEADER_SIZE + n;
}

static void vreply_error(conn *c, int err, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* The buffer has no room only when the host stopped reading; then the
     * ERROR is lost, and for a protocol error the close still says it. */
    sm_agent_encode_error(&c->out, &(sm_agent_error){.err = err, .message = msg});
}

int conn_reply_error(conn *c, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreply_error(c, err, fmt, ap);
    va_end(ap);
    return 0;
}

int conn_fail(conn *c, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreply_error(c, err, fmt, ap);
    va_end(ap);
    if (c->x && !c->x->reaped && !c->x->keep)
        kill(-c->x->pid, SIGKILL);
    c->state = S_CLOSING;
    return -1;
}

/* ---- dispatch ---- */

static int on_hello(conn *c, const sm_agent_frame *f)
{
    sm_agent_hello h;
    const char *why;
    if (f->type != SM_AGENT_HELLO)
        return conn_fail(c, EPROTO, "the agent expects HELLO first, not %s",
                         sm_agent_type_name(f->type));
    if (sm_agent_decode_hello(f, &h, &why) < 0)
        return conn_fail(c, EBADMSG, "bad HELLO: %s", why);
    if (h.version != SM_AGENT_VERSION)
        return conn_fail(c, EPROTONOSUPPORT, "the agent speaks protocol version %d, not %u",
                         SM_AGENT_VERSION, h.version);
    sm_agent_encode_hello(&c->out, &(sm_agent_hello){.version = SM_AGENT_VERSION});
    c->state = S_IDLE;
    return 0;
}

static int on_idle(conn *c, const sm_agent_frame *f)
{
    switch (f->type) {
    case SM_AGENT_EXEC:
        return exec_begin(c, f);
    case SM_AGENT_ATTACH:
        return keep_attach(c, f);
    case SM_AGENT_STAT:
    case SM_AGENT_FILE_READ:
    case SM_AGENT_FILE_WRITE:
    case SM_AGENT_MKDIR:
    case SM_AGENT_LINK:
        return files_begin(c, f);
    case SM_AGENT_SYSTEM:
        return system_begin(c, f);
    case SM_AGENT_MOUNT:
        return mount_begin(c, f);
    case SM_AGENT_TCP_CONNECT:
        return proxy_begin(c, f);
    default:
        return conn_fail(c, EPROTO, "unexpected %s frame", sm_agent_type_name(f->type));
    }
}

static int dispatch(conn *c, const sm_agent_frame *f)
{
    switch (c->state) {
    case S_HELLO: return on_hello(c, f);
    case S_IDLE: return on_idle(c, f);
    case S_WRITE: return files_frame(c, f);
    case S_READ: return 1;  /* the answer is still going out */
    case S_EXEC:
    case S_DONE: return exec_frame(c, f);
    case S_CLOSING:
    case S_PROXY:
    case S_KEPT: return 1;
    }
    return 1;
}

/* ---- input ---- */

/* Make room for a frame of `need` bytes at the front of the buffer. */
static int make_room(conn *c, size_t need)
{
    if (c->in_pos) {
        memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos;
        c->in_pos = 0;
    }
    if (need <= c->in_cap)
        return 0;
    uint8_t *p = malloc(need);
    if (!p)
        return -ENOMEM;
    memcpy(p, c->in, c->in_len);
    if (c->in_cap == AGENT_BUF_SIZE)
        agent_buf_put(c->a, c->in);
    else
        free(c->in);
    c->in = p;
    c->in_cap = need;
    return 0;
}

/* Handle the complete frames in the buffer. 1 if any was consumed. */
static int handle_frames(conn *c, bool *blocked)
{
    int progress = 0;
    /* After TCP_CONNECT what follows is no longer frames. */
    while (c->state != S_CLOSING && c->state != S_PROXY) {
        sm_agent_frame f;
        size_t need;
        const char *why = "";
        int n = sm_agent_frame_parse(c->in + c->in_pos, c->in_len - c->in_pos, &f, &need, &why);
        if (n < 0) {
            conn_fail(c, -n, "bad frame: %s", why);
            return 1;
        }
        if (n == 0) {
            if (make_room(c, need) < 0)
                conn_fail(c, ENOMEM, "no memory for a frame of %zu bytes", need);
            return progress;
        }
        int r = dispatch(c, &f);
        if (r != 0) {
            *blocked = r > 0;
            return r < 0 ? 1 : progress;
        }
        c->in_pos += (size_t)n;
        c->in_done = 0;
        progress = 1;
    }
    return progress;
}

static void peer_closed(conn *c)
{
    /* The host went away: nobody will read the command's output. A kept
     * command runs on (conn_run's end hands it to keep_detach). */
    if (c->x && !c->x->reaped && !c->x->keep)
        kill(-c->x->pid, SIGKILL);
    c->dead = true;
}

static bool conn_input(conn *c)
{
    bool progress = false;
    for (;;) {
        bool blocked = false;
        progress |= handle_frames(c, &blocked);
        if (c->state == S_CLOSING || c->state == S_PROXY || c->dead)
            return true;
        if (blocked) {
            if (c->hup && c->state == S_EXEC)
                peer_closed(c);
            return progress;
        }
        if (!c->readable || c->in_len == c->in_cap)
            return progress;
        size_t want = c->in_cap - c->in_len;
        ssize_t n = read(c->fd, c->in + c->in_len, want);
        if (n > 0) {
            c->in_len += (size_t)n;
            if ((size_t)n < want)
                c->readable = false;
            progress = true;
        } else if (n == 0) {
            peer_closed(c);
            return true;
        } else if (errno == EAGAIN) {
            c->readable = false;
            return progress;
        } else if (errno != EINTR) {
            peer_closed(c);
            return true;
        }
    }
}

/* ---- output ---- */

static void socket_full(conn *c)
{
    c->writable = false;
    if (!c->out_armed) {
        c->out_armed = true;
        if (agent_rewatch(c->a, c->fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0)
            peer_closed(c);
    }
}

static bool conn_flush(conn *c)
{
    size_t left = c->out.len - c->out_off;
    if (!left || !c->writable)
        return false;
    ssize_t n = write(c->fd, c->out.data + c->out_off, left);
    if (n < 0) {
        if (errno == EAGAIN)
            socket_full(c);
        else if (errno != EINTR)
            peer_closed(c);
        return false;
    }
    c->out_off += (size_t)n;
    if ((size_t)n < left) {
        socket_full(c);
        memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
    }
    c->out.len -= c->out_off;
    c->out.frame_start = c->out.len;
    c->out_off = 0;
    return true;
}

static bool conn_output(conn *c)
{
    if (c->x)
        return exec_pump(c);
    if (c->state == S_READ)
        return files_pump(c);
    return false;
}

void conn_run(conn *c)
{
    if (c->state == S_KEPT) {
        keep_run(c);
        return;
    }
    int rounds = 0;
    while (!c->dead) {
        if (c->state == S_PROXY) {
            proxy_run(c);
            if (c->state == S_PROXY)  /* else the connect failed: frames again */
                break;
        }
        if (++rounds > MAX_ROUNDS) {
            c->again = c->a->again = true;
            break;
        }
        bool progress = conn_input(c);
        if (c->dead)
            break;
        progress |= conn_output(c);
        if (!conn_room(c, SM_AGENT_CHUNK) || !progress)
            progress |= conn_flush(c);
        if (!progress)
            break;
    }
    if (c->state == S_CLOSING && !c->dead) {
        conn_flush(c);
        c->dead = true;
    }
    if (c->dead)
        keep_detach(c);
}
