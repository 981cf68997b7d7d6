/* The agent's one loop: accept connections, route readiness to them, reap
 * children and enforce exec timeouts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "agent_int.h"

#define MAX_EVENTS 64

static void accept_one(agent *a)
{
    int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            agent_log("sm-init agent: accept: %s", strerror(errno));
        return;
    }
    conn *c = conn_new(a, fd);
    if (c)
        conn_run(c);
}

static conn *conn_of_pid(agent *a, pid_t pid)
{
    for (conn *c = a->conns; c; c = c->next)
        if (c->x && c->x->pid == pid && !c->x->reaped)
            return c;
    return NULL;
}

/* Every child, including orphans we inherit as PID 1: those are just
 * reaped. */
static void reap(agent *a)
{
    struct signalfd_siginfo si[16];
    while (read(a->sigfd, si, sizeof si) == (ssize_t)sizeof si)
        ;
    for (;;) {
        int status;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, WNOHANG, &ru);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        conn *c = conn_of_pid(a, pid);
        if (c) {
            exec_reaped(c, status, &ru);
            conn_run(c);
        }
    }
}

/* Milliseconds until the nearest exec deadline, -1 if none, 0 if work is
 * left over from the last round. */
static int next_timeout(agent *a)
{
    if (a->again)
        return 0;
    uint64_t first = 0;
    for (conn *c = a->conns; c; c = c->next)
        if (c->x && c->x->deadline_ns && (!first || c->x->deadline_ns < first))
            first = c->x->deadline_ns;
    if (!first)
        return -1;
    uint64_t now = agent_now_ns();
    if (first <= now)
        return 0;
    uint64_t ms = (first - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

static void expire(agent *a)
{
    uint64_t now = 0;
    for (conn *c = a->conns; c; c = c->next) {
        if (!c->x || !c->x->deadline_ns)
            continue;
        if (!now)
            now = agent_now_ns();
        if (c->x->deadline_ns <= now) {
            exec_timeout(c);
            conn_run(c);
        }
    }
}

static void on_event(agent *a, const struct epoll_event *ev)
{
    watch *w = agent_watch_of(a, (int)ev->data.u64);
    if (!w)
        return;
    bool in = ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP);
    bool out = ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR);
    conn *c = w->c;
    switch (w->kind) {
    case W_LISTEN: accept_one(a); return;
    case W_SIGNAL: reap(a); return;
    case W_SOCK:
        c->readable |= in;
        c->writable |= out;
        c->hup |= (ev->events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) != 0;
        break;
    case W_STDIN: c->x->in_ready = true; break;
    case W_STDOUT: c->x->out_ready = true; break;
    case W_STDERR: c->x->err_ready = true; break;
    case W_PTY:
        c->x->in_ready |= out;
        c->x->out_ready |= in;
        break;
    case W_TCP:
        proxy_event(c, in, out, ev->events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR));
        break;
    }
    conn_run(c);
}

/* Connections that stopped early to let others run get another turn. */
static void run_leftovers(agent *a)
{
    if (!a->again)
        return;
    a->again = false;
    for (conn *c = a->conns; c; c = c->next) {
        if (c->again) {
            c->again = false;
            conn_run(c);
        }
    }
}

static void sweep(agent *a)
{
    for (conn **p = &a->conns; *p;) {
        conn *c = *p;
        if (c->dead) {
            *p = c->next;
            conn_free(c);
        } else {
            p = &c->next;
        }
    }
}

static int setup(agent *a, int listen_fd)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGPIPE);  /* writes to a closed pipe return EPIPE */
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigdelset(&set, SIGPIPE);
    a->listen_fd = listen_fd;
    a->umask = umask(022);
    umask(a->umask);
    /* Pipes must not land on 0-2, where the child's dup2s would clash. */
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            return -EBADF;
    a->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    a->epfd = epoll_create1(EPOLL_CLOEXEC);
    a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (a->devnull < 0 || a->epfd < 0 || a->sigfd < 0)
        return -errno;
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0))
        return -errno;
    a->w_listen.kind = W_LISTEN;
    a->w_signal.kind = W_SIGNAL;
    /* Level-triggered: one accept or one signalfd read per wakeup, and no
     * read that only finds EAGAIN. */
    int err = agent_watch(a, listen_fd, &a->w_listen, EPOLLIN);
    if (!err)
        err = agent_watch(a, a->sigfd, &a->w_signal, EPOLLIN);
    if (!err)
        reap(a);  /* children that ended before the signalfd existed */
    return err;
}

static void teardown(agent *a)
{
    for (conn *c = a->conns; c; c = c->next)
        c->dead = true;
    sweep(a);
    while (a->npool)
        free(a->pool[--a->npool]);
    free(a->watches);
    if (a->sigfd >= 0)
        close(a->sigfd);
    if (a->epfd >= 0)
        close(a->epfd);
    if (a->devnull >= 0)
        close(a->devnull);
}

int sm_agent_serve(int listen_fd)
{
    agent a = {.epfd = -1, .sigfd = -1, .devnull = -1};
    int err = setup(&a, listen_fd);
    while (!err) {
        struct epoll_event evs[MAX_EVENTS];
        int n = epoll_wait(a.epfd, evs, MAX_EVENTS, next_timeout(&a));
        if (n < 0 && errno != EINTR) {
            err = -errno;
            break;
        }
        for (int i = 0; i < n; i++)
            on_event(&a, &evs[i]);
        run_leftovers(&a);
        expire(&a);
        sweep(&a);
    }
    agent_log("sm-init agent: stopped: %s", strerror(-err));
    teardown(&a);
    return err;
}
