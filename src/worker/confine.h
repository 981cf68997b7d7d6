/*
 * Confinement of the worker (docs/security.md): what a guest that takes
 * over the VMM process through a bug can still do. Three steps, in order:
 *
 *   sm_confine_filesystem   before the worker starts any thread (landlock
 *                           binds only the calling thread and its later
 *                           children): paths beyond the VM's own are gone.
 *   sm_confine_syscalls     after the devices are set up, before the first
 *                           vCPU runs: no-new-privs and the seccomp
 *                           allow-list on every thread at once (TSYNC).
 *   sm_confine_vcpu         by each vCPU thread as it starts: its own,
 *                           narrower list.
 *
 * SUPERMACHINE_UNCONFINED=1 turns all three off, for debugging only, and
 * the worker's log says so. For now they are off unless
 * SUPERMACHINE_CONFINE=1 (see sm_confine_disabled).
 */
#ifndef SM_WORKER_CONFINE_H
#define SM_WORKER_CONFINE_H

#include <stdbool.h>

#define SM_CONFINE_MAX_PATHS 40

typedef struct sm_confine_plan {
    const char *vm_dir;          /* read-write: logs, sockets, pid files */
    const char *hv_device;       /* /dev/kvm (or a test's) */
    const char *restore_dir;     /* read: the snapshot being restored */
    unsigned npaths;             /* disks and shares */
    struct {
        const char *path;
        bool read_only;
    } paths[SM_CONFINE_MAX_PATHS];
    bool network;                /* libslirp: IPv4/IPv6 sockets, resolv.conf */
} sm_confine_plan;

bool sm_confine_disabled(void);
int sm_confine_filesystem(const sm_confine_plan *p);
int sm_confine_syscalls(const sm_confine_plan *p);
int sm_confine_vcpu(void);

#endif
