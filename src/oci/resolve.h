/* From a top-level manifest or index to one verified image: pick the
 * platform, fetch the manifest and config, and check them. Shared by pull
 * and import, which differ only in where blobs come from. */
#ifndef SM_OCI_RESOLVE_H
#define SM_OCI_RESOLVE_H

#include <stdbool.h>

#include "oci/manifest.h"
#include "oci/store.h"

typedef struct sm_blob_source {
    /* Put the blob `d` (a manifest when is_manifest) into the store,
     * verified, unless it is there already. */
    int (*fetch)(void *ctx, const sm_descriptor *d, bool is_manifest, const char *what);
    void *ctx;
} sm_blob_source;

typedef struct sm_resolved {
    char manifest_digest[SM_DIGEST_STR];
    char index_digest[SM_DIGEST_STR];    /* the top-level index, or "" */
    char platform[64];                   /* from the config: "linux/amd64" */
    sm_platform config_platform;         /* the same, as fields */
    sm_manifest manifest;                /* the image manifest: config, layers */
} sm_resolved;

/* root_digest: the top-level document, already in the store. */
int sm_resolve(const sm_store *s, const char *root_digest, const char *content_type,
               const sm_platform *want, const sm_blob_source *src, const char *name,
               sm_resolved *out);
void sm_resolved_free(sm_resolved *r);

#endif
