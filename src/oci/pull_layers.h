/* Download an image's layers in parallel, reporting progress. */
#ifndef SM_OCI_PULL_LAYERS_H
#define SM_OCI_PULL_LAYERS_H

#include <stdint.h>

#include "oci/registry.h"

#define SM_PULL_THREADS 4

/* The fields of the public sm_pull_progress (src/lib passes them on). */
typedef struct sm_oci_pull_progress {
    const char *name;          /* the normalised reference being pulled */
    uint32_t layers;
    uint32_t layers_done;
    uint64_t bytes;            /* of the layers that must be downloaded */
    uint64_t bytes_done;
    int finished;              /* 1 on the last report */
} sm_oci_pull_progress;

/* Fetch the layers of m that the store lacks. progress may be NULL. */
int sm_pull_layers(sm_registry *r, const sm_store *s, const sm_manifest *m, const char *name,
                   void (*progress)(const sm_oci_pull_progress *, void *), void *progress_ctx);

#endif
