/* sm_image_pull over oci's pull, and the public pull options as oci's. */
#include <string.h>

#include "lib/abi.h"
#include "lib/oci_info.h"
#include "lib/pull_options.h"
#include "util/error.h"

static void relay_progress(const sm_oci_pull_progress *p, void *ctx)
{
    const sm_pull_options *o = ctx;
    sm_pull_progress pub = {.size = sizeof pub, .name = p->name, .layers = p->layers,
                            .layers_done = p->layers_done, .bytes = p->bytes,
                            .bytes_done = p->bytes_done, .finished = p->finished};
    o->progress(&pub, o->progress_ctx);
}

int sm_pull_options_to_oci(const sm_pull_options *opts, sm_pull_options *keep,
                           sm_oci_pull_options *out)
{
    *keep = (sm_pull_options){.size = sizeof(sm_pull_options)};
    int err = opts ? SM_ABI_IN(keep, opts, sm_pull_options) : 0;
    if (err)
        return err;
    *out = (sm_oci_pull_options){
        .platform = keep->platform, .insecure_registries = keep->insecure_registries,
        .username = keep->username, .password = keep->password,
        .progress = keep->progress ? relay_progress : NULL, .progress_ctx = keep,
        .mirrors = keep->mirrors,
    };
    return 0;
}

SM_API int sm_image_pull(const char *reference, const sm_pull_options *opts, sm_image_ref *out)
{
    sm_pull_options keep;
    sm_oci_pull_options o;
    sm_oci_image_ref ref;
    int err = out ? sm_abi_check(out, "sm_image_ref") : 0;
    if (!err)
        err = sm_pull_options_to_oci(opts, &keep, &o);
    if (!err)
        err = sm_oci_pull(reference, &o, NULL, out ? &ref : NULL);
    if (!err && out)
        sm_image_ref_from_oci(&ref, out);
    return err;
}
