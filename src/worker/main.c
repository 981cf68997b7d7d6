/*
 * supermachine-worker: the per-VM process the library starts (never typed
 * by hand), as
 *
 *   supermachine-worker --spec-fd N
 *
 * with everything else in the launch spec it reads from fd N (spec.h).
 * It runs one VM and ends when the VM stops, on SIGTERM/SIGINT/SIGHUP,
 * or when its owner's lifeline closes. What went wrong goes to stderr
 * (the VM's worker.log) as one "supermachine worker: ..." line, and to
 * the spec's ready fd when there is one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/vm_registry.h"
#include "util/error.h"
#include "worker/confine.h"
#include "worker/worker.h"

static int spec_fd_arg(int argc, char **argv)
{
    char *end = NULL;
    long fd = argc == 3 && !strcmp(argv[1], "--spec-fd") ? strtol(argv[2], &end, 10) : -1;
    if (!end || *end || end == argv[2] || fd < 0 || fd > SM_WORKER_MAX_FD)
        return sm_fail(EINVAL, "usage: supermachine-worker --spec-fd N (the supermachine "
                       "library starts it, with its launch spec in fd N)");
    return (int)fd;
}

static int load_spec(int argc, char **argv, sm_worker_spec *spec)
{
    int fd = spec_fd_arg(argc, argv);
    int err = fd < 0 ? fd : sm_worker_spec_from_fd(fd, spec);
    /* The registry's lock, inherited: held for as long as this lives,
     * and by nothing this starts. */
    if (!err && spec->lock_fd >= 0)
        fcntl(spec->lock_fd, F_SETFD, FD_CLOEXEC);
    if (!err && spec->net_tap_fd >= 0)
        fcntl(spec->net_tap_fd, F_SETFD, FD_CLOEXEC);
    return err;
}

int main(int argc, char **argv)
{
    sm_worker w = {.ready_fd = -1, .sig_fd = sm_worker_stop_signals()};
    sm_worker_spec *spec = malloc(sizeof *spec);
    int err = spec ? load_spec(argc, argv, spec) : sm_fail(ENOMEM, "out of memory");
    if (!err) {
        w.spec = spec;
        w.ready_fd = spec->ready_fd;
        if (spec->detach)
            err = sm_worker_detach();
        if (!err && spec->auto_remove && !sm_confine_disabled())
            sm_worker_fork_record_keeper(spec);
    }
    if (!err)
        err = sm_worker_write_pid(spec->dir);
    if (!err)
        err = sm_worker_run(&w);
    if (err) {
        fprintf(stderr, "supermachine worker: %s\n", sm_error_text());
        sm_worker_report_failure(&w, err);
    }
    if (w.spec && spec->auto_remove && sm_confine_disabled() &&
        !sm_worker_restarting(spec->dir))
        sm_vm_forget(spec->dir);
    free(spec);
    return err ? 1 : 0;
}
