/*
 * The client's exec: a handle whose wait() pumps the connection in one
 * thread (stdin out, output in, so neither direction can stall the other)
 * while other threads may queue stdin, signals and resizes.
 *
 * Frames to send go through one queue under a mutex, so that frames from
 * different threads never interleave; whoever queues tries a non-blocking
 * send, and what is left is sent by wait() when the socket has room.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/client_int.h"
#include "util/error.h"

struct sm_agent_exec {
    sm_agent_conn *c;
    pthread_mutex_t lock;
    pthread_cond_t cond;     /* the queue shrank, or wait() ended */
    int wake_fd;             /* tells wait() that frames are queued */
    sm_agent_wbuf q;         /* frames not sent yet; the first q_off bytes are */
    size_t q_off;
    bool stdin_allowed, stdin_closed;
    bool pumping, finished;
    int err;                 /* the connection failed: every call returns it */
    uint32_t pid;
};

static int exec_new(sm_agent_exec **out)
{
    sm_agent_exec *e = calloc(1, sizeof *e);
    if (!e)
        return sm_fail(ENOMEM, "out of memory");
    e->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (e->wake_fd < 0) {
        int err = sm_fail(errno, "cannot create an eventfd: %s", strerror(errno));
        free(e);
        return err;
    }
    e->q.grow = true;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    *out = e;
    return 0;
}

int sm_agent_exec_start(sm_agent_conn *c, const sm_agent_exec_req *req, sm_agent_exec **out)
{
    if (!req->argv || !req->argv[0])
        return sm_fail(EINVAL, "exec needs a command");
    int err = sm_agent_conn_begin(c);
    if (err)
        return err;
    if ((err = sm_agent_encode_exec(&c->out, req)) < 0)
        return sm_fail(err, err == -EMSGSIZE ? "the command and its environment exceed the "
                                               "agent's 1 MiB frame" : "out of memory");
    sm_agent_exec *e;
    if ((err = exec_new(&e)) < 0)
        return err;
    if ((err = sm_agent_conn_send(c, NULL, 0)) < 0) {
        sm_agent_exec_free(e);
        return err;
    }
    c->used = true;
    e->c = c;
    e->stdin_allowed = req->stdin_pipe || req->pty;
    *out = e;
    return 0;
}

/* STARTED, or the ERROR that says why not. */
static int attach_reply(sm_agent_conn *c, uint32_t pid)
{
    sm_agent_frame f;
    const char *why = "";
    uint32_t got = pid;
    int err = sm_agent_conn_next(c, &f, false);
    if (err < 0)
        return err;
    if (f.type == SM_AGENT_ERROR)
        return sm_agent_conn_error(&f, "cannot attach to the guest's process");
    if (f.type != SM_AGENT_STARTED)
        return sm_agent_conn_unexpected(c, &f, "attach");
    if (sm_agent_decode_started(&f, &got, &why) == 0 && got == pid)
        return 0;
    c->broken = true;
    return sm_fail(EPROTO, "the agent sent a bad STARTED: %s", got != pid ? "another pid" : why);
}

int sm_agent_exec_attach(sm_agent_conn *c, uint32_t pid, sm_agent_exec **out)
{
    if (pid < 1 || pid > INT32_MAX)
        return sm_fail(EINVAL, "%u is not a process id", pid);
    int err = sm_agent_conn_begin(c);
    if (err)
        return err;
    if ((err = sm_agent_encode_attach(&c->out, pid)) < 0)
        return sm_fail(err, "out of memory");
    sm_agent_exec *e;
    if ((err = exec_new(&e)) < 0)
        return err;
    if ((err = sm_agent_conn_send(c, NULL, 0)) < 0 || (err = attach_reply(c, pid)) < 0) {
        sm_agent_exec_free(e);
        return err;
    }
    c->used = true;
    e->c = c;
    e->pid = pid;
    *out = e;
    return 0;
}

void sm_agent_exec_free(sm_agent_exec *e)
{
    if (!e)
        return;
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->cond);
    close(e->wake_fd);
    sm_agent_wbuf_free(&e->q);
    free(e);
}

uint32_t sm_agent_exec_pid(const sm_agent_exec *e)
{
    return __atomic_load_n(&e->pid, __ATOMIC_RELAXED);
}

/* ---- the send queue (callers hold e->lock) ---- */

static size_t backlog(const sm_agent_exec *e)
{
    return e->q.len - e->q_off;
}

