/* config.json → the VM: root.path shared in as the VM's root, bind
 * mounts as shares, tmpfs mounts as the guest's own, memory limit as
 * guest RAM, CPU quota as vCPUs. The kernel filesystems (proc, sysfs,
 * devpts, mqueue, /dev, /dev/shm) are the guest's own already. */
#ifndef SM_OCI_VM_PLAN_H
#define SM_OCI_VM_PLAN_H

#include "oci-runtime/spec.h"
#include "supermachine.h"

#define SM_OCI_MAX_SHARES 16
#define SM_OCI_MAX_TMPFS 16

typedef struct sm_oci_vm_plan {
    sm_vm_config config;
    sm_share shares[SM_OCI_MAX_SHARES];
    sm_tmpfs tmpfs[SM_OCI_MAX_TMPFS];
    char tmpfs_options[SM_OCI_MAX_TMPFS][256];
    char pod_dir[4096];         /* a pod sandbox's pod directory (pod.h) */
} sm_oci_vm_plan;

/* -1 with a sentence naming the field that cannot be honoured. The plan
 * points into spec. */
int sm_oci_vm_plan_make(const sm_oci_spec *spec, sm_oci_vm_plan *p, char *err, size_t len);

/* The process as an exec (argv, env, cwd, user, terminal). */
void sm_oci_exec_of(const sm_oci_process *proc, sm_exec *ex);

#endif
