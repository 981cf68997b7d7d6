/* The worker's control socket and the supervisor of a detached VM's main
 * process (see control.h). */
#include "worker/control.h"
#include "worker/control_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent/client.h"
#include "agent/protocol.h"
#include "lib/vm_log.h"
#include "lib/vm_registry.h"
#include "lib/vsock_dial.h"
#include "util/error.h"
#include "util/log.h"
#include "util/unix_sock.h"
#include "util/file.h"
#include "vmm/machine.h"

/* How long attach_main waits for a process to become free: 2 s. */
#define ATTACH_TRIES 40
#define ATTACH_PAUSE_US (50 * 1000)

struct sm_worker_control {
    char dir[4096];
    sm_machine *machine;
    char restored_from[4096];  /* the snapshot it was restored from; "": booted */
    int listen_fd;
    int stop_fd;             /* an eventfd: the server thread ends when it is set */
    pthread_t server, main_thread;
    bool has_main_thread;
    bool main_claimed;       /* RUN or attach_main under way or done */
    pthread_mutex_t lock;
    pthread_cond_t ended_cv;
    sm_agent_conn *conn;
    sm_agent_exec *exec;
    int log_fd;
    bool ended;
};

/* ---- the main process ---- */

static int to_log(void *ctx, int stream, const void *data, size_t len)
{
    sm_worker_control *c = ctx;
    sm_vm_log_append(c->log_fd, stream, data, len);
    return 0;  /* a full disk must not kill the process; its output is lost */
}

static int log_out(void *ctx, const void *d, size_t n) { return to_log(ctx, 1, d, n); }
static int log_err(void *ctx, const void *d, size_t n) { return to_log(ctx, 2, d, n); }

/* A restored VM finds its main process by this pid (attach_main). */
static void save_pid(void *ctx, uint32_t pid)
{
    sm_worker_control *c = ctx;
    char path[4200], text[16];
    snprintf(path, sizeof path, "%s/main.pid", c->dir);
    int n = snprintf(text, sizeof text, "%u\n", pid);
    if (sm_file_write_atomic(path, text, (size_t)n, 0600) < 0) {
        const char *msg = "supermachine: cannot record the main process's pid\n";
        sm_vm_log_append(c->log_fd, 2, msg, strlen(msg));
    }
}

static void *supervise(void *arg)
{
    sm_worker_control *c = arg;
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.on_stdout = log_out;
    io.on_stderr = log_err;
    io.on_started = save_pid;
    io.ctx = c;
    sm_agent_exit x = {0};
    if (sm_agent_exec_wait(c->exec, &io, &x) == 0)
        sm_vm_exit_write(c->dir, x.termsig ? 128 + x.termsig : x.status);
    else if (sm_vm_exit_read(c->dir) < 0)
        /* The VM went away under it (killed, or the guest died). */
        sm_vm_exit_write(c->dir, 128 + SIGKILL);
    pthread_mutex_lock(&c->lock);
    c->ended = true;
    pthread_cond_broadcast(&c->ended_cv);
    /* As a container stops when its process ends. */
    if (c->machine)
        sm_machine_stop(c->machine);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int load_request(const char *dir, sm_mapped_file *f, sm_agent_exec_req *req)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/main.exec", dir);
    int err = sm_file_map(path, "the main process's request", f);
    sm_agent_frame fr;
    size_t need;
    const char *why = "";
    if (!err && (sm_agent_frame_parse(f->data, f->len, &fr, &need, &why) <= 0 ||
                 sm_agent_decode_exec(&fr, req, &why) < 0))
        err = sm_fail(EBADMSG, "%s is not an EXEC request: %s", path, why);
    return err;
}

/* One main process per worker: RUN and attach_main may race. */
static int claim_main(sm_worker_control *c)
{
    pthread_mutex_lock(&c->lock);
    bool taken = c->main_claimed;
    c->main_claimed = true;
    pthread_mutex_unlock(&c->lock);
    return taken ? sm_fail(EBUSY, "the main process was started already") : 0;
}

