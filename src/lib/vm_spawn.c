#include "lib/vm_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/paths.h"
#include "lib/vm_netns.h"
#include "lib/vm_shares.h"
#include "util/error.h"
#include "worker/spec.h"

/* Where the worker finds what it inherits; the spec names all but
 * SPEC_FD, its one argument. */
#define READY_FD 3
#define LIFELINE_FD 4
#define LOCK_FD 5
#define SPEC_FD 6
#define TAP_FD 7
#define NFDS 5

extern char **environ;

int sm_vm_worker_port(const sm_port *p, sm_net_port *out)
{
    sm_net_port np = {.host_port = p->host_port, .guest_port = p->guest_port, .udp = p->udp};
    char word[INET6_ADDRSTRLEN + 32];
    if (p->host_ip && snprintf(np.host_ip, sizeof np.host_ip, "%s", p->host_ip) >=
                          (int)sizeof np.host_ip)
        return sm_fail(EINVAL, "cannot publish host port %u: '%s' is not an IP address",
                       p->host_port, p->host_ip);
    if (sm_net_port_format(&np, word, sizeof word) < 0)
        return sm_fail(EINVAL, "cannot publish host port %u", p->host_port);
    return sm_net_port_parse(word, out);
}

static int copy_text(char *dst, size_t len, const char *src, const char *what)
{
    if (src && snprintf(dst, len, "%s", src) >= (int)len)
        return sm_fail(ENAMETOOLONG, "the %s is too long (at most %zu bytes): %.100s...",
                       what, len - 1, src);
    return 0;
}

static int devices(const sm_vm_config *c, sm_worker_spec *s)
{
    int err = 0;
    s->ndisks = c->ndisks;
    for (unsigned i = 0; i < c->ndisks && !err; i++) {
        err = copy_text(s->disks[i].path, sizeof s->disks[i].path, c->disks[i].path,
                        "disk path");
        s->disks[i].read_only = c->disks[i].read_only;
    }
    s->net_user = c->network == SM_NETWORK_USER;
    s->nports = s->net_user ? c->nports : 0;
    for (unsigned i = 0; i < s->nports && !err; i++)
        err = sm_vm_worker_port(&c->ports[i], &s->ports[i]);
    s->nshares = c->nshares;
    for (unsigned i = 0; i < c->nshares && !err; i++)
        err = sm_vm_share_spec(c, i, &s->shares[i]);
    /* Last: the user's shares keep their tags (smshareN for the N-th). */
    if (!err && c->root_dir)
        err = sm_vm_root_share_spec(c, &s->shares[s->nshares++]);
    return err;
}

/* A VM in a network namespace: the tap made there (vm_netns.h) and the
 * MAC and MTU of the interface its guest takes the place of. */
static void tap(const sm_vm *vm, sm_worker_spec *s)
{
    if (!vm->netns)
        return;
    s->net_tap_fd = TAP_FD;
    sm_vm_netns_mac_text(vm->netns, s->net_mac);
    s->net_mtu = vm->netns->mtu;
}

/* Counts were checked before (sm_vm_start, the shares' and network's
 * checks); lengths are checked here. */
static int fill_spec(const sm_vm *vm, const sm_vm_config *c, sm_worker_spec *s)
{
    const char *dir = vm->dir;
    sm_worker_spec_init(s);
    s->ready_fd = READY_FD;
    s->lock_fd = LOCK_FD;
    /* A detached VM has no owner whose end should stop it. */
    s->lifeline_fd = c->detached ? -1 : LIFELINE_FD;
    s->detach = c->detached;
    s->auto_remove = c->detached && c->auto_remove;
    s->memory_mib = c->memory_mib;
    s->cpus = c->cpus;
    s->cpu_quota_milli = c->cpu_quota_milli;
    int err = copy_text(s->dir, sizeof s->dir, dir, "VM directory");
    if (!err)
        err = copy_text(s->cmdline, sizeof s->cmdline, c->cmdline, "kernel command line");
    if (!err)
        err = copy_text(s->restore, sizeof s->restore, c->snapshot, "snapshot path");
    /* Left empty, the worker boots the built-in ones it finds. */
    if (!err && !c->snapshot)
        err = copy_text(s->kernel, sizeof s->kernel, c->kernel, "kernel path");
    if (!err && !c->snapshot)
        err = copy_text(s->initrd, sizeof s->initrd, c->initrd, "initramfs path");
    tap(vm, s);
    return err ? err : devices(c, s);
}

/* The spec in a memfd, sealed. */
static int spec_fd(const sm_vm *vm, const sm_vm_config *c, int *fd)
{
    sm_worker_spec *s = malloc(sizeof *s);
    int err = s ? fill_spec(vm, c, s) : sm_fail(ENOMEM, "out of memory");
    if (!err)
        err = sm_worker_spec_to_fd(s, fd);
    free(s);
    return err;
}

static int spawn(sm_vm *vm, const char *exe, const int from[NFDS])
{
    static const int to[NFDS] = {READY_FD, LIFELINE_FD, LOCK_FD, SPEC_FD, TAP_FD};
    char log[PATH_MAX + 32], opt[] = "--spec-fd", num[16];
    snprintf(log, sizeof log, "%s/worker.log", vm->dir);
    snprintf(num, sizeof num, "%d", SPEC_FD);
    char *argv[] = {(char *)exe, opt, num, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    for (int i = 0; i < NFDS; i++)
        if (from[i] >= 0)
            posix_spawn_file_actions_adddup2(&fa, from[i], to[i]);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    /* Its own process group: a Ctrl-C meant for the caller's terminal is
     * the caller's to pass on. */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    int rc = posix_spawn(&vm->pid, exe, &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return sm_fail(rc, "cannot start the VM worker %s: %s", exe, strerror(rc));
    return 0;
}

/* A copy above every target: the child's dup2s run in order, and a source
 * sitting on a later target would be overwritten before its turn. */
static int above_targets(int fd, int *out)
{
    *out = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, TAP_FD + 1);
    return fd >= 0 && *out < 0 ? sm_fail(errno, "dup: %s", strerror(errno)) : 0;
}

int sm_vm_spawn_worker(sm_vm *vm, const sm_vm_config *c, int ready_w, int lifeline_r,
                       int lock)
{
    char exe[PATH_MAX];
    int spec = -1, from[NFDS] = {-1, -1, -1, -1, -1};
    int err = sm_find_worker(exe, sizeof exe);
    if (!err)
        err = spec_fd(vm, c, &spec);
    const int fds[NFDS] = {ready_w, c->detached ? -1 : lifeline_r, lock, spec,
                           vm->netns ? vm->netns->tap_fd : -1};
    for (int i = 0; i < NFDS && !err; i++)
        err = above_targets(fds[i], &from[i]);
    if (!err)
        err = spawn(vm, exe, from);
    for (int i = 0; i < NFDS; i++)
        if (from[i] >= 0)
            close(from[i]);
    if (spec >= 0)
        close(spec);
    return err;
}
