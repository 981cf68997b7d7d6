/* Host directories and files shared with a VM (sm_vm_config.shares): each
 * is one virtio-9p device in the worker, mounted by the agent once the
 * guest is up. */
#ifndef SM_LIB_VM_SHARES_H
#define SM_LIB_VM_SHARES_H

#include <stddef.h>

#include "supermachine.h"

#define SM_VM_SHARE_ARG_MAX 4200

/* Before anything starts: at most 8 shares, each host path existing (a
 * directory or a regular file), each guest path absolute. */
int sm_vm_shares_check(const sm_vm_config *c);

/* The worker's --share word for share i: HOSTPATH:TAG[:ro]. */
void sm_vm_share_arg(const sm_vm_config *c, unsigned i, char *buf, size_t len);

/* Mount every share at its guest path through the agent. */
int sm_vm_shares_mount(sm_vm *vm, const sm_vm_config *c);

#endif
