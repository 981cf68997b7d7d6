/* The worker's run sequence: the machine from the spec, its control
 * socket and watchdog, then the vCPUs until the guest stops.
 *
 * With a restore the guest resumes from the snapshot instead of booting;
 * the spec's machine must then be the one the snapshot was taken of (its
 * machine.json), and <dir>/restore.timing gets "<open_ns> <entry_ns>
 * <ready_ns>" (CLOCK_MONOTONIC) for benchmarks. The guest's console goes
 * to <dir>/console.log and its vsock lives in <dir>. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/clock.h"
#include "snapshot/metadata.h"
#include "snapshot/snap_dir.h"
#include "snapshot/snap_origin.h"
#include "util/error.h"
#include "worker/confine.h"
#include "worker/control.h"
#include "worker/worker.h"

typedef struct watchdog {
    sm_worker *w;
    int done_fd;   /* an eventfd set once the machine has stopped */
    pthread_t thread;
} watchdog;

/* Waits for a stop signal or the owner's end (the lifeline, a pipe whose
 * other end the owner holds), then stops the machine: the worker never
 * outlives its owner. Ended through done_fd rather than pthread_cancel,
 * which a confined worker cannot use (glibc loads libgcc_s for it). */
static void *watch(void *arg)
{
    watchdog *d = arg;
    int lifeline = d->w->spec->lifeline_fd;
    struct pollfd p[3] = {{.fd = d->done_fd, .events = POLLIN},
                          {.fd = d->w->sig_fd, .events = POLLIN},
                          {.fd = lifeline, .events = POLLIN}};
    while (poll(p, lifeline >= 0 ? 3 : 2, -1) < 0 && errno == EINTR)
        ;
    if (!p[0].revents)
        sm_machine_stop(d->w->machine);
    return NULL;
}

static int watchdog_start(watchdog *d, sm_worker *w)
{
    d->w = w;
    d->done_fd = eventfd(0, EFD_CLOEXEC);
    if (d->done_fd < 0)
        return sm_fail(errno, "eventfd: %s", strerror(errno));
    int err = pthread_create(&d->thread, NULL, watch, d);
    if (err) {
        close(d->done_fd);
        return sm_fail(err, "cannot start the worker's watchdog: %s", strerror(err));
    }
    return 0;
}

static void watchdog_stop(watchdog *d)
{
    uint64_t one = 1;
    if (write(d->done_fd, &one, sizeof one) < 0)
        abort();   /* an eventfd write fails only on overflow */
    pthread_join(d->thread, NULL);
    close(d->done_fd);
}

static int open_console(const sm_worker *w)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/console.log", w->spec->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return sm_fail(errno, "cannot create %s: %s", path, strerror(errno));
    return fd;
}

/* The machine's config points into the spec, which outlives it. */
static void machine_config(sm_worker *w, int console, const sm_launch *l,
                           sm_machine_config *mc)
{
    const sm_worker_spec *s = w->spec;
    *mc = (sm_machine_config){
        .memory_mib = s->memory_mib ? s->memory_mib : SM_DEFAULT_MEMORY_MIB,
        .cpus = s->cpus ? s->cpus : 1, .cpu_quota_milli = s->cpu_quota_milli,
        .console_fd = console, .vsock_dir = s->dir,
        .status = sm_launch_status_reader(&w->channel),
        .on_ready = sm_worker_on_ready, .ready_ctx = w,
        .on_vcpu_thread = sm_confine_vcpu, .on_device_thread = sm_confine_device,
        .net_user = s->net_user, .nports = s->nports, .ports = s->ports,
        .ndisks = s->ndisks, .nshares = s->nshares};
    for (unsigned i = 0; i < s->ndisks; i++)
        w->disks[i] = (sm_machine_disk){s->disks[i].path, s->disks[i].read_only};
    for (unsigned i = 0; i < s->nshares; i++)
        w->shares[i] = (sm_machine_share){s->shares[i].host_path, s->shares[i].tag,
                                          s->shares[i].read_only};
    mc->disks = w->disks;
    mc->shares = w->shares;
    /* The MAC was checked with the rest of the spec. */
    if (s->net_tap_fd >= 0 && sm_worker_spec_mac(s->net_mac, w->tap.mac)) {
        w->tap.fd = s->net_tap_fd;
        w->tap.mtu = (uint16_t)s->net_mtu;
        mc->tap = &w->tap;
    }
    if (l)
        sm_launch_fill(l, mc);
}

/* A diff snapshot maps its parents' memory too: they are read-only paths
 * of the plan. Where the chain is broken the restore says so itself. */
_Static_assert(SM_CONFINE_MAX_PARENTS >= SM_SNAP_MAX_CHAIN, "a whole chain fits the plan");

/* The snapshot this worker resumes; NULL: it boots. */
static const char *restore_dir(const sm_worker *w)
{
    return w->spec->restore[0] ? w->spec->restore : NULL;
}

