/* sm_oci_tag: another name for a stored image (docker tag). */
#include "oci/images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oci/image_info.h"
#include "oci/store_index.h"
#include "util/error.h"

int sm_oci_tag(const char *source, const char *target)
{
    if (!source || !target)
        return sm_fail(EINVAL, "sm_image_tag: source and target are required");
    sm_ref ref;
    if (sm_ref_parse(target, &ref) != 0)
        return sm_fail(EINVAL, "'%s' is not a valid image name", target);
    if (ref.digest[0])
        return sm_fail(EINVAL, "'%s' names a digest; a tag names an image by tag only", target);
    sm_store s;
    int err = sm_store_open(&s, NULL, SM_STORE_SHARED);
    if (err)
        return err;
    sm_index_entry *e;
    size_t n;
    err = sm_image_lookup(&s, source, &e, &n);
    if (!err) {
        sm_index_entry t = e[0];
        sm_ref_string(&ref, t.name, sizeof t.name);
        t.stored = (int64_t)time(NULL);
        err = sm_index_put(&s, &t);
        free(e);
    }
    sm_store_close(&s);
    return err;
}