static void flush_locked(sm_agent_exec *e)
{
    while (!e->err && backlog(e)) {
        ssize_t n = send(e->c->fd, e->q.data + e->q_off, backlog(e), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            e->err = sm_fail(errno, "cannot send to the agent: %s", strerror(errno));
            break;
        }
        e->q_off += (size_t)n;
    }
    if (e->q_off && (e->err || !backlog(e))) {
        e->q.len = e->q.frame_start = e->q_off = 0;
    } else if (e->q_off > SM_AGENT_CLIENT_BACKLOG) {
        memmove(e->q.data, e->q.data + e->q_off, backlog(e));
        e->q.len -= e->q_off;
        e->q.frame_start = e->q.len;
        e->q_off = 0;
    }
    pthread_cond_broadcast(&e->cond);
}

static int check_open(sm_agent_exec *e)
{
    if (e->err)
        return e->err;
    if (e->finished)
        return sm_fail(EPIPE, "the command has already ended");
    return 0;
}

/* Send what was just queued, or hand it to wait(). */
static int push_locked(sm_agent_exec *e)
{
    flush_locked(e);
    if (backlog(e) && e->pumping) {
        uint64_t one = 1;
        ssize_t n = write(e->wake_fd, &one, sizeof one);
        (void)n;
    }
    return e->err;
}

/* Without a concurrent wait(), block on the socket ourselves. */
static void wait_room_locked(sm_agent_exec *e)
{
    while (!e->err && !e->finished && backlog(e) > SM_AGENT_CLIENT_BACKLOG) {
        if (e->pumping) {
            pthread_cond_wait(&e->cond, &e->lock);
            continue;
        }
        pthread_mutex_unlock(&e->lock);
        struct pollfd p = {.fd = e->c->fd, .events = POLLOUT};
        poll(&p, 1, -1);
        pthread_mutex_lock(&e->lock);
        flush_locked(e);
    }
}

static int queue_stdin_locked(sm_agent_exec *e, const void *data, size_t len, bool eof)
{
    int err = sm_agent_encode_data(&e->q, SM_AGENT_STDIN, data, len, eof);
    if (err)
        return sm_fail(err, "out of memory");
    if (eof)
        e->stdin_closed = true;
    return push_locked(e);
}

static int stdin_check(sm_agent_exec *e)
{
    int err = check_open(e);
    if (!err && !e->stdin_allowed)
        err = sm_fail(EINVAL, "the command was started without stdin (set stdin_pipe)");
    if (!err && e->stdin_closed)
        err = sm_fail(EPIPE, "stdin is already closed");
    return err;
}

int sm_agent_exec_write_stdin(sm_agent_exec *e, const void *data, size_t len)
{
    const uint8_t *p = data;
    int err = 0;
    while (!err && len) {
        size_t n = len < SM_AGENT_CHUNK ? len : SM_AGENT_CHUNK;
        pthread_mutex_lock(&e->lock);
        wait_room_locked(e);
        err = stdin_check(e);
        if (!err)
            err = queue_stdin_locked(e, p, n, false);
        pthread_mutex_unlock(&e->lock);
        p += n;
        len -= n;
    }
    return err;
}

int sm_agent_exec_close_stdin(sm_agent_exec *e)
{
    pthread_mutex_lock(&e->lock);
    int err = stdin_check(e);
    if (!err)
        err = queue_stdin_locked(e, NULL, 0, true);
    pthread_mutex_unlock(&e->lock);
    return err;
}

int sm_agent_exec_signal(sm_agent_exec *e, int signo, bool group)
{
    if (signo < 1 || signo > 64)
        return sm_fail(EINVAL, "%d is not a signal number", signo);
    pthread_mutex_lock(&e->lock);
    int err = check_open(e);
    if (!err && (err = sm_agent_encode_signal(&e->q, &(sm_agent_signal){(uint32_t)signo, group})))
        err = sm_fail(err, "out of memory");
    if (!err)
        err = push_locked(e);
    pthread_mutex_unlock(&e->lock);
    return err;
}

int sm_agent_exec_resize(sm_agent_exec *e, uint16_t rows, uint16_t cols)
{
    pthread_mutex_lock(&e->lock);
    int err = check_open(e);
    if (!err && (err = sm_agent_encode_resize(&e->q, &(sm_agent_winsize){rows, cols})))
        err = sm_fail(err, "out of memory");
    if (!err)
        err = push_locked(e);
    pthread_mutex_unlock(&e->lock);
    return err;
}

/* ---- wait(): the pump ---- */

