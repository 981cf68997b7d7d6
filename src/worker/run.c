/*
 * The VMM worker: one process per VM (sm_vm_start spawns the supermachine
 * binary's hidden "__worker" command, which lands here), so a crash or a
 * hostile guest takes down one worker and never the embedding program.
 *
 *   __worker --dir DIR --ready-fd N --lifeline-fd N [--kernel K] [--initrd I]
 *            [--cmdline S] [--memory MIB] [--cpus N] [--cpu-quota MILLI]
 *            [--disk PATH[:ro]]...
 *            [--net user] [--publish IP:HOSTPORT:GUESTPORT[/udp]]...
 *            [--share HOSTPATH:TAG[:ro]]... [--restore SNAPSHOT_DIR]
 *
 * With --restore the guest resumes from the snapshot instead of booting;
 * the other arguments must describe the machine the snapshot was taken of
 * (its machine.json), and <dir>/restore.timing gets "<open_ns> <entry_ns>
 * <ready_ns>" (CLOCK_MONOTONIC) for benchmarks.
 *
 * The guest's console goes to DIR/console.log and its vsock lives in DIR.
 * "ready\n" on the ready fd says the agent listens; "error N SENTENCE\n"
 * that the start failed with errno (or SM_E*) N. The worker stops the
 * VM on SIGTERM/SIGINT/SIGHUP or when the lifeline (a pipe whose other end
 * the parent holds) closes, so it never outlives its owner.
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/launch.h"
#include "lib/machine_file.h"
#include "lib/vm_registry.h"
#include "lib/worker_control.h"
#include "supermachine.h"
#include "util/error.h"
#include "util/file.h"
#include "vmm/machine.h"
#include "util/clock.h"

typedef struct worker {
    char dir[4096];
    const char *kernel, *initrd, *cmdline;
    uint32_t memory_mib, cpus, cpu_quota_milli;
    int ready_fd, lifeline_fd, sig_fd;
    int auto_remove;            /* --rm: forget the VM when it ends */
    int detach;                 /* --detach: leave the caller's process tree */
    unsigned ndisks;
    sm_machine_disk disks[SM_MACHINE_MAX_DISKS];
    unsigned nshares;
    sm_machine_share shares[SM_MACHINE_MAX_SHARES];
    int net_user;
    unsigned nports;
    sm_net_port ports[SM_NET_MAX_PORTS];
    const char *restore;        /* --restore: the snapshot directory */
    uint64_t t_open_ns;         /* when the restore began */
    sm_machine *machine;
} worker;

static int add_port(worker *w, const char *spec)
{
    if (w->nports == SM_NET_MAX_PORTS)
        return sm_fail(EINVAL, "too many published ports (at most %d)", SM_NET_MAX_PORTS);
    int err = sm_net_port_parse(spec, &w->ports[w->nports]);
    if (!err)
        w->nports++;
    return err;
}

/* HOSTPATH:TAG[:ro], split from the right: a host path may hold ':'. */
static int add_share(worker *w, char *spec)
{
    if (w->nshares == SM_MACHINE_MAX_SHARES)
        return sm_fail(EINVAL, "too many shares (at most %d)", SM_MACHINE_MAX_SHARES);
    size_t len = strlen(spec);
    int ro = len > 3 && !strcmp(spec + len - 3, ":ro");
    if (ro)
        spec[len - 3] = '\0';
    char *tag = strrchr(spec, ':');
    if (!tag || tag == spec || !tag[1])
        return sm_fail(EINVAL, "worker: --share takes HOSTPATH:TAG[:ro], not '%s'", spec);
    *tag++ = '\0';
    w->shares[w->nshares++] = (sm_machine_share){spec, tag, ro};
    return 0;
}

