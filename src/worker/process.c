/* The worker as a process: its stop signals, leaving the caller's process
 * tree, its pid file. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/vm_registry.h"
#include "util/error.h"
#include "util/file.h"
#include "worker/worker.h"

/* Blocked before any thread exists, so that only the signalfd sees them
 * (the watchdog polls it). */
int sm_worker_stop_signals(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    return signalfd(-1, &stop, SFD_CLOEXEC);
}

/* Leave the caller's process tree (it need not reap us, and its end or
 * its terminal's must not reach us). Before any thread exists, so fork
 * is safe. */
int sm_worker_detach(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return sm_fail(errno, "cannot fork the worker: %s", strerror(errno));
    if (pid > 0)
        _exit(0);
    setsid();
    return 0;
}

/* For `stop` and `rm` from other processes. */
int sm_worker_write_pid(const char *dir)
{
    char path[PATH_MAX + 32], text[32];
    snprintf(path, sizeof path, "%s/worker.pid", dir);
    int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
    /* Whole or absent: `stop` must never read half a pid. */
    return sm_file_write_atomic(path, text, (size_t)n, 0600);
}

/* sm_vm_restart stops the VM to start it again: its record stays. */
bool sm_worker_restarting(const char *dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" SM_VM_RESTARTING_NAME, dir);
    return access(path, F_OK) == 0;
}

/* A confined worker cannot reach the registry to forget its own record
 * (--rm): a small unconfined parent waits for it and does that. Before any
 * thread, so fork is safe; the child goes on as the worker, the parent
 * never returns. */
void sm_worker_fork_record_keeper(const sm_worker_spec *spec)
{
    pid_t pid = fork();
    if (pid <= 0)
        return;   /* the worker, or no keeper: the record stays for rm/gc */
    /* The worker alone tells the caller how its start went. */
    if (spec->ready_fd >= 0)
        close(spec->ready_fd);
    if (spec->lifeline_fd >= 0)
        close(spec->lifeline_fd);
    /* The namespace's tap goes away with the worker's last copy. */
    if (spec->net_tap_fd >= 0)
        close(spec->net_tap_fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!sm_worker_restarting(spec->dir))
        sm_vm_forget(spec->dir);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}
