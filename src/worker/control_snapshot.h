#ifndef SM_WORKER_CONTROL_SNAPSHOT_H
#define SM_WORKER_CONTROL_SNAPSHOT_H

#include "vmm/machine.h"

/* SNAPSHOT [<parent>], handing over two empty files open for writing:
 * the new snapshot's memory and state (the library made them: a confined
 * worker cannot create files where snapshots go). A diff against parent,
 * the snapshot this VM was restored from, when given; the VM runs on. */
int sm_worker_snapshot(sm_machine *m, const char *restored_from, const char *parent,
                       const int *fds, unsigned nfds);

#endif
