/* sm_image_pull with a last step of the caller's between storing an
 * image's blobs and listing its name, so that whatever else a pull must do
 * (building the root filesystem) succeeds or fails with the pull as a whole. */
#ifndef SM_OCI_PULL_H
#define SM_OCI_PULL_H

#include "oci/manifest.h"
#include "oci/store.h"
#include "supermachine.h"

typedef struct sm_pull_hook {
    /* Every blob of `m` is in `s`, verified, and the store's lock is held;
     * `name` is the normalised reference. An error fails the pull, which
     * then lists nothing. */
    int (*ready)(void *ctx, const sm_store *s, const sm_manifest *m, const char *name);
    void *ctx;
} sm_pull_hook;

/* As sm_image_pull; hook may be NULL. */
int sm_oci_pull(const char *reference, const sm_pull_options *opts, const sm_pull_hook *hook,
                sm_image_ref *out);

#endif
