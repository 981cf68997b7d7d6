/* The public calls on stored images: inspect, list, remove, tag, save, gc,
 * over the store's own (src/oci/images.h). */
#include <stdlib.h>

#include "lib/abi.h"
#include "lib/oci_info.h"
#include "oci/image_info.h"
#include "oci/images.h"
#include "supermachine.h"
#include "util/error.h"

SM_API int sm_image_inspect(const char *reference, sm_image_info **out)
{
    sm_oci_info *info;
    *out = NULL;
    int err = sm_oci_inspect(reference, &info);
    return err ? err : sm_image_info_from_oci(info, out);
}

SM_API int sm_image_list(sm_image_info ***out, size_t *count)
{
    sm_oci_info **v;
    size_t n;
    *out = NULL;
    *count = 0;
    int err = sm_oci_list(&v, &n);
    if (err)
        return err;
    sm_image_info **list = calloc(n + 1, sizeof *list);
    err = list ? 0 : sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!err)
            err = sm_image_info_from_oci(v[i], &list[i]);
        else
            sm_oci_info_free(v[i]);
    }
    free(v);
    if (err) {
        sm_image_list_free(list, n);
        return err;
    }
    *out = list;
    *count = n;
    return 0;
}

SM_API int sm_image_remove(const char *reference)
{
    return sm_image_remove_flags(reference, 0);
}

SM_API int sm_image_remove_flags(const char *reference, unsigned flags)
{
    return sm_oci_remove(reference, flags & SM_IMAGE_REMOVE_FORCE);
}

SM_API int sm_image_tag(const char *source, const char *target)
{
    return sm_oci_tag(source, target);
}

SM_API int sm_image_save(const char *const *refs, size_t n, int fd)
{
    return sm_oci_save(refs, n, fd);
}

SM_API int sm_image_gc(sm_gc_result *result)
{
    sm_oci_gc_result o = {0};
    int err = sm_oci_gc(&o);
    sm_gc_result r = {.size = sizeof r, .blobs_removed = o.blobs_removed,
                      .bytes_freed = o.bytes_freed};
    /* A store that could not be locked leaves the caller's result as it was. */
    if (!o.swept)
        return err;
    int out = result ? SM_ABI_OUT(result, &r, sm_gc_result) : 0;
    return err ? err : out;
}
