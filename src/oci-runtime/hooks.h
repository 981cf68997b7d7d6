/* The spec's hooks, run on the host with the container's state on
 * stdin: prestart and createRuntime by create (after the VM started,
 * before create returns), poststart by start, poststop by delete. */
#ifndef SM_OCI_HOOKS_H
#define SM_OCI_HOOKS_H

#include "oci-runtime/spec.h"
#include "oci-runtime/state.h"

/* Runs every hook of the kind in order; stops at the first that fails
 * (non-zero, killed, or past its timeout): -1 with why in err. */
int sm_oci_hooks_run(const sm_oci_spec *spec, sm_oci_hook_kind kind, const sm_oci_state *st,
                     const char *status, char *err, size_t errlen);

#endif
