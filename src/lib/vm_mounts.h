/* What the guest mounts besides shares: tmpfs mounts (sm_vm_config.tmpfs)
 * and a read-only root (read_only), set up by the agent once the guest is
 * up, so that a baked snapshot serves VMs with and without them. */
#ifndef SM_LIB_VM_MOUNTS_H
#define SM_LIB_VM_MOUNTS_H

#include <stdbool.h>

#include "supermachine.h"

#define SM_VM_MAX_TMPFS 16

/* Before anything starts: at most 16, absolute paths, short options; a
 * read-only root needs an image's root. */
int sm_vm_mounts_check(const sm_vm_config *c, bool has_image);

/* After the shares: the tmpfs mounts, then the root made read-only (last,
 * so their mount points can still be made). */
int sm_vm_mounts_apply(sm_vm *vm, const sm_vm_config *c);

#endif
