/* Host directories and files shared with a VM (sm_vm_config.shares): each
 * is one virtio-9p device in the worker, mounted by the agent once the
 * guest is up. */
#ifndef SM_LIB_VM_SHARES_H
#define SM_LIB_VM_SHARES_H

#include <stddef.h>

#include "supermachine.h"
#include "vmm/machine.h"
#include "worker/spec.h"

/* The user's shares; a root directory takes the machine's last one. */
#define SM_VM_MAX_SHARES (SM_MACHINE_MAX_SHARES - 1)
/* The root directory's share, as sm-init mounts it (sm_root=9p:TAG). */
#define SM_VM_ROOT_TAG "smroot"

/* Before anything starts: at most 8 shares, each host path existing (a
 * directory or a regular file), each guest path absolute. */
int sm_vm_shares_check(const sm_vm_config *c);

/* Share i as the worker's launch spec holds it. */
int sm_vm_share_spec(const sm_vm_config *c, unsigned i, sm_worker_share *out);

/* The root directory's share (c->root_dir) as the launch spec holds it. */
int sm_vm_root_share_spec(const sm_vm_config *c, sm_worker_share *out);

/* Mount every share at its guest path through the agent. */
int sm_vm_shares_mount(sm_vm *vm, const sm_vm_config *c);

#endif