static int open_log(sm_worker_control *c)
{
    if (c->log_fd >= 0)
        return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/" SM_VM_LOG_NAME, c->dir);
    c->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (c->log_fd < 0)
        return sm_fail(errno, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static int dial_agent(sm_worker_control *c)
{
    int fd = -1;
    int err = sm_vsock_dial(c->dir, SM_AGENT_PORT, &fd);
    if (!err && (err = sm_agent_conn_open(fd, &c->conn)) < 0)
        close(fd);
    return err;
}

/* With c->exec set up (err 0), start its supervisor; else give the claim
 * back so that a later request may try again. */
static int supervise_main(sm_worker_control *c, int err)
{
    if (!err && (err = pthread_create(&c->main_thread, NULL, supervise, c)) != 0)
        err = sm_fail(err, "cannot start the supervisor: %s", strerror(err));
    pthread_mutex_lock(&c->lock);
    c->has_main_thread = !err;
    c->main_claimed = !err;
    if (err && c->exec) {
        sm_agent_exec_free(c->exec);
        c->exec = NULL;
    }
    if (err && c->conn) {
        sm_agent_conn_close(c->conn);
        c->conn = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

static int start_main(sm_worker_control *c)
{
    int err = claim_main(c);
    if (err)
        return err;
    err = open_log(c);
    sm_mapped_file f = {0};
    sm_agent_exec_req req;
    if (!err && (err = load_request(c->dir, &f, &req)) == 0) {
        /* A server outlives the connection, so that a VM restored from a
         * snapshot of it serves at once (attach_main finds it again). */
        req.keep = true;
        if ((err = dial_agent(c)) == 0)
            err = sm_agent_exec_start(c->conn, &req, &c->exec);
        sm_agent_exec_req_release(&req);
    }
    sm_file_unmap(&f);
    return supervise_main(c, err);
}

int sm_worker_control_attach_main(sm_worker_control *c, uint32_t pid)
{
    int err = claim_main(c);
    if (err)
        return err;
    if ((err = open_log(c)) == 0)
        err = dial_agent(c);
    /* After a restore the agent may not have seen the old connection die
     * yet: it answers EBUSY until it has. */
    for (int i = 0; !err; i++) {
        err = sm_agent_exec_attach(c->conn, pid, &c->exec);
        if (err != -EBUSY || i == ATTACH_TRIES)
            break;
        err = 0;
        usleep(ATTACH_PAUSE_US);
    }
    return supervise_main(c, err);
}

/* ---- stop ---- */

static void wait_ended(sm_worker_control *c, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->lock);
    while (!c->ended && pthread_cond_timedwait(&c->ended_cv, &c->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&c->lock);
}

/* docker pause: the vCPUs stop; "paused" in the VM's directory tells `ps`
 * and exec from other processes. */
static int freeze(sm_worker_control *c, bool on)
{
    if (!c->machine)
        return sm_fail(ESRCH, "the VM is not running");
    char path[4200];
    snprintf(path, sizeof path, "%s/" SM_VM_PAUSED_NAME, c->dir);
    if (!on) {
        sm_machine_thaw(c->machine);
        unlink(path);
        return 0;
    }
    int err = sm_file_write_atomic(path, "paused\n", 7, 0600);
    if (!err && (err = sm_machine_freeze(c->machine)) != 0)
        unlink(path);
    return err;
}

static int stop(sm_worker_control *c, int signo, int timeout_ms)
{
    if (signo < 1 || signo > 64 || timeout_ms < 0)
        return sm_fail(EINVAL, "STOP wants a signal number and a timeout");
    /* A paused VM stops as docker stops a paused container: it runs again
     * so that its process sees the signal. */
    if (c->machine)
        freeze(c, false);
    pthread_mutex_lock(&c->lock);
    bool running = c->has_main_thread && !c->ended;
    if (running)
        sm_agent_exec_signal(c->exec, signo, false);
    pthread_mutex_unlock(&c->lock);
    if (running)
        wait_ended(c, timeout_ms);
    pthread_mutex_lock(&c->lock);
    if (running && !c->ended)
        sm_vm_exit_write(c->dir, 128 + SIGKILL);  /* what docker reports then */
    if (c->machine)
        sm_machine_stop(c->machine);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* docker kill: a signal to the main process; the VM ends only if it does. */
static int signal_main(sm_worker_control *c, int signo)
{
    if (signo < 1 || signo > 64)
        return sm_fail(EINVAL, "SIGNAL wants a signal number");
    pthread_mutex_lock(&c->lock);
    bool running = c->has_main_thread && !c->ended;
    int err = running ? sm_agent_exec_signal(c->exec, signo, false) : 0;
    pthread_mutex_unlock(&c->lock);
    if (!running)
        return sm_fail(ESRCH, "the VM has no running main process");
    return err ? sm_fail(err, "cannot signal the main process: %s", strerror(-err)) : 0;
}

/* ---- the socket ---- */

static void answer(int fd, int err)
{
    char line[600];
    int n = err ? snprintf(line, sizeof line, "ERR %s\n", sm_error_text())
                : snprintf(line, sizeof line, "OK\n");
    if (n > 0 && write(fd, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0)
        return;
}

/* Keeps the descriptors a byte carried (SCM_RIGHTS), up to *nfds of
 * them; more are closed. */
static void take_fds(struct msghdr *msg, int *fds, unsigned *nfds)
{
    for (struct cmsghdr *h = CMSG_FIRSTHDR(msg); h; h = CMSG_NXTHDR(msg, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof fd, sizeof fd);
            if (*nfds < SM_WORKER_CONTROL_MAX_FDS)
                fds[(*nfds)++] = fd;
            else
                close(fd);
        }
    }
}

/* One request line, byte by byte so that nothing after it is consumed,
 * with the files it hands over. */
static void read_request(int fd, char *line, size_t size, int *fds, unsigned *nfds)
{
    size_t n = 0;
    /* A bounded wait: a client that never sends must not block stops. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n + 1 < size && poll(&p, 1, 5000) == 1) {
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * SM_WORKER_CONTROL_MAX_FDS)];
        } cm;
        struct iovec iov = {.iov_base = line + n, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                             .msg_controllen = sizeof cm.buf};
        ssize_t r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (r > 0)
            take_fds(&msg, fds, nfds);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
}

static void serve_one(sm_worker_control *c, int fd)
{
    char line[2 * 4096 + 32] = {0};
    int fds[SM_WORKER_CONTROL_MAX_FDS];
    unsigned nfds = 0;
    read_request(fd, line, sizeof line, fds, &nfds);
    int signo = 0, timeout = 0, err;
    unsigned pid = 0;
    if (!strcmp(line, "RUN"))
        err = start_main(c);
    else if (sscanf(line, "STOP %d %d", &signo, &timeout) == 2)
        err = stop(c, signo, timeout);
    else if (!strcmp(line, "PAUSE") || !strcmp(line, "UNPAUSE"))
        err = freeze(c, line[0] == 'P');
    else if (sscanf(line, "SIGNAL %d", &signo) == 1)
        err = signal_main(c, signo);
    else if (sscanf(line, "ATTACH %u", &pid) == 1)
        err = sm_worker_control_attach_main(c, pid);
    else if (!strncmp(line, "SNAPSHOT", 8) && (line[8] == ' ' || !line[8]))
        err = sm_worker_snapshot(c->machine, c->restored_from, line[8] ? line + 9 : NULL, fds,
                                 nfds);
    else
        err = sm_fail(EINVAL, "unknown control request");
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
    answer(fd, err);
}

/* Stopped between requests through stop_fd, not pthread_cancel: glibc
 * loads libgcc_s for cancellation on first use, which a confined worker
 * can no longer do. */
static void *server(void *arg)
{
    sm_worker_control *c = arg;
    struct pollfd p[2] = {{.fd = c->listen_fd, .events = POLLIN},
                          {.fd = c->stop_fd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return NULL;
        if (p[1].revents)
            return NULL;
        if (!p[0].revents)
            continue;
        /* This thread is the only one to accept: a pending connection
         * stays until it does, so this does not block. */
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        if (!sm_unix_peer_trusted(fd)) {
            close(fd);
            continue;
        }
        serve_one(c, fd);
        close(fd);
    }
}

int sm_worker_control_start(const char *dir, sm_machine *m, const char *restored_from,
                            sm_worker_control **out)
{
    sm_worker_control *c = calloc(1, sizeof *c);
    if (!c)
        return sm_fail(ENOMEM, "out of memory");
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->restored_from, sizeof c->restored_from, "%s", restored_from ? restored_from : "");
    c->machine = m;
    c->log_fd = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->ended_cv, NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/control.sock", dir);
    c->listen_fd = sm_unix_listen(path, SOCK_CLOEXEC, 8);
    c->stop_fd = eventfd(0, EFD_CLOEXEC);
    int err = c->listen_fd < 0 ? c->listen_fd : 0;
    if (!err && c->stop_fd < 0)
        err = sm_fail(errno, "eventfd: %s", strerror(errno));
    if (!err && (err = pthread_create(&c->server, NULL, server, c)) != 0)
        err = sm_fail(err, "cannot start the control thread: %s", strerror(err));
    if (err) {
        if (c->listen_fd >= 0)
            close(c->listen_fd);
        if (c->stop_fd >= 0)
            close(c->stop_fd);
        free(c);
        return err;
    }
    *out = c;
    return 0;
}

void sm_worker_control_stop(sm_worker_control *c)
{
    if (!c)
        return;
    uint64_t one = 1;
    if (write(c->stop_fd, &one, sizeof one) < 0)
        sm_debug("cannot stop the control thread: %s", strerror(errno));
    pthread_join(c->server, NULL);
    close(c->listen_fd);
    close(c->stop_fd);
    /* Called once the machine has stopped: nothing may stop it again, and
     * the supervisor, still waiting on the agent, is cut loose. */
    pthread_mutex_lock(&c->lock);
    c->machine = NULL;
    if (c->conn)
        sm_agent_conn_abort(c->conn);
    pthread_mutex_unlock(&c->lock);
    if (c->has_main_thread)
        pthread_join(c->main_thread, NULL);
    if (c->exec)
        sm_agent_exec_free(c->exec);
    if (c->conn)
        sm_agent_conn_close(c->conn);
    if (c->log_fd >= 0)
        close(c->log_fd);
    free(c);
}
