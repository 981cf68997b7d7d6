/* sm_vm_start/stop: a VM in a worker process of its own. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/abi.h"
#include "lib/image_open.h"
#include "lib/start_plan.h"
#include "lib/vm_dir.h"
#include "lib/vm_record.h"
#include "lib/vm_registry.h"
#include "lib/vsock_dial.h"
#include "lib/vm_int.h"
#include "lib/vm_mounts.h"
#include "lib/vm_rootdir.h"
#include "lib/vm_netns.h"
#include "lib/vm_shares.h"
#include "lib/vm_spawn.h"
#include "supermachine.h"
#include "util/error.h"
#include "util/log.h"
#include "vmm/machine.h"

#define DEFAULT_START_TIMEOUT_MS 120000

static int check_network(const sm_vm_config *c)
{
    sm_net_port checked;
    if (c->nports && c->network != SM_NETWORK_USER)
        return sm_fail(EINVAL, "ports can only be published on a VM with a network: "
                       "set network to SM_NETWORK_USER");
    if (c->nports > SM_NET_MAX_PORTS)
        return sm_fail(EINVAL, "%u published ports: at most %d", c->nports, SM_NET_MAX_PORTS);
    for (unsigned i = 0; i < c->nports; i++) {
        int err = sm_vm_worker_port(&c->ports[i], &checked);
        if (err)
            return err;
    }
    return 0;
}

static void end_worker(sm_vm *vm)
{
    int status = 0;
    if (vm->detached && vm->pid <= 0)
        sm_vm_read_worker_pid(vm);
    if (vm->pid > 0 && vm->detached) {
        kill(vm->pid, SIGKILL);
        vm->pid = 0;
    } else if (vm->pid > 0) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, &status, 0);
        vm->pid = 0;
    }
}

/* "error N SENTENCE": the worker's own account of its failed start. */
static int worker_reported(sm_vm *vm, const char *report)
{
    int num = 0, off = 0;
    if (sscanf(report, "error %d %n", &num, &off) < 1 || off == 0 || num <= 0)
        return 0;
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", report + off);
    msg[strcspn(msg, "\n")] = '\0';
    end_worker(vm);
    return sm_fail(num, "the VM did not start: %s", msg);
}

/* A worker that a signal ended says nothing itself: SIGSYS from a thread
 * that had it blocked (glibc blocks every signal around clone) is the
 * kernel's kill for a syscall the confinement refused. Only our own
 * child can be asked; one that closed the ready pipe is exiting, so the
 * wait is short. */
static bool killed_by_signal(sm_vm *vm, char *why, size_t len)
{
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 100 && vm->pid > 0 && !vm->detached && got == 0; i++) {
        got = waitpid(vm->pid, &status, WNOHANG);
        if (got == 0)
            usleep(2000);
    }
    if (got != vm->pid)
        return false;
    vm->pid = 0;   /* reaped: nothing left for end_worker */
    if (!WIFSIGNALED(status))
        return false;
    int sig = WTERMSIG(status);
    snprintf(why, len, "its worker was killed by signal %d (%s)%s", sig, strsignal(sig),
             sig == SIGSYS ? ": a syscall its confinement refused (docs/security.md); "
             "SUPERMACHINE_UNCONFINED=1 runs it without, to check" : "");
    return true;
}

static int worker_failed(sm_vm *vm, const char *why)
{
    char line[1024], sig[256];
    if (killed_by_signal(vm, sig, sizeof sig))
        return sm_fail(EIO, "the VM did not start: %s", sig);
    end_worker(vm);
    sm_vm_dir_last_line(vm->dir, "worker.log", line, sizeof line);
    const char *msg = strncmp(line, "supermachine worker: ", 21) == 0 ? line + 21 : line;
    return sm_fail(EIO, "the VM did not start: %s", *msg ? msg : why);
}

static int wait_ready(sm_vm *vm, int ready_r, uint32_t timeout_ms)
{
    struct pollfd p = {.fd = ready_r, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, (int)timeout_ms)) < 0 && errno == EINTR)
        ;
    if (n == 0)
        return worker_failed(vm, "its agent did not answer in time");
    char buf[1200] = {0};
    ssize_t got = read(ready_r, buf, sizeof buf - 1);
    if (got > 0 && strncmp(buf, "ready", 5) == 0)
        return 0;
    int err = got > 0 ? worker_reported(vm, buf) : 0;
    return err ? err : worker_failed(vm, "the worker ended early");
}

