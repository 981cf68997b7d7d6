/* A live snapshot of a running machine into a snapshot directory's
 * memory and state files. */
#ifndef SM_SNAPSHOT_SNAP_TAKE_H
#define SM_SNAPSHOT_SNAP_TAKE_H

#include "vmm/machine.h"

/* Two empty files open for writing (no metadata.json: the caller made
 * them, so a confined worker needs no right to create files there). */
typedef struct sm_snap_files {
    int memory_fd, state_fd;
} sm_snap_files;

/* The guest is paused meanwhile and runs on after. `parent`: a diff
 * snapshot holding only the memory changed since the machine was
 * restored from that snapshot directory, which must be `restored_from`
 * (NULL or "": the machine was booted, and only a full one is made). */
int sm_snap_take(sm_machine *m, const sm_snap_files *f, const char *parent,
                 const char *restored_from);

#endif
