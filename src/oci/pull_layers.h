/* Download an image's layers in parallel, reporting progress. */
#ifndef SM_OCI_PULL_LAYERS_H
#define SM_OCI_PULL_LAYERS_H

#include "oci/registry.h"
#include "supermachine.h"

#define SM_PULL_THREADS 4

/* Fetch the layers of m that the store lacks. progress may be NULL. */
int sm_pull_layers(sm_registry *r, const sm_store *s, const sm_manifest *m, const char *name,
                   void (*progress)(const sm_pull_progress *, void *), void *progress_ctx);

#endif