static int parse_args(worker *w, int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"ready-fd", required_argument, NULL, 'r'},
        {"lifeline-fd", required_argument, NULL, 'l'}, {"kernel", required_argument, NULL, 'k'},
        {"initrd", required_argument, NULL, 'i'}, {"cmdline", required_argument, NULL, 'c'},
        {"memory", required_argument, NULL, 'm'}, {"cpus", required_argument, NULL, 'n'},
        {"disk", required_argument, NULL, 'b'}, {"net", required_argument, NULL, 'N'},
        {"publish", required_argument, NULL, 'p'}, {"share", required_argument, NULL, 's'},
        {"lock-fd", required_argument, NULL, 'L'}, {"rm", no_argument, NULL, 'R'},
        {"detach", no_argument, NULL, 'D'}, {"restore", required_argument, NULL, 'S'},
        {"cpu-quota", required_argument, NULL, 'Q'}, {0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd': snprintf(w->dir, sizeof w->dir, "%s", optarg); break;
        case 'r': w->ready_fd = atoi(optarg); break;
        case 'l': w->lifeline_fd = atoi(optarg); break;
        case 'k': w->kernel = optarg; break;
        case 'i': w->initrd = optarg; break;
        case 'c': w->cmdline = optarg; break;
        case 'm': w->memory_mib = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'n': w->cpus = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'Q': w->cpu_quota_milli = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'b': {
            if (w->ndisks == SM_MACHINE_MAX_DISKS)
                return sm_fail(EINVAL, "too many disks");
            size_t len = strlen(optarg);
            int ro = len > 3 && !strcmp(optarg + len - 3, ":ro");
            if (ro)
                optarg[len - 3] = '\0';
            w->disks[w->ndisks++] = (sm_machine_disk){optarg, ro};
            break;
        }
        /* The registry's lock, inherited: held for as long as this lives. */
        case 'L': fcntl(atoi(optarg), F_SETFD, FD_CLOEXEC); break;
        case 'R': w->auto_remove = 1; break;
        case 'D': w->detach = 1; break;
        case 'S': w->restore = optarg; break;
        case 'N':
            if (strcmp(optarg, "user"))
                return sm_fail(EINVAL, "worker: --net takes 'user', not '%s'", optarg);
            w->net_user = 1;
            break;
        case 'p': {
            int err = add_port(w, optarg);
            if (err)
                return err;
            break;
        }
        case 's': {
            int err = add_share(w, optarg);
            if (err)
                return err;
            break;
        }
        default: return sm_fail(EINVAL, "worker: bad arguments");
        }
    }
    return w->dir[0] ? 0 : sm_fail(EINVAL, "worker: --dir is required");
}

static void write_timing(const worker *w)
{
    char path[4200], text[96];
    snprintf(path, sizeof path, "%s/restore.timing", w->dir);
    int n = snprintf(text, sizeof text, "%llu %llu %llu\n", (unsigned long long)w->t_open_ns,
                     (unsigned long long)sm_machine_entry_ns(w->machine),
                     (unsigned long long)sm_now_ns());
    sm_file_write_atomic(path, text, (size_t)n, 0600);
}

static void on_ready(void *ctx)
{
    worker *w = ctx;
    if (w->restore)
        write_timing(w);
    if (w->ready_fd >= 0) {
        ssize_t n = write(w->ready_fd, "ready\n", 6);
        (void)n;
        close(w->ready_fd);
        w->ready_fd = -1;
    }
}

/* A start that fails says why on the ready fd, number and sentence, so
 * the caller keeps the cause even when --rm has removed the log. */
static void report_failure(worker *w, int err)
{
    if (w->ready_fd < 0)
        return;
    char text[1200];
    int n = snprintf(text, sizeof text, "error %d %s\n", -err, sm_last_error());
    ssize_t wr = write(w->ready_fd, text, n < (int)sizeof text ? (size_t)n : sizeof text - 1);
    (void)wr;
    close(w->ready_fd);
    w->ready_fd = -1;
}

/* Waits for a stop signal or the owner's end, then stops the machine. */
static void *watchdog(void *arg)
{
    worker *w = arg;
    struct pollfd p[2] = {{.fd = w->sig_fd, .events = POLLIN},
                          {.fd = w->lifeline_fd, .events = POLLIN}};
    while (poll(p, w->lifeline_fd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR)
        ;
    sm_machine_stop(w->machine);
    return NULL;
}

static int open_console(const worker *w)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/console.log", w->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return sm_fail(errno, "cannot create %s: %s", path, strerror(errno));
    return fd;
}

/* What a snapshot of this VM must rebuild (lib/machine_file.h). */
static int write_machine_file(const worker *w, const sm_machine_config *mc, const sm_launch *l)
{
    sm_machine_file f = {.memory_mib = mc->memory_mib, .vcpus = mc->cpus,
                         .net_user = mc->net_user, .ndisks = mc->ndisks};
    char path[4200], base[PATH_MAX];
    int err = 0;
    for (unsigned i = 0; i < mc->ndisks && !err; i++) {
        if (!realpath(mc->disks[i].path, f.disks[i].path))
            return sm_fail(errno, "disk %s: %s", mc->disks[i].path, strerror(errno));
        f.disks[i].read_only = mc->disks[i].read_only;
        err = sm_machine_file_stat_disk(&f.disks[i]);
    }
    if (!err && l && (err = sm_file_identity(l->kernel_path, f.kernel_id)) == 0)
        snprintf(f.init_id, sizeof f.init_id, "%s", l->initrd_id);
    if (!err && !l) {
        /* A restored VM is the machine of its snapshot. */
        sm_machine_file was;
        snprintf(base, sizeof base, "%s/" SM_MACHINE_FILE, w->restore);
        if ((err = sm_machine_file_read(base, &was)) == 0) {
            memcpy(f.kernel_id, was.kernel_id, sizeof f.kernel_id);
            memcpy(f.init_id, was.init_id, sizeof f.init_id);
        }
        if (!err && !realpath(w->restore, f.restored_from))
            err = sm_fail(errno, "snapshot %s: %s", w->restore, strerror(errno));
    }
    snprintf(path, sizeof path, "%s/" SM_MACHINE_FILE, w->dir);
    return err ? err : sm_machine_file_write(path, &f);
}

