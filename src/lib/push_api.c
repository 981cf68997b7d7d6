/* sm_image_push over oci's push: the options' size checked, and progress
 * passed on as the public sm_push_progress. */
#include <string.h>

#include "lib/abi.h"
#include "lib/oci_info.h"
#include "oci/push.h"
#include "supermachine.h"
#include "util/error.h"

static void relay_progress(const sm_oci_push_progress *p, void *ctx)
{
    const sm_push_options *o = ctx;
    sm_push_progress pub = {.size = sizeof pub, .name = p->name, .blobs = p->blobs,
                            .blobs_done = p->blobs_done, .blobs_uploaded = p->blobs_uploaded,
                            .bytes = p->bytes, .bytes_done = p->bytes_done,
                            .finished = p->finished};
    o->progress(&pub, o->progress_ctx);
}

SM_API int sm_image_push(const char *reference, const sm_push_options *opts, sm_image_ref *out)
{
    sm_push_options keep = {.size = sizeof(sm_push_options)};
    int err = opts ? SM_ABI_IN(&keep, opts, sm_push_options) : 0;
    if (!err && out)
        err = sm_abi_check(out, "sm_image_ref");
    if (err)
        return err;
    sm_oci_push_options o = {
        .insecure_registries = keep.insecure_registries, .username = keep.username,
        .password = keep.password, .progress = keep.progress ? relay_progress : NULL,
        .progress_ctx = &keep,
    };
    sm_oci_image_ref ref;
    err = sm_oci_push(reference, &o, out ? &ref : NULL);
    if (!err && out)
        sm_image_ref_from_oci(&ref, out);
    return err;
}