static int start(sm_vm *vm, const sm_vm_config *c)
{
    int ready[2], lifeline[2], err;
    int lock = vm->lock_fd;
    vm->lock_fd = -1;
    if ((err = vm->again ? sm_vm_record_again(vm) : sm_vm_record(vm, c)) != 0) {
        close(lock);
        return err;
    }
    if (pipe2(ready, O_CLOEXEC) < 0) {
        err = sm_fail(errno, "pipe: %s", strerror(errno));
        close(lock);
        return err;
    }
    if (pipe2(lifeline, O_CLOEXEC) < 0) {
        err = sm_fail(errno, "pipe: %s", strerror(errno));
        close(ready[0]), close(ready[1]), close(lock);
        return err;
    }
    vm->lifeline_fd = lifeline[1];
    vm->detached = c->detached;
    err = sm_vm_spawn_worker(vm, c, ready[1], lifeline[0], lock);
    close(ready[1]);
    close(lifeline[0]);
    close(lock);   /* the worker's copy holds it now */
    /* A detached worker forks away from us at once (so that we need not
     * reap it); its pid is in worker.pid after it is ready. */
    if (!err && vm->detached) {
        waitpid(vm->pid, NULL, 0);
        vm->pid = 0;
    }
    if (!err)
        err = wait_ready(vm, ready[0],
                         c->start_timeout_ms ? c->start_timeout_ms : DEFAULT_START_TIMEOUT_MS);
    if (!err && vm->detached)
        err = sm_vm_read_worker_pid(vm);
    close(ready[0]);
    return err;
}

/* Everything after the VM's directory exists: how to start it, the
 * worker, then the VM's own settings. */
static int launch(sm_vm *vm, const sm_image *image, sm_vm_config *c)
{
    sm_start_plan *plan = calloc(1, sizeof *plan);
    sm_vm_netns *netns = calloc(1, sizeof *netns);
    int err = plan && netns ? 0 : sm_fail(ENOMEM, "out of memory");
    /* Here, not in sm_vm_start: a VM started again checks its record's. */
    if (!err)
        err = sm_vm_root_dir_check(image, c);
    if (!err)
        err = sm_vm_netns_check(c);
    if (!err)
        err = sm_start_plan_prepare(vm, image, c, plan);
    if (!err)
        err = check_network(c);
    if (!err)
        err = sm_vm_shares_check(c);
    if (!err)
        err = sm_vm_mounts_check(c, image != NULL);
    if (!err && plan->bake_dir[0] && c->progress)
        c->progress("booting", c->progress_ctx);
    /* Last before the worker: the tap is made only for a VM that starts. */
    if (!err)
        err = sm_vm_netns_begin(vm, c, netns);
    if (!err)
        err = start(vm, c);
    if (!err)
        err = sm_start_plan_finish(vm, image, c, plan);
    if (!err)
        err = sm_vm_shares_mount(vm, c);
    if (!err)
        err = sm_vm_mounts_apply(vm, c);
    if (netns)
        sm_vm_netns_end(vm, netns);
    free(netns);
    free(plan);
    return err;
}

int sm_vm_start_in(sm_vm *vm, const sm_image *image, const sm_vm_config *config, sm_vm **out)
{
    sm_vm_config c = *config;
    int err = launch(vm, image, &c);
    if (err) {
        /* A VM that never started leaves no record, detached or not. */
        sm_vm_kill_worker(vm);
        if (vm->owned)
            sm_vm_forget(vm->dir);
        sm_vm_free(vm);
        return err;
    }
    *out = vm;
    return 0;
}

int sm_vm_start(const sm_image *image, const sm_vm_config *config, sm_vm **out)
{
    sm_vm_config c = {.size = sizeof(sm_vm_config)};
    if (!out)
        return sm_fail(EINVAL, "sm_vm_start: out is required");
    int err = config ? SM_ABI_IN(&c, config, sm_vm_config) : 0;
    if (err)
        return err;
    /* An image from sm_image_from_snapshot is its snapshot to resume
     * (with a root_dir, any image is refused before it is looked at). */
    const char *snapshot = c.root_dir ? NULL : sm_image_snapshot(image);
    if (snapshot && c.snapshot)
        return sm_fail(EINVAL, "the image is a snapshot (sm_image_from_snapshot): leave the "
                       "config's snapshot NULL");
    if (snapshot)
        c.snapshot = snapshot, image = NULL;

    /* Checked here, not in the worker: extra disks must not vanish quietly. */
    if (c.ndisks > SM_MACHINE_MAX_DISKS)
        return sm_fail(EINVAL, "%u disks: at most %d can be attached", c.ndisks,
                       SM_MACHINE_MAX_DISKS);
    sm_vm *vm = sm_vm_alloc();
    if (!vm)
        return -ENOMEM;
    /* The id first: it names the directory and, as in docker, the host. */
    err = sm_vm_dir_new(vm->dir, sizeof vm->dir, vm->id, &vm->lock_fd);
    if (err) {
        sm_vm_free(vm);
        return err;
    }
    vm->owned = 1;
    /* What sm_vm_start_again needs, before the plan changes c. */
    if (c.detached && (image || c.root_dir) && !c.snapshot)
        err = sm_vm_record_spec(vm->dir, image, &c, NULL);
    if (err) {
        sm_vm_forget(vm->dir);
        sm_vm_free(vm);
        return err;
    }
    return sm_vm_start_in(vm, image, &c, out);
}

/* A VM this handle started and that is not detached lives only as long as
 * the handle: stopping it forgets it. A detached VM is stopped and its
 * record (log, exit status) kept for `ps -a`, `logs` and `rm`. */
int sm_vm_stop(sm_vm *vm)
{
    if (!vm)
        return 0;
    sm_vm_kill_worker(vm);
    if (vm->dir[0] && vm->owned && !vm->detached) {
        sm_vm_forget(vm->dir);
    }
    sm_vm_free(vm);
    return 0;
}