typedef struct pump {
    sm_agent_exec *e;
    const sm_agent_exec_io *io;
    size_t data_off;     /* of io->stdin_data sent */
    int stdin_fd;        /* io->stdin_fd until its end */
    bool auto_stdin;     /* io supplies stdin and its end */
    uint8_t *buf;
    sm_agent_exit *result;
    bool done;
} pump;

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            poll(&pf, 1, -1);
            continue;
        }
        if (n < 0)
            return sm_fail(errno, "cannot write the command's output: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int deliver(pump *p, const sm_agent_frame *f)
{
    const sm_agent_exec_io *io = p->io;
    bool out = f->type == SM_AGENT_STDOUT;
    sm_agent_sink sink = io ? (out ? io->on_stdout : io->on_stderr) : NULL;
    int fd = io ? (out ? io->stdout_fd : io->stderr_fd) : -1;
    if (!f->len)
        return 0;
    if (sink)
        return sink(io->ctx, f->payload, f->len);
    return fd >= 0 ? write_all(fd, f->payload, f->len) : 0;
}

static int on_frame(pump *p, const sm_agent_frame *f)
{
    const char *why = "";
    uint32_t pid;
    switch (f->type) {
    case SM_AGENT_STDOUT:
    case SM_AGENT_STDERR:
        return deliver(p, f);
    case SM_AGENT_STARTED:
        if (sm_agent_decode_started(f, &pid, &why) < 0)
            break;
        __atomic_store_n(&p->e->pid, pid, __ATOMIC_RELAXED);
        if (p->io && p->io->on_started)
            p->io->on_started(p->io->ctx, pid);
        return 0;
    case SM_AGENT_EXIT:
        if (sm_agent_decode_exit(f, p->result, &why) < 0)
            break;
        p->done = true;
        return 0;
    case SM_AGENT_ERROR:
        return sm_agent_conn_error(f, "exec in the guest failed");
    default:
        return sm_agent_conn_unexpected(p->e->c, f, "exec");
    }
    p->e->c->broken = true;
    return sm_fail(EPROTO, "the agent sent a bad %s: %s", sm_agent_type_name(f->type), why);
}

static int receive(pump *p)
{
    for (;;) {
        sm_agent_frame f;
        int r = sm_agent_conn_next(p->e->c, &f, true);
        if (r <= 0)
            return r;
        if ((r = on_frame(p, &f)) < 0 || p->done)
            return r;
    }
}

/* Queue stdin from io while the backlog is small. */
static int feed(pump *p)
{
    sm_agent_exec *e = p->e;
    const sm_agent_exec_io *io = p->io;
    int err = 0;
    pthread_mutex_lock(&e->lock);
    while (!err && p->data_off < io->stdin_len && backlog(e) < SM_AGENT_CLIENT_BACKLOG) {
        size_t n = io->stdin_len - p->data_off;
        n = n < SM_AGENT_CHUNK ? n : SM_AGENT_CHUNK;
        err = queue_stdin_locked(e, (const uint8_t *)io->stdin_data + p->data_off, n, false);
        p->data_off += n;
    }
    if (!err && p->data_off == io->stdin_len && p->stdin_fd < 0 && !e->stdin_closed)
        err = queue_stdin_locked(e, NULL, 0, true);
    pthread_mutex_unlock(&e->lock);
    return err;
}

static int read_stdin_fd(pump *p)
{
    ssize_t n = read(p->stdin_fd, p->buf, SM_AGENT_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n < 0)
        return sm_fail(errno, "cannot read the command's stdin: %s", strerror(errno));
    if (n == 0)
        p->stdin_fd = -1;  /* feed() sends the EOF */
    pthread_mutex_lock(&p->e->lock);
    int err = n ? queue_stdin_locked(p->e, p->buf, (size_t)n, false) : 0;
    pthread_mutex_unlock(&p->e->lock);
    return err;
}

static int step(pump *p)
{
    sm_agent_exec *e = p->e;
    int err = p->auto_stdin ? feed(p) : 0;
    if (err)
        return err;
    pthread_mutex_lock(&e->lock);
    bool pending = backlog(e) > 0, room = backlog(e) < SM_AGENT_CLIENT_BACKLOG;
    pthread_mutex_unlock(&e->lock);
    bool from_fd = p->auto_stdin && p->stdin_fd >= 0 && room &&
                   p->data_off == p->io->stdin_len;
    struct pollfd pf[3] = {
        {.fd = e->c->fd, .events = POLLIN | (pending ? POLLOUT : 0)},
        {.fd = e->wake_fd, .events = POLLIN},
        {.fd = from_fd ? p->stdin_fd : -1, .events = POLLIN},
    };
    if (poll(pf, 3, -1) < 0)
        return errno == EINTR ? 0 : sm_fail(errno, "poll: %s", strerror(errno));
    if (pf[1].revents) {
        uint64_t v;
        ssize_t n = read(e->wake_fd, &v, sizeof v);
        (void)n;
    }
    if (pf[0].revents & POLLOUT) {
        pthread_mutex_lock(&e->lock);
        flush_locked(e);
        err = e->err;
        pthread_mutex_unlock(&e->lock);
    }
    if (!err && pf[2].revents)
        err = read_stdin_fd(p);
    if (!err && pf[0].revents & (POLLIN | POLLHUP | POLLERR))
        err = receive(p);
    return err;
}

int sm_agent_exec_wait(sm_agent_exec *e, const sm_agent_exec_io *io, sm_agent_exit *result)
{
    pump p = {.e = e, .io = io, .stdin_fd = io ? io->stdin_fd : -1, .result = result};
    p.auto_stdin = io && (io->stdin_data || io->stdin_fd >= 0);
    if (p.auto_stdin && !e->stdin_allowed)
        return sm_fail(EINVAL, "stdin given for a command started without stdin_pipe");
    if (p.stdin_fd >= 0 && !(p.buf = malloc(SM_AGENT_CHUNK)))
        return sm_fail(ENOMEM, "out of memory");
    pthread_mutex_lock(&e->lock);
    int err = check_open(e);
    e->pumping = true;
    pthread_mutex_unlock(&e->lock);
    /* After an attach, frames may wait in the buffer already (EXIT with
     * STARTED): poll() would not see them. */
    if (!err && e->c->in_len > e->c->in_pos)
        err = receive(&p);
    while (!err && !p.done)
        err = step(&p);
    pthread_mutex_lock(&e->lock);
    e->pumping = false;
    e->finished = true;
    if (err && !e->err)
        e->err = err;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    free(p.buf);
    return err;
}

/* ---- buffered ---- */

typedef struct capture {
    uint8_t **data;
    size_t *len;
    size_t cap, max;
    bool *truncated;
} capture;

static int capture_chunk(capture *c, const void *data, size_t len)
{
    if (len > c->max - *c->len) {
        *c->truncated = true;
        len = c->max - *c->len;
    }
    if (*c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < *c->len + len + 1)
            cap *= 2;
        uint8_t *p = realloc(*c->data, cap);
        if (!p)
            return sm_fail(ENOMEM, "out of memory for the command's output");
        *c->data = p;
        c->cap = cap;
    }
    memcpy(*c->data + *c->len, data, len);
    *c->len += len;
    (*c->data)[*c->len] = 0;
    return 0;
}

