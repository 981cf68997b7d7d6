#ifndef SM_SNAPSHOT_MEM_CHANGES_H
#define SM_SNAPSHOT_MEM_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot/snap_dir.h"

/* The runs of [base, base+len), a MAP_PRIVATE file mapping, that now hold
 * private copies: what changed since it was mapped. *runs is the caller's
 * to free(). */
int sm_mem_changed_runs(const void *base, uint64_t len, sm_snap_run **runs, size_t *n);

#endif
