/* Live snapshots of a VM, as the library completes what the worker wrote. */
#ifndef SM_LIB_VM_SNAPSHOT_H
#define SM_LIB_VM_SNAPSHOT_H

#include "lib/vm_int.h"
#include "snapshot/metadata.h"

/* Snapshot vm into dir (absolute or relative; must not exist). meta
 * supplies fingerprint and kind (image fields come from the VM); parent:
 * diff against that snapshot. -EEXIST when dir appeared meanwhile. */
int sm_vm_snapshot_write(sm_vm *vm, const char *dir, const sm_snap_meta *meta,
                         const char *parent);

#endif