static int capture_out(void *ctx, const void *data, size_t len)
{
    return capture_chunk(&((capture *)ctx)[0], data, len);
}

static int capture_err(void *ctx, const void *data, size_t len)
{
    return capture_chunk(&((capture *)ctx)[1], data, len);
}

int sm_agent_exec_run(sm_agent_conn *c, const sm_agent_exec_req *req, const void *stdin_data,
                      size_t stdin_len, size_t max_output, sm_agent_output *out,
                      sm_agent_exit *result)
{
    *out = (sm_agent_output){0};
    sm_agent_exec_req r = *req;
    r.stdin_pipe = r.stdin_pipe || stdin_data;
    capture cap[2] = {{&out->out, &out->out_len, 0, max_output, &out->truncated},
                      {&out->err, &out->err_len, 0, max_output, &out->truncated}};
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.on_stdout = capture_out;
    io.on_stderr = capture_err;
    io.ctx = cap;
    io.stdin_data = stdin_data;
    io.stdin_len = stdin_data ? stdin_len : 0;
    sm_agent_exec *e;
    int err = sm_agent_exec_start(c, &r, &e);
    if (err)
        return err;
    err = sm_agent_exec_wait(e, &io, result);
    sm_agent_exec_free(e);
    /* Both buffers exist and end in NUL, even when empty. */
    if (!err && (capture_chunk(&cap[0], "", 0) || capture_chunk(&cap[1], "", 0)))
        err = -ENOMEM;
    if (err)
        sm_agent_output_free(out);
    return err;
}

void sm_agent_output_free(sm_agent_output *o)
{
    free(o->out);
    free(o->err);
    *o = (sm_agent_output){0};
}
