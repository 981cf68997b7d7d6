#include "oci-runtime/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "oci-runtime/console.h"
#include "oci-runtime/vm_plan.h"

/* Everything a container may be sent, but what the kernel sends a
 * process for its own faults, and SIGCHLD, which the library's waits on
 * the VM's worker need as it is. */
static void passed_on(sigset_t *set)
{
    static const int kept[] = {SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS,
                               SIGABRT, SIGPIPE};
    sigfillset(set);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        sigdelset(set, kept[i]);
}

int sm_oci_signals_take(void)
{
    sigset_t set;
    passed_on(&set);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    int fd = signalfd(-1, &set, SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static void *wait_main(void *arg)
{
    sm_oci_supervised *s = arg;
    s->result.size = sizeof s->result;
    s->wait_err = sm_exec_wait(s->h, &s->result);
    ssize_t n = write(s->done[1], "x", 1);
    (void)n;
    return NULL;
}

int sm_oci_supervise_start(sm_vm *vm, const sm_oci_process *proc, const char *root, int tty_fd,
                           sm_oci_supervised *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->tty_fd = tty_fd;
    sm_exec ex;
    sm_oci_exec_of(proc, &ex);
    ex.root = root;
    ex.has_stdin_fd = 1;
    ex.stdin_fd = tty_fd >= 0 ? tty_fd : STDIN_FILENO;
    ex.stdout_fd = tty_fd >= 0 ? tty_fd : STDOUT_FILENO;
    ex.stderr_fd = tty_fd >= 0 ? tty_fd : STDERR_FILENO;
    if (tty_fd >= 0)
        sm_oci_console_size(tty_fd, &ex.rows, &ex.cols);
    if (pipe2(s->done, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -errno;
    }
    int rc = sm_vm_exec_start(vm, &ex, &s->h);
    if (rc == 0 && (rc = -pthread_create(&s->waiter, NULL, wait_main, s)) != 0)
        sm_exec_free(s->h);
    if (rc) {
        snprintf(err, errlen, "cannot start %s in the VM: %s", proc->args[0],
                 rc == -EAGAIN ? strerror(EAGAIN) : sm_last_error());
        close(s->done[0]);
        close(s->done[1]);
    }
    return rc;
}

void sm_oci_supervise_signal(sm_oci_supervised *s, int signo)
{
    uint16_t rows, cols;
    if (signo == SIGWINCH) {
        if (s->tty_fd >= 0 && sm_oci_console_size(s->tty_fd, &rows, &cols))
            sm_exec_resize(s->h, rows, cols);
        return;
    }
    sm_exec_signal(s->h, signo);
}

int sm_oci_supervise_done_fd(const sm_oci_supervised *s)
{
    return s->done[0];
}

void sm_oci_supervise_end(sm_oci_supervised *s, int *status, int *signo)
{
    pthread_join(s->waiter, NULL);
    close(s->done[0]);
    close(s->done[1]);
    *status = s->wait_err ? -1 : s->result.exit_status;
    *signo = s->wait_err ? 0 : s->result.signal;
    sm_exec_result_free(&s->result);
    sm_exec_free(s->h);
    s->h = NULL;
}

void sm_oci_exit_like(int status, int signo)
{
    if (signo > 0 && signo != SIGKILL && signo != SIGSTOP) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);  /* ours would be a core of the wrong process */
        signal(signo, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, signo);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        raise(signo);
    } else if (signo == SIGKILL) {
        raise(SIGKILL);
    }
    _exit(status < 0 ? 255 : status > 255 ? 255 : status);
}

int sm_oci_wait_event(int sigfd, const int *fds, int nfds, int *signo)
{
    struct pollfd p[8];
    int n = nfds < 7 ? nfds : 7;
    for (int i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    p[n] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    for (;;) {
        if (poll(p, (nfds_t)n + 1, -1) < 0 && errno != EINTR)
            return -2;
        if (p[n].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                *signo = (int)si.ssi_signo;
                return -1;
            }
        }
        for (int i = 0; i < n; i++)
            if (p[i].revents)
                return i;
    }
}
