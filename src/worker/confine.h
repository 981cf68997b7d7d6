/*
 * Confinement of the worker (docs/security.md): what a guest that takes
 * over the VMM process through a bug can still do. Three steps, in order:
 *
 *   sm_confine_filesystem   before the worker starts any thread (the
 *                           jail, landlock and capabilities bind only the
 *                           calling thread and its later children): paths
 *                           beyond the VM's own are gone (for root, from
 *                           its very view of the filesystem: jail.h), and
 *                           the capabilities of a worker run as root with
 *                           them.
 *   sm_confine_syscalls     after the devices are set up, before the first
 *                           vCPU runs: no-new-privs and the seccomp
 *                           allow-list on every thread at once (TSYNC).
 *   sm_confine_vcpu         by each vCPU thread as it starts: its own,
 *                           narrower list.
 *   sm_confine_device       the same by the device thread, which serves
 *                           the virtio rings.
 *
 * SUPERMACHINE_UNCONFINED=1 turns all three off, for debugging only, and
 * the worker's log says so.
 */
#ifndef SM_WORKER_CONFINE_H
#define SM_WORKER_CONFINE_H

#include <stdbool.h>

#define SM_CONFINE_MAX_PATHS 40
#define SM_CONFINE_MAX_PARENTS 16   /* SM_SNAP_MAX_CHAIN */

typedef struct sm_confine_plan {
    const char *vm_dir;          /* read-write: logs, sockets, pid files */
    const char *hv_device;       /* /dev/kvm (or a test's) */
    const char *restore_dir;     /* read: the snapshot being restored */
    unsigned npaths;             /* disks and shares */
    struct {
        const char *path;
        bool read_only;
    } paths[SM_CONFINE_MAX_PATHS];
    char parents[SM_CONFINE_MAX_PARENTS][4096];  /* read: a diff snapshot's chain */
    bool network;                /* libslirp: IPv4/IPv6 sockets, resolv.conf */
    bool shares;                 /* 9P acts for the guest's root on host files */
    bool ports;                  /* published ports, bound after this step */
} sm_confine_plan;

bool sm_confine_disabled(void);
int sm_confine_filesystem(const sm_confine_plan *p);
int sm_confine_syscalls(const sm_confine_plan *p);
int sm_confine_vcpu(void);
int sm_confine_device(void);

#endif
