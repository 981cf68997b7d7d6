/* sm_image_pull with a last step of the caller's between storing an
 * image's blobs and listing its name, so that whatever else a pull must do
 * (building the root filesystem) succeeds or fails with the pull as a whole. */
#ifndef SM_OCI_PULL_H
#define SM_OCI_PULL_H

#include "oci/info.h"
#include "oci/manifest.h"
#include "oci/pull_layers.h"
#include "oci/store.h"

typedef struct sm_pull_hook {
    /* Every blob of `m` is in `s`, verified, and the store's lock is held;
     * `name` is the normalised reference. An error fails the pull, which
     * then lists nothing. */
    int (*ready)(void *ctx, const sm_store *s, const sm_manifest *m, const char *name);
    /* May be NULL. Run in a thread of its own while the layers download:
     * feeds[i] brings the bytes of m's layer i as they arrive (NULL where
     * the store has it already); each feed ends with 0 only once its layer
     * is stored and verified, so work done here can wait for that before it
     * keeps anything. An error fails the pull; `ready` runs after it. */
    int (*early)(void *ctx, const sm_store *s, const sm_manifest *m, const char *name,
                 sm_file_feed *const *feeds);
    void *ctx;
} sm_pull_hook;

/* The fields of the public sm_pull_options past its size, which src/lib
 * checks; progress is oci's own. */
typedef struct sm_oci_pull_options {
    const char *platform;           /* "os/arch[/variant]"; NULL: linux/amd64 */
    const char *const *insecure_registries;
    const char *username;           /* NULL: Docker's config file */
    const char *password;
    void (*progress)(const sm_oci_pull_progress *p, void *ctx);   /* may be NULL */
    void *progress_ctx;
    const char *const *mirrors;     /* of Docker Hub, tried first */
} sm_oci_pull_options;

/* As sm_image_pull; hook and out may be NULL. */
int sm_oci_pull(const char *reference, const sm_oci_pull_options *o, const sm_pull_hook *hook,
                sm_oci_image_ref *out);

#endif
