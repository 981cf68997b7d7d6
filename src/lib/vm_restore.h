/* sm_vm_start resuming a snapshot instead of booting. */
#ifndef SM_LIB_VM_RESTORE_H
#define SM_LIB_VM_RESTORE_H

#include <limits.h>

#include "lib/machine_file.h"
#include "lib/vm_int.h"
#include "snapshot/metadata.h"

typedef struct sm_vm_restore_plan {
    char dir[PATH_MAX];
    sm_snap_meta meta;
    sm_machine_file machine;
    sm_disk disks[SM_MACHINE_MAX_DISKS];
} sm_vm_restore_plan;

/* Everything that can be checked without a VM: the directory, both JSON
 * files, the state file's checksum and sections' bounds, the memory
 * file's size and that every disk is unchanged. */
int sm_snapshot_check(const char *dir, sm_snap_meta *meta, sm_machine_file *machine);

/* *c is changed to rebuild the snapshot's machine (c->snapshot set). A
 * config that contradicts the snapshot (memory, vCPUs, network, disks,
 * shares, another image) is refused. */
int sm_vm_restore_prepare(sm_vm *vm, const sm_image *image, sm_vm_config *c,
                          sm_vm_restore_plan *p);

/* After the agent answers: what makes the VM its own (hostname, clock,
 * RNG seed, /etc files for an image). */
int sm_vm_restore_setup(sm_vm *vm, const sm_vm_config *c, const sm_vm_restore_plan *p);

#endif
