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

/* Fetch the layers of m that the store lacks. progress may be NULL.
 * feeds, if not NULL, has one entry per layer of m (NULL where none is
 * wanted): each hears of its layer's bytes as they arrive and is ended,
 * whatever happens, with 0 once the layer is stored and verified (also
 * when it was there already) or with the pull's error. */
int sm_pull_layers(sm_registry *r, const sm_store *s, const sm_manifest *m, const char *name,
                   sm_file_feed *const *feeds,
                   void (*progress)(const sm_oci_pull_progress *, void *), void *progress_ctx);

#endif
