/* A running command: its stdin from the host, its output to the host, its
 * signals, timeout and end. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent_int.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif

#define ET (EPOLLET | EPOLLRDHUP)
#define MAX_TIMEOUT_MS (366ull * 24 * 3600 * 1000)

static void set_winsize(int fd, uint16_t rows, uint16_t cols)
{
    struct winsize ws = {.ws_row = rows ? rows : 24, .ws_col = cols ? cols : 80};
    ioctl(fd, TIOCSWINSZ, &ws);
}

static int open_pty(uint16_t rows, uint16_t cols)
{
    int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int unlock = 0;
    if (ioctl(fd, TIOCSPTLCK, &unlock) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    set_winsize(fd, rows, cols);
    return fd;
}

/* Pipes whose child ends the child makes blocking again. */
static int open_pipes(agent *a, const sm_agent_exec_req *r, int p[3][2])
{
    for (int i = 0; i < 3; i++)
        p[i][0] = p[i][1] = -1;
    if (!r->stdin_pipe)
        p[0][0] = a->devnull;
    else if (pipe2(p[0], O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    if (pipe2(p[1], O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(p[2], O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static void close_pair(agent *a, int p[2])
{
    if (p[0] != a->devnull)
        agent_close(a, &p[0]);
    agent_close(a, &p[1]);
}

static int watch_streams(conn *c)
{
    exec_state *x = c->x;
    agent *a = c->a;
    if (x->pty)
        return agent_watch(a, x->out_fd, &c->w_out, EPOLLIN | EPOLLOUT | ET);
    int err = agent_watch(a, x->out_fd, &c->w_out, EPOLLIN | ET);
    if (!err)
        err = agent_watch(a, x->err_fd, &c->w_err, EPOLLIN | ET);
    if (!err && x->in_fd >= 0)
        err = agent_watch(a, x->in_fd, &c->w_in, EPOLLOUT | ET);
    return err;
}

/* The agent opens the slave before the fork and keeps it until the command
 * is reaped: reading a master whose slave nobody holds fails with EIO, and
 * the last close of a slave hangs up the terminal, which would SIGHUP a
 * command that closes its stdio before it exits (as cat does). */
static int start_pty(conn *c, const sm_agent_exec_req *r)
{
    exec_state *x = c->x;
    int m = open_pty(r->rows, r->cols);
    if (m < 0)
        return m;
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int err = -errno;
        close(m);
        return err;
    }
    pid_t pid = agent_spawn(r, &(spawn_io){.in = s, .out = s, .err = s, .pty = m});
    if (pid < 0) {
        close(s);
        close(m);
        return (int)pid;
    }
    x->pid = pid;
    x->in_fd = x->out_fd = m;
    x->slave_fd = s;
    return 0;
}

static int start_pipes(conn *c, const sm_agent_exec_req *r)
{
    exec_state *x = c->x;
    int p[3][2];
    int err = open_pipes(c->a, r, p);
    pid_t pid = -1;
    if (!err) {
        pid = agent_spawn(r, &(spawn_io){.in = p[0][0], .out = p[1][1], .err = p[2][1], .pty = -1});
        err = pid < 0 ? (int)pid : 0;
    }
    if (err) {
        for (int i = 0; i < 3; i++)
            close_pair(c->a, p[i]);
        return err;
    }
    x->pid = pid;
    x->in_fd = p[0][1];
    x->out_fd = p[1][0];
    x->err_fd = p[2][0];
    p[0][1] = p[1][0] = p[2][0] = -1;
    for (int i = 0; i < 3; i++)
        close_pair(c->a, p[i]);
    return 0;
}

int exec_begin(conn *c, const sm_agent_frame *f)
{
    sm_agent_exec_req r;
    const char *why = "";
    int err = sm_agent_decode_exec(f, &r, &why);
    if (err == -ENOMEM)
        return conn_fail(c, ENOMEM, "no memory for the command");
    if (err)
        return conn_fail(c, EBADMSG, "bad EXEC: %s", why);
    exec_state *x = calloc(1, sizeof *x);
    if (!x) {
        sm_agent_exec_req_release(&r);
        return conn_fail(c, ENOMEM, "no memory for the command");
    }
    *x = (exec_state){.in_fd = -1, .out_fd = -1, .err_fd = -1, .slave_fd = -1, .pty = r.pty,
                      .stdin_allowed = r.stdin_pipe || r.pty, .keep = r.keep};
    c->x = x;
    c->w_in = (watch){W_STDIN, c};
    c->w_out = (watch){r.pty ? W_PTY : W_STDOUT, c};
    c->w_err = (watch){W_STDERR, c};
    err = r.pty ? start_pty(c, &r) : start_pipes(c, &r);
    if (!err)
        err = watch_streams(c);
    if (err) {
        const char *cmd = r.argv[0];
        conn_reply_error(c, -err, "cannot start %s: %s", cmd, strerror(-err));
        sm_agent_exec_req_release(&r);
        if (x->pid > 0)
            kill(x->pid, SIGKILL);
        exec_free(c);
        c->state = S_DONE;
        return 0;
    }
    if (r.timeout_ms)  /* at most a year: no overflow */
        x->deadline_ns = agent_now_ns() + (r.timeout_ms < MAX_TIMEOUT_MS ? r.timeout_ms : MAX_TIMEOUT_MS) * 1000000u;
    sm_agent_exec_req_release(&r);
    if (x->keep)
        keep_started(c);
    sm_agent_encode_started(&c->out, (uint32_t)x->pid);
    /* Output is reported by its first event; stdin has room. */
    x->in_ready = true;
    c->state = S_EXEC;
    return 0;
}

/* ---- host -> command ---- */

static void stdin_close(conn *c)
{
    exec_state *x = c->x;
    if (x->pty) {
        /* A terminal has no end of file: VEOF at the start of a line is
         * what a typing user sends. */
        static const char eot = 4;
        ssize_t n = write(x->in_fd, &eot, 1);
        (void)n;
        x->stdin_gone = true;
        return;
    }
    agent_close(c->a, &x->in_fd);
    x->stdin_gone = true;
}

void exec_stdin_end(conn *c)
{
    if (c->x->stdin_allowed && !c->x->stdin_gone)
        stdin_close(c);
}

static int on_stdin(conn *c, const sm_agent_frame *f)
{
    exec_state *x = c->x;
    if (!x->stdin_allowed)
        return conn_fail(c, EPROTO, "STDIN for a command started without stdin");
    if (x->stdin_eof)
        return conn_fail(c, EPROTO, "STDIN after its end");
    while (!x->stdin_gone && c->in_done < f->len) {
        if (!x->in_ready)
            return 1;
        size_t want = f->len - c->in_done;
        ssize_t n = write(x->in_fd, f->payload + c->in_done, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            x->in_ready = false;
            return 1;
        }
        if (n < 0) {  /* EPIPE, or EIO from a pty: the command stopped reading */
            if (!x->pty)
                agent_close(c->a, &x->in_fd);
            x->stdin_gone = true;
            break;
        }
        c->in_done += (size_t)n;
        if ((size_t)n < want)
            x->in_ready = false;
    }
    if (f->flags & SM_AGENT_F_EOF) {
        x->stdin_eof = true;
        if (!x->stdin_gone)
            stdin_close(c);
    }
    return 0;
}

static int on_signal(conn *c, const sm_agent_frame *f)
{
    sm_agent_signal s;
    const char *why = "";
    if (sm_agent_decode_signal(f, &s, &why) < 0)
        return conn_fail(c, EBADMSG, "bad SIGNAL: %s", why);
    exec_state *x = c->x;
    if (!x->reaped && (kill(s.group ? -x->pid : x->pid, (int)s.signo) < 0) && s.group)
        kill(x->pid, (int)s.signo);  /* before the child's setsid */
    return 0;
}

static int on_resize(conn *c, const sm_agent_frame *f)
{
    sm_agent_winsize w;
    const char *why = "";
    if (sm_agent_decode_resize(f, &w, &why) < 0)
        return conn_fail(c, EBADMSG, "bad RESIZE: %s", why);
    if (c->x->pty && c->x->out_fd >= 0)
        set_winsize(c->x->out_fd, w.rows, w.cols);
    return 0;
}

int exec_frame(conn *c, const sm_agent_frame *f)
{
    bool control = f->type == SM_AGENT_STDIN || f->type == SM_AGENT_SIGNAL ||
                   f->type == SM_AGENT_RESIZE;
    if (!control)
        return conn_fail(c, EPROTO, "unexpected %s frame while a command runs",
                         sm_agent_type_name(f->type));
    /* After EXIT the host may still be sending: drop it. */
    if (c->state == S_DONE || !c->x)
        return 0;
    switch (f->type) {
    case SM_AGENT_STDIN: return on_stdin(c, f);
    case SM_AGENT_SIGNAL: return on_signal(c, f);
    default: return on_resize(c, f);
    }
}

/* ---- command -> host ---- */

/* Read one stream into a data frame. false when nothing was read. */
static bool pump_stream(conn *c, int *fd, bool *ready, uint16_t type)
{
    exec_state *x = c->x;
    if (*fd < 0 || !*ready || !conn_room(c, 1))
        return false;
    sm_agent_frame_begin(&c->out, type, 0);
    size_t want = sm_agent_raw_room(&c->out);
    if (want > SM_AGENT_CHUNK)
        want = SM_AGENT_CHUNK;
    ssize_t n = read(*fd, c->out.data + c->out.len, want);
    if (n > 0) {
        c->out.len += (size_t)n;
        sm_agent_frame_end(&c->out);
        /* Once the command is gone, read on to EAGAIN, which then means
         * the end (a grandchild may hold the pipe open forever). */
        if ((size_t)n < want && !x->reaped)
            *ready = false;
        return true;
    }
    sm_agent_frame_cancel(&c->out);
    if (n < 0 && errno == EINTR)
        return true;
    if (n < 0 && errno == EAGAIN && !x->reaped) {
        *ready = false;
        return false;
    }
    /* EOF, EIO (a pty whose other side closed), or drained after the end. */
    if (x->pty)
        x->in_fd = -1;
    agent_close(c->a, fd);
    return true;
}

/* With the root's writable layer on a disk (sm_upper, --disk), what the
 * process wrote must reach that disk before the host hears it ended: the
 * host may stop the VM right after, without the guest's own shutdown. */
static void flush_persistent_root(void)
{
    static int persistent = -1;
    if (persistent < 0)
        persistent = getenv("sm_upper") != NULL;
    if (persistent)
        sync();
}

static void send_exit(conn *c)
{
    exec_state *x = c->x;
    flush_persistent_root();
    sm_agent_exit e = {
        .timed_out = x->timed_out,
        .maxrss_kib = (uint64_t)x->ru.ru_maxrss,
        .utime_us = (uint64_t)x->ru.ru_utime.tv_sec * 1000000u + (uint64_t)x->ru.ru_utime.tv_usec,
        .stime_us = (uint64_t)x->ru.ru_stime.tv_sec * 1000000u + (uint64_t)x->ru.ru_stime.tv_usec,
    };
    if (WIFSIGNALED(x->status)) {
        e.status = -1;
        e.termsig = WTERMSIG(x->status);
    } else {
        e.status = WEXITSTATUS(x->status);
    }
    if (sm_agent_encode_exit(&c->out, &e) == 0) {
        exec_free(c);
        c->state = S_DONE;
    }
}

bool exec_pump(conn *c)
{
    exec_state *x = c->x;
    bool progress = pump_stream(c, &x->out_fd, &x->out_ready, SM_AGENT_STDOUT);
    progress |= pump_stream(c, &x->err_fd, &x->err_ready, SM_AGENT_STDERR);
    if (x->reaped && x->out_fd < 0 && x->err_fd < 0 && conn_room(c, 64)) {
        send_exit(c);
        progress = true;
    }
    return progress;
}

void exec_reaped(conn *c, int status, const struct rusage *ru)
{
    exec_state *x = c->x;
    x->reaped = true;
    x->status = status;
    x->ru = *ru;
    x->deadline_ns = 0;
    /* Its last output is in the pipes already: read it now, events or not. */
    x->out_ready = x->err_ready = true;
}

void exec_timeout(conn *c)
{
    exec_state *x = c->x;
    x->deadline_ns = 0;
    if (x->reaped)
        return;
    x->timed_out = true;
    if (kill(-x->pid, SIGKILL) < 0)
        kill(x->pid, SIGKILL);
}

void exec_free(conn *c)
{
    exec_state *x = c->x;
    if (!x)
        return;
    if (x->pty)
        x->in_fd = -1;  /* the same fd as out_fd */
    agent_close(c->a, &x->in_fd);
    agent_close(c->a, &x->out_fd);
    agent_close(c->a, &x->err_fd);
    agent_close(c->a, &x->slave_fd);
    free(x);
    c->x = NULL;
}