static int run(worker *w, const sm_launch *l, int console)
{
    sm_machine_config mc = {
        .memory_mib = w->memory_mib ? w->memory_mib : SM_DEFAULT_MEMORY_MIB,
        .cpus = w->cpus ? w->cpus : 1, .cpu_quota_milli = w->cpu_quota_milli,
        .console_fd = console, .vsock_dir = w->dir,
        .ndisks = w->ndisks, .on_ready = on_ready, .ready_ctx = w,
        .net_user = w->net_user, .nports = w->nports, .ports = w->ports};
    memcpy(mc.disks, w->disks, sizeof w->disks);
    mc.nshares = w->nshares;
    memcpy(mc.shares, w->shares, sizeof w->shares);
    if (l)
        sm_launch_fill(l, &mc);
    mc.restore_dir = w->restore;
    int err = write_machine_file(w, &mc, l);
    if (!err)
        err = sm_machine_create(&mc, &w->machine);
    if (err)
        return err;
    pthread_t dog;
    sm_machine_result r;
    sm_worker_control *control = NULL;
    if ((err = sm_worker_control_start(w->dir, w->machine, &control)) != 0) {
        sm_machine_destroy(w->machine);
        return err;
    }
    if ((err = pthread_create(&dog, NULL, watchdog, w)) != 0) {
        sm_worker_control_stop(control);
        sm_machine_destroy(w->machine);
        return sm_fail(err, "cannot start the worker's watchdog: %s", strerror(err));
    }
    err = sm_machine_run(w->machine, &r);
    sm_worker_control_stop(control);
    if (!err && r.stop == SM_MACHINE_FAILED)
        err = sm_fail(EIO, "the VM failed: %s", r.error);
    else if (!err && r.stop != SM_MACHINE_STOPPED)
        err = sm_fail(ECHILD, "the guest %s; its last console lines:\n%s",
                      r.kernel_panicked ? "kernel panicked" : "stopped on its own",
                      r.console_tail);
    pthread_cancel(dog);
    pthread_join(dog, NULL);
    sm_machine_destroy(w->machine);
    return err;
}

/* Leave the caller's process tree (it need not reap us, and its end or
 * its terminal's must not reach us). Before any thread exists, so fork
 * is safe. */
static int detach(void)
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
static int write_pid(const worker *w)
{
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/worker.pid", w->dir);
    int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
    /* Whole or absent: `stop` must never read half a pid. */
    return sm_file_write_atomic(path, text, (size_t)n, 0600);
}

/* sm_vm_restart stops the VM to start it again: its record stays. */
static int restarting(const worker *w)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" SM_VM_RESTARTING_NAME, w->dir);
    return access(path, F_OK) == 0;
}

int sm__worker_main(int argc, char **argv)
{
    worker w = {.ready_fd = -1, .lifeline_fd = -1};
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    /* Blocked before any thread exists, so only the signalfd sees them. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    w.sig_fd = signalfd(-1, &stop, SFD_CLOEXEC);
    sm_launch l;
    int console = -1;
    int err = parse_args(&w, argc, argv);
    if (!err && w.detach)
        err = detach();
    if (!err)
        err = write_pid(&w);
    if (!err && w.restore) {
        /* No kernel to load: everything is in the snapshot. */
        w.t_open_ns = sm_now_ns();
        if ((console = open_console(&w)) < 0)
            err = console;
        else
            err = run(&w, NULL, console);
    } else if (!err && (err = sm_launch_prepare(&l, w.kernel, w.initrd, w.cmdline, NULL)) == 0) {
        if ((console = open_console(&w)) < 0)
            err = console;
        else
            err = run(&w, &l, console);
        sm_launch_release(&l);
    }
    if (err) {
        fprintf(stderr, "supermachine worker: %s\n", sm_last_error());
        report_failure(&w, err);
    }
    if (w.auto_remove && !restarting(&w)) {
        sm_vm_forget(w.dir);
    }
    return err ? 1 : 0;
}
