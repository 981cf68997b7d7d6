/* The layers of a pull downloaded while a hook's early step (pull.h) reads
 * them as they arrive, in a thread of its own. */
#ifndef SM_OCI_PULL_EARLY_H
#define SM_OCI_PULL_EARLY_H

#include "oci/pull.h"

/* sm_pull_layers, with hook->early run beside it when there is one; the
 * download's error comes first (the early step's then only echoes it). */
int sm_pull_layers_early(sm_registry *r, const sm_store *s, const sm_manifest *m,
                         const char *name, const sm_pull_hook *hook,
                         const sm_oci_pull_options *o);

#endif
