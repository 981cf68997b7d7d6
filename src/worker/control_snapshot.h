#ifndef SM_WORKER_CONTROL_SNAPSHOT_H
#define SM_WORKER_CONTROL_SNAPSHOT_H

#include "vmm/machine.h"

/* SNAPSHOT <dir>[\t<parent>]: memory and state into the existing empty
 * directory dir (a diff against parent, the snapshot this VM was
 * restored from, if given), with vm_dir's machine.json; the VM runs on.
 * args is modified. */
int sm_worker_snapshot(sm_machine *m, const char *vm_dir, char *args);

#endif
