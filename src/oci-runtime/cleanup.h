/* Tearing a container down, whatever state a crash left it in: its
 * keeper killed (found by state.json or, for a create that died early,
 * keeper.pid), what remains of its VM removed, its state directory gone. */
#ifndef SM_OCI_CLEANUP_H
#define SM_OCI_CLEANUP_H

#include "oci-runtime/state.h"

/* 0, or 1 after reporting what could not be removed. */
int sm_oci_cleanup(const sm_oci_globals *g, sm_oci_state *st);

/* Kill the keeper with SIGKILL and wait (up to 10 s) until it is gone. */
void sm_oci_kill_keeper(sm_oci_state *st);

#endif
