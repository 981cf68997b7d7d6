/* sm_image_import: the store's import, and with build_rootfs, each image's
 * root filesystem built before it is listed (as a pull through
 * sm_image_open is), so a layer that cannot be applied lists nothing. */
#include <stdlib.h>
#include <string.h>

#include "lib/abi.h"
#include "lib/image_open.h"
#include "lib/oci_info.h"
#include "oci/import.h"
#include "supermachine.h"
#include "util/error.h"

void sm_image_ref_list_free(sm_image_ref **list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        free(list[i]);
    free(list);
}

/* Takes `in`. */
static int refs_from_oci(sm_oci_image_ref *in, size_t n, sm_image_ref ***out, size_t *count)
{
    sm_image_ref **refs = calloc(n + 1, sizeof *refs);
    size_t made = 0;
    for (; refs && made < n; made++) {
        if (!(refs[made] = malloc(sizeof **refs)))
            break;
        refs[made]->size = sizeof **refs;
        sm_image_ref_from_oci(&in[made], refs[made]);
    }
    free(in);
    if (!refs || made < n) {
        sm_image_ref_list_free(refs, made);
        return sm_fail(ENOMEM, "out of memory");
    }
    *out = refs;
    *count = n;
    return 0;
}

SM_API int sm_image_import(const char *path, const sm_import_options *opts, sm_image_ref ***out,
                           size_t *count)
{
    sm_import_options o = {.size = sizeof(sm_import_options)};
    int err = opts ? SM_ABI_IN(&o, opts, sm_import_options) : 0;
    if (err)
        return err;
    *out = NULL;
    *count = 0;
    sm_oci_import_options oo = {.platform = o.platform, .name = o.name};
    sm_image_open_options io = {.size = sizeof io, .building = o.building,
                                .building_ctx = o.building_ctx};
    sm_pull_hook hook = sm_image_build_hook(&io);
    sm_oci_image_ref *refs;
    size_t n;
    err = sm_oci_import(path, &oo, o.build_rootfs ? &hook : NULL, &refs, &n);
    return err ? err : refs_from_oci(refs, n, out, count);
}
