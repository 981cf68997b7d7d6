/* sm_image_import: the store's import, and with build_rootfs, each image's
 * root filesystem built before it is listed (as a pull through
 * sm_image_open is), so a layer that cannot be applied lists nothing. */
#include <string.h>

#include "lib/image_open.h"
#include "oci/import.h"
#include "supermachine.h"
#include "util/error.h"

SM_API int sm_image_import(const char *path, const sm_import_options *opts, sm_image_ref **out,
                           size_t *count)
{
    sm_import_options o = {0};
    if (opts && opts->size < offsetof(sm_import_options, platform))
        return sm_fail(EINVAL, "sm_import_options.size must be set to sizeof(sm_import_options)");
    if (opts)
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    o.size = sizeof o;
    if (!o.build_rootfs)
        return sm_oci_import(path, &o, NULL, out, count);
    sm_image_open_options io = {.size = sizeof io, .building = o.building,
                                .building_ctx = o.building_ctx};
    sm_pull_hook hook = sm_image_build_hook(&io);
    return sm_oci_import(path, &o, &hook, out, count);
}