static void plan_parents(sm_confine_plan *p, const char *dir)
{
    for (unsigned i = 0; dir && i < SM_CONFINE_MAX_PARENTS && p->npaths < SM_CONFINE_MAX_PATHS;
         i++) {
        char path[PATH_MAX + 32];
        sm_snap_meta meta;
        snprintf(path, sizeof path, "%s/" SM_SNAP_META_FILE, dir);
        if (sm_snap_meta_read(path, &meta) != 0 || !meta.parent[0])
            return;
        snprintf(p->parents[i], sizeof p->parents[i], "%s", meta.parent);
        p->paths[p->npaths].path = p->parents[i];
        p->paths[p->npaths++].read_only = true;
        dir = p->parents[i];
    }
}

/* What the worker may still reach once confined: its own directory, the
 * hypervisor, the snapshot it resumes (and its parents), its disks and
 * shares. */
static const sm_confine_plan *confine_plan(sm_worker *w, const sm_machine_config *mc)
{
    sm_confine_plan *p = &w->confine;
    *p = (sm_confine_plan){.vm_dir = w->spec->dir, .hv_device = "/dev/kvm",
                           .restore_dir = restore_dir(w), .network = mc->net_user,
                           .shares = mc->nshares > 0, .ports = mc->nports > 0};
    if (mc->hv_device)
        p->hv_device = mc->hv_device;
    for (unsigned i = 0; i < mc->ndisks && p->npaths < SM_CONFINE_MAX_PATHS; i++) {
        p->paths[p->npaths].path = mc->disks[i].path;
        p->paths[p->npaths++].read_only = mc->disks[i].read_only;
    }
    for (unsigned i = 0; i < mc->nshares && p->npaths < SM_CONFINE_MAX_PATHS; i++) {
        p->paths[p->npaths].path = mc->shares[i].path;
        p->paths[p->npaths++].read_only = mc->shares[i].read_only;
    }
    plan_parents(p, restore_dir(w));
    return p;
}

static int run_machine(sm_worker *w, sm_machine_result *r)
{
    sm_worker_control *control = NULL;
    watchdog dog;
    int err = sm_worker_control_start(w->spec->dir, w->machine, restore_dir(w), &control);
    if (err)
        return err;
    if ((err = watchdog_start(&dog, w)) != 0) {
        sm_worker_control_stop(control);
        return err;
    }

    /* Devices are set up and their threads run: from here on the worker
     * asks the kernel only for what a running VM needs (confine.h). */
    err = sm_confine_syscalls(&w->confine);
    if (err) {
        sm_machine_stop(w->machine);
        watchdog_stop(&dog);
        sm_worker_control_stop(control);
        return err;
    }

    err = sm_machine_run(w->machine, r);
    sm_worker_control_stop(control);
    watchdog_stop(&dog);
    return err;
}

/* Why the guest ended, as an error unless it was told to stop. */
static int outcome(const sm_machine_result *r)
{
    if (r->stop == SM_MACHINE_FAILED)
        return sm_fail(EIO, "the VM failed: %s", r->error);
    if (r->stop != SM_MACHINE_STOPPED)
        return sm_fail(ECHILD, "the guest %s; its last console lines:\n%s",
                       r->kernel_panicked ? "kernel panicked" : "stopped on its own",
                       r->console_tail);
    return 0;
}

static int run_with(sm_worker *w, const sm_launch *l)
{
    sm_machine_config mc;
    sm_machine_result r;
    machine_config(w, -1, l, &mc);
    int err = sm_worker_record_machine(w, &mc, l);
    /* Before the machine starts its first thread (landlock binds only the
     * calling thread and those it starts later). */
    if (!err)
        err = sm_confine_filesystem(confine_plan(w, &mc));
    /* Opened inside root's jail: the console's rotation finds the file
     * again by its descriptor's path, which only a file opened there has. */
    int console = err ? err : open_console(w);
    if (console < 0)
        return console;
    mc.console_fd = console;
    sm_snap_origin *origin = NULL;
    if (restore_dir(w) && (err = sm_snap_origin_open(restore_dir(w), &origin)) == 0)
        mc.restore = sm_snap_origin_machine(origin);
    if (!err)
        err = sm_machine_create(&mc, &w->machine);
    sm_snap_origin_close(origin);  /* its memory stays mapped, its state is set */
    if (!err) {
        err = run_machine(w, &r);
        if (!err)
            err = outcome(&r);
        sm_machine_destroy(w->machine);
        w->machine = NULL;
    }
    close(console);
    return err;
}

int sm_worker_run(sm_worker *w)
{
    const sm_worker_spec *s = w->spec;
    if (s->restore[0]) {
        /* No kernel to load: everything is in the snapshot. */
        w->t_open_ns = sm_now_ns();
        return run_with(w, NULL);
    }
    sm_launch l;
    int err = sm_launch_prepare(&l, s->kernel[0] ? s->kernel : NULL,
                                s->initrd[0] ? s->initrd : NULL, s->cmdline);
    if (err)
        return err;
    err = run_with(w, &l);
    sm_launch_release(&l);
    return err;
}
