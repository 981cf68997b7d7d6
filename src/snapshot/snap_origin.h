/* A snapshot directory opened to restore a machine from: its state file
 * read and checked once, and its RAM mapped (a diff snapshot's chain of
 * parents first) when the machine asks. */
#ifndef SM_SNAPSHOT_SNAP_ORIGIN_H
#define SM_SNAPSHOT_SNAP_ORIGIN_H

#include "vmm/machine.h"

typedef struct sm_snap_origin sm_snap_origin;

int sm_snap_origin_open(const char *dir, sm_snap_origin **out);

/* What sm_machine_config.restore points at; valid until the close. */
const sm_machine_origin *sm_snap_origin_machine(const sm_snap_origin *o);

void sm_snap_origin_close(sm_snap_origin *o);

#endif
